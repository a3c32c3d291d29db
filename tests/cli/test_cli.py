import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from nanozoo.core.runlog import read_metrics
from nanozoo.experiments.registry import table


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "nope"], "unknown experiment 'nope'"),
        (["train", "shakespeare-char-cpu", "--set", "train.max_iter=3"], "did you mean train.max_iters?"),
        (["train", "shakespeare-char-cpu", "--set", "model.n_head=5"], "not divisible"),
        (["sample", "/nonexistent/run"], "not a nanozoo run folder"),
        (["data", "path", "nope"], "unknown dataset 'nope'"),
        (["train", "names-bigram", "--runs", __file__], "Not a directory"),  # --runs names a file
        (
            ["train", "names-mlp", *("--set", "train.lr=1e12", "--set", "train.warmup_iters=0")],
            "loss is nan",  # diverged: the settings to change, no traceback, no false checkpoint claim
        ),
    ],
)
def test_user_errors_are_one_line_and_non_zero(args, message, cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(args)
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_train_sample_resume_from_the_command_line(tmp_path, tiny_gpt_overrides, cli):
    sets = [a for o in tiny_gpt_overrides for a in ("--set", o)]
    code, out, _ = cli(["train", "shakespeare-char-cpu", "--runs", str(tmp_path), *sets])
    assert code == 0 and "run folder:" in out
    (run_dir,) = (tmp_path / "shakespeare-char-cpu").iterdir()
    code, out, _ = cli(
        ["sample", str(run_dir), "--prompt", "ROMEO:", "--max-new-tokens", "15", "--seed", "1"]
    )
    assert code == 0 and out.startswith("ROMEO:") and len(out) == len("ROMEO:") + 15 + 1
    code, out2, _ = cli(
        ["sample", str(run_dir), "--prompt", "ROMEO:", "--max-new-tokens", "15", "--seed", "1"]
    )
    assert code == 0 and out2 == out
    code, _, err = cli(["sample", str(run_dir), "--prompt", "ROMEO{"])
    assert code == 1 and "character '{' at position 5" in err
    code, out, _ = cli(
        ["train", "shakespeare-char-cpu", "--resume", str(run_dir), "--set", "train.max_iters=25"]
    )
    assert code == 0 and str(run_dir) in out
    given = json.loads((run_dir / "config.json").read_text())["overrides"]
    assert [o for o in given if o.startswith("train.max_iters=")] == ["train.max_iters=25"]  # last one wins
    # `list` shows this run's own best val_loss (a run with overrides: in the any-config column)
    best = min(r["val_loss"] for r in read_metrics(run_dir) if "val_loss" in r)
    (row,) = [r for r in table(tmp_path, wide=True) if r["experiment"] == "shakespeare-char-cpu"]
    assert row["best, any config"] == f"{best:.4f} ({run_dir.name})" and row["best here"] == "-"
    code, out, _ = cli(["list", "--runs", str(tmp_path)])
    assert code == 0 and "shakespeare-char-cpu" in out


def test_console_script_entry_point():
    done = subprocess.run(
        [sys.executable, "-m", "nanozoo", "data", "verify", "names"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "names.txt" in done.stdout


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.device=tpu", "train.device='tpu': expected auto, cpu, cuda, cuda:N or mps"),
        pytest.param(
            "train.device=cuda",
            "train.device=cuda: no CUDA GPU is visible",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU"),
        ),
        ("model.vocab_size=10", "model.vocab_size comes from the data (65 here)"),
        ("model.block_size=100000", "is longer than a whole split of 1,003,854 tokens"),
    ],
)
def test_bad_train_config_is_one_line_before_any_run_folder(override, message, tmp_path, cli):
    code, _, err = cli(["train", "shakespeare-char-cpu", "--runs", str(tmp_path), "--set", override])
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert not any(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_checkpoints_and_the_resumed_run_is_exact(sig, code, tmp_path, tiny_gpt_overrides):
    """Ctrl-C (SIGINT) and SIGTERM (timeout's, SLURM's, Kubernetes' stop): the step finishes, a checkpoint
    is written, exit 128 + signal with the resume hint; the resumed run's losses equal an uninterrupted one's
    to the bit."""

    from nanozoo.experiments import runner

    over = tiny_gpt_overrides + ["model.dropout=0.1", "train.max_iters=100000", "train.eval_interval=100000"]
    sets = [a for o in over for a in ("--set", o)]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nanozoo",
            "train",
            "shakespeare-char-cpu",
            "--runs",
            str(tmp_path / "t"),
            *sets,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline:  # wait for a few logged steps
        runs = list((tmp_path / "t" / "shakespeare-char-cpu").glob("*/metrics.jsonl"))
        if runs and len(runs[0].read_text().splitlines()) >= 5:
            break
        time.sleep(0.2)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err[-1000:]
    assert f"{sig.name}: stopping after this step" in err
    assert "continue with: nanozoo train shakespeare-char-cpu --resume" in out
    assert out.splitlines()[1].startswith("train_loss ")  # the last batch, not step 0's eval as if final
    run_dir = runs[0].parent
    step = json.loads((run_dir / "trainer_state.json").read_text())["step"]
    assert step >= 4
    runner.train("shakespeare-char-cpu", [], resume=run_dir, until=step + 3)
    straight, _ = runner.train("shakespeare-char-cpu", over, runs_root=tmp_path / "s", until=step + 3)

    def losses(d):
        return [(r["step"], r.get("train_loss"), r.get("val_loss")) for r in read_metrics(d)]

    assert losses(run_dir) == losses(straight) and len(losses(straight)) == step + 3 + 1
