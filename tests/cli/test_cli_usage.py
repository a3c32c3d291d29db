"""How the command line ends: usage mistakes exit 2 with the usage line, UserErrors exit 1 in one line, bugs
keep their traceback; -h, --version, list within 80 columns, show; commands that start without torch."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nanozoo import __version__
from nanozoo.cli import main


@pytest.mark.parametrize(
    "args, usage, message",
    [
        (["train"], "Usage: nanozoo train [OPTIONS]", "Missing argument"),
        (["train", "names-mlp", "--bogus"], "Usage: nanozoo train [OPTIONS]", "--bogus"),
        (["list", "--bogus"], "Usage: nanozoo list [OPTIONS]", "No such option"),
        (["sample", "RUN", "--num", "abc"], "Usage: nanozoo sample [OPTIONS]", "'--num'"),
        (["tokenizer", "encode", "--name"], "Usage: nanozoo tokenizer encode", "requires an argument"),
        (["nope"], "Usage: nanozoo [OPTIONS] COMMAND", "No such command 'nope'"),
    ],
)
def test_usage_mistakes_print_the_usage_line_and_exit_2(args, usage, message, cli):
    code, _, err = cli(args)
    assert code == 2, err
    assert err.startswith(usage) and message in err and "Traceback" not in err
    assert len(err.splitlines()) <= 5


def test_the_console_script_prints_usage_not_a_traceback():
    done = subprocess.run(
        [sys.executable, "-m", "nanozoo", "train", "--bogus"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and done.stderr.startswith("Usage: nanozoo train")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [["-h"], ["--help"], ["train", "-h"], ["tokenizer", "encode", "-h"]])
def test_dash_h_is_help_everywhere(args, cli):
    code, out, _ = cli(args)
    assert code == 0 and out.startswith("Usage: nanozoo") and "-h, --help" in out
    assert "<bool>" not in out  # flags read as flags


def test_version(cli):
    code, out, _ = cli(["--version"])
    assert code == 0 and out == f"nanozoo {__version__}\n"


def test_a_user_error_is_one_line_and_exit_1(cli):
    code, _, err = cli(["show", "names-mpl"])
    assert code == 1 and err == "error: unknown experiment 'names-mpl' (did you mean names-mlp?); " + (
        "run `nanozoo list` to see them all\n"
    )
    code, _, err = cli(["sample", "RUN", "--top-p", "1.5"])  # the option, before the run folder
    assert code == 1 and err.startswith("error: top_p=1.5 must be in (0, 1]") and err.count("\n") == 1


def test_a_library_bug_keeps_its_traceback(monkeypatch):
    from nanozoo.experiments import registry

    def broken(*args, **kwargs):
        raise TypeError("a bug in library code")

    monkeypatch.setattr(registry, "table", broken)
    with pytest.raises(TypeError, match="a bug in library code"):  # not turned into "error: ..."
        main(["list"])
    monkeypatch.setattr(registry, "table", lambda *a, **k: {}["no such key"])
    with pytest.raises(KeyError):
        main(["list"])


def test_list_fits_80_columns_and_counts_only_default_runs(tmp_path, cli):
    for stamp, overrides, val in [("a", [], 2.5), ("b", ["train.lr=1"], 1.0)]:
        run_dir = tmp_path / "names-mlp" / stamp
        run_dir.mkdir(parents=True)
        doc = {"format": 1, "experiment": "names-mlp", "config": {}, "overrides": overrides}
        (run_dir / "config.json").write_text(json.dumps(doc))
        (run_dir / "metrics.jsonl").write_text(json.dumps({"step": 1, "val_loss": val}) + "\n")
    code, out, _ = cli(["list", "--runs", str(tmp_path)])
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 80
    (row,) = [line for line in out.splitlines() if line.startswith("names-mlp ")]
    assert (
        "val_loss 2.1701" in row and "2.5000" in row and "1.0000" not in row
    )  # the --set run is not counted
    assert "issue 4" not in out  # our notes are not the published source
    code, out, _ = cli(["list", "--wide", "--runs", str(tmp_path)])
    assert code == 0 and "1.0000 (b)" in out and "issue 4" in out


def test_show_prints_every_key_with_type_and_default(cli):
    code, out, _ = cli(["show", "shakespeare-char-cpu"])
    assert code == 0 and out.startswith("shakespeare-char-cpu: ")
    for section in ("[model]", "[train]", "[data]"):
        assert section in out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith("  ")}
    assert lines["model.n_layer"] == ["int", "4"]
    assert lines["train.lr"] == ["float", "0.003"]
    assert lines["data.dataset"] == ["str", "'tinyshakespeare'"]
    assert lines["train.compile"] == ["bool", "False"]


@pytest.mark.parametrize("args", [["--help"], ["list"], ["data", "list"], ["show", "moons-mlp"]])
def test_quick_commands_do_not_import_torch(args):
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['nanozoo', *{args!r}]\n"
        "try:\n    runpy.run_module('nanozoo', run_name='__main__')\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO TORCH')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=Path(__file__).parent
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "NO TORCH"
