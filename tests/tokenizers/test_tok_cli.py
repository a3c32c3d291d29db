"""`nanozoo tokenizer train | encode | decode | show`, in process."""

import io

import pytest

from nanozoo.cli import main


def run(args, capsys, stdin=None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        main(["tokenizer", *args])
        code = 0
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_train_then_encode_decode(tmp_path, shakespeare, capsys, monkeypatch):
    src = tmp_path / "text.txt"
    src.write_text(shakespeare[:20_000])
    code, out, _ = run(
        ["train", str(src), "--vocab-size", "300", "--pattern", "gpt2", "-o", str(tmp_path / "t")], capsys
    )
    assert code == 0 and "trained 300 tokens" in out
    assert (tmp_path / "t.model").is_file() and (tmp_path / "t.vocab").is_file()
    model = str(tmp_path / "t.model")
    code, out, _ = run(["encode", "--name", model], capsys, stdin="First Citizen:\n", monkeypatch=monkeypatch)
    ids = out.split()
    assert code == 0 and 0 < len(ids) < len("First Citizen:\n")
    code, out, _ = run(["decode", "--name", model, " ".join(ids)], capsys)
    assert code == 0 and out == "First Citizen:\n\n"


def test_gpt2_encode_stdin_and_show(capsys, monkeypatch):
    code, out, _ = run(["encode", "--name", "gpt2"], capsys, stdin="Hello world", monkeypatch=monkeypatch)
    assert code == 0 and out == "15496 995\n"  # GPT-2's ids for "Hello" and " world"
    code, out, _ = run(["decode", "--name", "gpt2"], capsys, stdin="15496 995", monkeypatch=monkeypatch)
    assert out == "Hello world\n"
    code, out, _ = run(["show", "Hello world 🤗"], capsys)
    assert code == 0 and "Hello world 🤗" in out and "5 tokens" in out  # the emoji's 2 tokens share a colour
    code, out, _ = run(["encode", "--allow-special", "hi<|endoftext|>"], capsys)
    assert out == "5303 50256\n"
    code, out, _ = run(["show", "--name", "minilm", "Unaffable!"], capsys)
    assert code == 0 and "[CLS] una ##ffa ##ble ! [SEP]" in out and "6 tokens: 101" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["decode", "1 x"], "'x' is not a token id"),
        (["encode", "<|endoftext|>"], "disallowed"),
        (["train", "/nonexistent.txt", "--vocab-size", "300", "-o", "/tmp/x"], "No such file"),
        (["encode", "--name", "nope", "hi"], "unknown tokenizer 'nope'"),
        (["decode", "--name", "gpt2", "50257"], "token id 50257"),
    ],
)
def test_user_errors(args, message, capsys):
    code, _, err = run(args, capsys)
    assert code == 1 and err.startswith("error: ") and message in err
