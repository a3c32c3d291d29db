import subprocess
import sys

import pytest

from nanozoo.cli import main


def run(args, capsys):
    """main() returns on success and exits non-zero on a user error; returns (code, stdout, stderr)."""
    try:
        main(args)
        code = 0
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "nope"], "unknown experiment 'nope'"),
        (["train", "shakespeare-char-cpu", "--set", "train.max_iter=3"], "did you mean train.max_iters?"),
        (["train", "shakespeare-char-cpu", "--set", "model.n_head=5"], "not divisible"),
        (["sample", "/nonexistent/run"], "not a nanozoo run folder"),
        (["data", "path", "nope"], "unknown dataset 'nope'"),
    ],
)
def test_user_errors_are_one_line_and_non_zero(args, message, capsys):
    code, _, err = run(args, capsys)
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_train_sample_resume_from_the_command_line(tmp_path, tiny_gpt_overrides, capsys):
    sets = [a for o in tiny_gpt_overrides for a in ("--set", o)]
    code, out, _ = run(["train", "shakespeare-char-cpu", "--runs", str(tmp_path), *sets], capsys)
    assert code == 0 and "run folder:" in out
    (run_dir,) = (tmp_path / "shakespeare-char-cpu").iterdir()
    code, out, _ = run(
        ["sample", str(run_dir), "--prompt", "ROMEO:", "--max-new-tokens", "15", "--seed", "1"], capsys
    )
    assert out.startswith("ROMEO:") and len(out) == len("ROMEO:") + 15 + 1
    code, out2, _ = run(
        ["sample", str(run_dir), "--prompt", "ROMEO:", "--max-new-tokens", "15", "--seed", "1"], capsys
    )
    assert out2 == out
    code, _, err = run(["sample", str(run_dir), "--prompt", "ROMEO{"], capsys)
    assert code == 1 and "character '{' at position 5" in err
    code, out, _ = run(
        ["train", "shakespeare-char-cpu", "--resume", str(run_dir), "--set", "train.max_iters=25"], capsys
    )
    assert code == 0 and str(run_dir) in out
    code, out, _ = run(["list", "--runs", str(tmp_path)], capsys)
    assert "shakespeare-char-cpu" in out and "1.88" in out


def test_console_script_entry_point():
    done = subprocess.run(
        [sys.executable, "-m", "nanozoo", "data", "verify", "names"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "names.txt" in done.stdout


def test_ctrl_c_checkpoints_and_resume_continues(tmp_path, tiny_gpt_overrides):
    import json
    import signal
    import time

    sets = [
        a
        for o in tiny_gpt_overrides + ["train.max_iters=100000", "train.eval_interval=100000"]
        for a in ("--set", o)
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nanozoo", "train", "shakespeare-char-cpu", "--runs", str(tmp_path), *sets],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline:  # wait for a few logged steps
        runs = list((tmp_path / "shakespeare-char-cpu").glob("*/metrics.jsonl"))
        if runs and len(runs[0].read_text().splitlines()) >= 5:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-1000:]
    assert "continue with: nanozoo train shakespeare-char-cpu --resume" in out
    run_dir = runs[0].parent
    step = json.loads((run_dir / "trainer_state.json").read_text())["step"]
    assert step >= 4
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nanozoo",
            "train",
            "shakespeare-char-cpu",
            "--resume",
            str(run_dir),
            "--set",
            f"train.max_iters={step + 3}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-1000:]
    assert json.loads((run_dir / "trainer_state.json").read_text())["step"] == step + 3
