"""`nanozoo tokenizer train | encode | decode | show`, in process."""

import io
import itertools
import os
import re
from pathlib import Path

import pytest

from nanozoo.cli import main
from nanozoo.core.errors import UserError


def run(cli, args, stdin=None):
    return cli(["tokenizer", *args], stdin=stdin)


def test_train_then_encode_decode(tmp_path, shakespeare, cli, monkeypatch):
    src = tmp_path / "text.txt"
    src.write_text(shakespeare[:20_000])
    code, out, _ = run(
        cli, ["train", str(src), "--vocab-size", "300", "--pattern", "gpt2", "-o", str(tmp_path / "t")]
    )
    assert code == 0 and "trained 300 tokens" in out
    assert (tmp_path / "t.model").is_file() and (tmp_path / "t.vocab").is_file()
    model = str(tmp_path / "t.model")
    code, out, _ = run(cli, ["encode", "--name", model], stdin="First Citizen:\n")
    ids = out.split()
    assert code == 0 and 0 < len(ids) < len("First Citizen:\n")
    code, out, _ = run(cli, ["decode", "--name", model, " ".join(ids)])
    assert code == 0 and out == "First Citizen:\n\n"


def test_gpt2_encode_stdin_and_show(cli, monkeypatch):
    code, out, _ = run(cli, ["encode", "--name", "gpt2"], stdin="Hello world")
    assert code == 0 and out == "15496 995\n"  # GPT-2's ids for "Hello" and " world"
    code, out, _ = run(cli, ["decode", "--name", "gpt2"], stdin="15496 995")
    assert out == "Hello world\n"
    code, out, _ = run(cli, ["show", "Hello world 🤗"])
    assert code == 0 and "Hello world 🤗" in out and "5 tokens" in out  # the emoji's 2 tokens share a colour
    code, out, _ = run(cli, ["encode", "--allow-special", "hi<|endoftext|>"])
    assert out == "5303 50256\n"
    code, out, _ = run(cli, ["show", "--name", "minilm", "Unaffable!"])
    assert code == 0 and "[CLS] una ##ffa ##ble ! [SEP]" in out and "6 tokens: 101" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["decode", "1 x"], "'x' is not a token id"),
        (["encode", "<|endoftext|>"], "disallowed"),
        (
            ["train", "/nonexistent.txt", "--vocab-size", "300", "-o", "/tmp/x"],
            "/nonexistent.txt: no such file",
        ),
        (["encode", "--name", "nope", "hi"], "unknown tokenizer 'nope'"),
        (["decode", "--name", "gpt2", "50257"], "token id 50257"),
    ],
)
def test_user_errors(args, message, cli):
    code, _, err = run(cli, args)
    assert code == 1 and err.startswith("error: ") and message in err


@pytest.fixture
def files(tmp_path):
    """One of each file a user may hand the tokenizer commands by mistake."""
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "binary.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    (tmp_path / "plain.txt").write_text("hello world\nthis is not a vocabulary\n")
    (tmp_path / "folder").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "{d}/empty.txt"], "{d}/empty.txt is empty: there is no text to learn merges from"),
        (["train", "{d}/binary.bin"], "{d}/binary.bin is not UTF-8 text (byte 0x89 at offset 0)"),
        (["train", "{d}/missing.txt"], "{d}/missing.txt: no such file (expected training text"),
        (["train", "{d}/folder"], "{d}/folder is a directory, not a file"),
        (
            ["encode", "--name", "{d}/plain.txt", "hi"],
            "{d}/plain.txt is not a tokenizer file (first line 'hello",
        ),
        (["encode", "--name", "{d}/empty.txt", "hi"], "{d}/empty.txt is not a tokenizer file"),
        (["encode", "--name", "{d}/binary.bin", "hi"], "{d}/binary.bin is not UTF-8 text"),
        (["encode", "--name", "{d}/folder", "hi"], "{d}/folder is a directory"),
    ],
)
def test_bad_files_are_one_line_user_errors(args, message, files, cli, monkeypatch):
    args = [a.format(d=files) for a in args]
    if args[0] == "train":
        args += ["--vocab-size", "300", "-o", str(files / "out")]
    code, _, err = run(cli, args)
    assert code == 1 and err.startswith(f"error: {message.format(d=files)}") and err.count("\n") == 1
    assert not (files / "out.model").exists()
    monkeypatch.setenv("NANOZOO_DEBUG", "1")  # the CLI re-raises: the error is a UserError, not a bug
    with pytest.raises(UserError):
        main(["tokenizer", *args])


def test_binary_stdin_is_a_user_error(cli, monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(b"ok \xff\xfe"), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", stdin)
    code, _, err = run(cli, ["encode"])
    assert code == 1 and err == "error: stdin is not UTF-8 text (byte 0xff at offset 3)\n"


def test_name_error_lists_what_is_accepted(files, cli):
    _, _, err = run(cli, ["encode", "--name", str(files / "plain.txt"), "hi"])
    accepted = ["gpt2", "cl100k", "minilm", ".model", "nanozoo tokenizer train", ".tiktoken", "vocab.txt"]
    assert all(a in err for a in accepted), err
    assert "unk_token" not in err


@pytest.mark.parametrize("term", ["xterm-256color", "xterm-16color"])
def test_show_neighbours_differ_after_downgrade(term, cli, monkeypatch):
    """On a 256- or 16-colour terminal each token's colour differs from its neighbours'."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", term)
    for var in ("COLORTERM", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    text = "Hello world, this is a test of the colours"
    code, out, _ = run(cli, ["show", text])
    first = out.split("\n")[0]
    segments = re.findall(r"\x1b\[([0-9;]+)m([^\x1b]+)\x1b\[0m", first)
    assert code == 0 and "".join(t for _, t in segments) == text
    styles = [s for s, _ in segments]
    assert len(styles) == 10 and all(a != b for a, b in itertools.pairwise(styles))  # GPT-2: 10 tokens


@pytest.mark.parametrize(
    "out, message",
    [
        ("{d}/plain.txt/tok", "cannot write {d}/plain.txt/tok.model: cannot make folder {d}/plain.txt"),
        ("{d}/folder", "cannot write {d}/folder.model: Is a directory"),  # PREFIX.model is a folder
    ],
)
def test_an_output_that_cannot_be_written_is_one_line_naming_it(out, message, files, cli):
    (files / "folder.model").mkdir()
    args = ["train", str(files / "plain.txt"), "--vocab-size", "260", "-o", out.format(d=files)]
    code, stdout, err = run(cli, args)
    assert code == 1 and err.startswith(f"error: {message.format(d=files)}") and err.count("\n") == 1
    assert stdout == ""


def test_a_read_only_output_folder_is_refused_before_training(files, cli, monkeypatch):
    (files / "ro").mkdir(mode=0o555)
    if os.geteuid() == 0:  # root may write anywhere (CI runs as root): the folder is read-only to os.access
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == files / "ro" else real(p, mode))
    args = ["train", str(files / "plain.txt"), "--vocab-size", "260", "-o", str(files / "ro" / "tok")]
    code, stdout, err = run(cli, args)
    assert (
        code == 1 and err == f"error: cannot write {files}/ro/tok.model: folder {files}/ro is not writable\n"
    )
    assert stdout == ""  # nothing trained


def test_a_missing_output_folder_is_made(files, cli):
    code, out, _ = run(
        cli, ["train", str(files / "plain.txt"), "--vocab-size", "260", "-o", str(files / "a/b/tok")]
    )
    assert code == 0 and (files / "a/b/tok.model").is_file()
