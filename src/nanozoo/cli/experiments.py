"""`nanozoo list`, `nanozoo train NAME [--set k=v] [--resume RUN]`, `nanozoo sample RUN`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from nanozoo.cli import app
from nanozoo.experiments import SampleOptions, runner


@app.command("list")
def list_(runs: Path = typer.Option(Path("runs"), help="where local runs are")) -> None:
    """Every experiment, its published reference figure, and the best figure reached in local runs."""
    rows = runner.table(runs)
    t = Table(*rows[0].keys(), show_lines=False)
    for r in rows:
        t.add_row(*r.values())
    Console(width=200).print(t)


@app.command()
def train(
    name: str,
    set_: list[str] = typer.Option([], "--set", help="override a config value: section.key=value"),
    resume: Path = typer.Option(None, help="continue this run folder exactly where it stopped"),
    data_dir: Path = typer.Option(None, help="look for data files here first"),
    runs: Path = typer.Option(Path("runs"), help="root of the run folders"),
    diagnostics: bool = typer.Option(
        False, "--diagnostics", help="MLPs: activation/gradient histograms, update ratios in RUN/diagnostics"
    ),
) -> None:
    """Train experiment NAME; writes runs/NAME/YYYYmmdd-HHMMSS/."""
    run_dir, metrics = runner.train(
        name, set_, resume=resume, data_dir=data_dir, runs_root=runs, diagnostics=diagnostics
    )
    import torch.distributed as dist

    if dist.is_initialized() and dist.get_rank() != 0:
        return
    print(f"run folder: {run_dir}")
    step, max_iters = metrics.pop("step", None), metrics.pop("max_iters", None)
    stop_signal = metrics.pop("signal", 0)
    diag = metrics.pop("diagnostics", None)
    print("  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items()))
    if step is not None and step < max_iters:
        print(
            f"stopped at step {step} of {max_iters}; continue with: nanozoo train {name} --resume {run_dir}"
        )
        raise typer.Exit(128 + (stop_signal or 2))  # 130 for SIGINT (Ctrl-C), 143 for SIGTERM
    if diag is not None:
        rows = zip(diag["act_std"], diag["saturation"], diag["update_ratio"], strict=True)
        print(f"tanh statistics {diag['when']}; log10 update/data over the last 100 steps")
        for i, (std, sat, ud) in enumerate(rows, 1):
            print(f"layer {i}: tanh std {std:.2f}  saturated {sat:6.1%}  log10 update/data {ud:+.2f}")
        print(f"diagnostics: {run_dir / 'diagnostics'} (activations.png, gradients.png, update_ratio.png)")
    samples = run_dir / "samples.txt"
    if samples.exists():
        print(f"--- samples ({samples}) ---")
        print(samples.read_text())


@app.command()
def sample(
    run: Path,
    prompt: str = typer.Option("", help="text to continue"),
    max_new_tokens: int = typer.Option(500, "--max-new-tokens"),
    temperature: float = typer.Option(1.0),
    top_k: int = typer.Option(None, "--top-k"),
    top_p: float = typer.Option(None, "--top-p"),
    num: int = typer.Option(1, help="how many samples"),
    seed: int = typer.Option(None, help="fix the sampling RNG"),
    exclude_train: bool = typer.Option(
        False, "--exclude-train", help="mark samples found in the training set"
    ),
) -> None:
    """Sample from a trained run folder, streaming tokens as they come."""
    opts = SampleOptions(
        prompt=prompt,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        num=num,
        seed=seed,
        exclude_train=exclude_train,
    )
    for chunk in runner.sample(run, opts):
        sys.stdout.write(chunk)
        sys.stdout.flush()
    sys.stdout.write("\n")
