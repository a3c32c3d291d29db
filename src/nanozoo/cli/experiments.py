"""`nanozoo list`, `nanozoo show NAME`, `nanozoo train NAME [--set k=v] [--resume RUN]`, `nanozoo sample RUN`.

`list` and `show` read the experiment tables only; torch is imported by `train` and `sample`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from nanozoo.cli import app


@app.command("list")
def list_(
    runs: Path = typer.Option(Path("runs"), metavar="DIR", help="where local runs are"),
    wide: bool = typer.Option(False, "--wide", "-w", help="also the source, our notes, any-config bests"),
) -> None:
    """Every experiment, its published figure, and the best reached here by a default-config run."""
    from nanozoo.experiments.registry import table

    rows = table(runs, wide=wide)
    if wide:
        from rich.console import Console
        from rich.table import Table

        t = Table(*rows[0])
        for r in rows:
            t.add_row(*r.values())
        Console(width=max(Console().width, 160)).print(t)
        return
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in keys[:-1]}
    room = max(80 - sum(w + 2 for w in widths.values()), 10)  # what is left of 80 columns for the last one
    for r in [dict(zip(keys, keys, strict=True)), *rows]:
        last = r[keys[-1]] if len(r[keys[-1]]) <= room else r[keys[-1]][: room - 3] + "..."
        print("".join(f"{r[k]:{widths[k]}s}  " for k in keys[:-1]) + last)


@app.command()
def show(name: str = typer.Argument(..., help="an experiment (see `nanozoo list`)")) -> None:
    """An experiment's default config: every section and key with its type and value (set with --set)."""
    from nanozoo.core.config import describe
    from nanozoo.experiments import get

    exp = get(name)
    print(f"{exp.name}: {exp.summary}")
    if exp.reference is not None:
        ref = exp.reference
        print(f"published: {ref.metric} {ref.value:g} ({ref.source})")
    rows = describe(exp.default_config())
    width = max(len(k) for k, _, _ in rows)
    twidth = max(len(t) for _, t, _ in rows)
    section = None
    for key, type_name, value in rows:
        if key.split(".")[0] != section:
            section = key.split(".")[0]
            print(f"\n[{section}]")
        print(f"  {key:{width}s}  {type_name:{twidth}s}  {value!r}")


@app.command()
def train(
    name: str = typer.Argument(..., help="an experiment (see `nanozoo list`)"),
    set_: list[str] = typer.Option(
        [], "--set", metavar="SECTION.KEY=VALUE", help="override a config value (repeat; `nanozoo show NAME`)"
    ),
    resume: Path = typer.Option(None, metavar="RUN_DIR", help="continue this run folder where it stopped"),
    data_dir: Path = typer.Option(None, metavar="DIR", help="look for data files here first"),
    runs: Path = typer.Option(Path("runs"), metavar="DIR", help="root of the run folders"),
    diagnostics: bool = typer.Option(
        False, "--diagnostics", help="MLPs: activation/gradient histograms, update ratios in RUN/diagnostics"
    ),
) -> None:
    """Train experiment NAME; writes runs/NAME/YYYYmmdd-HHMMSS/."""
    from nanozoo.experiments import runner

    run_dir, metrics = runner.train(
        name, set_, resume=resume, data_dir=data_dir, runs_root=runs, diagnostics=diagnostics
    )
    import torch.distributed as dist

    if dist.is_initialized() and dist.get_rank() != 0:
        return
    print(f"run folder: {run_dir}")
    step, max_iters = metrics.pop("step", None), metrics.pop("max_iters", None)
    stop_signal, finished = metrics.pop("signal", 0), metrics.pop("finished", True)
    diag = metrics.pop("diagnostics", None)
    print("  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items()))
    if step is not None and not finished:
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
    run: Path = typer.Argument(None, metavar="[RUN_DIR]", help="a trained run folder (or --hf-dir)"),
    hf_dir: Path = typer.Option(
        None,
        "--hf-dir",
        help="instead of a run: an HF GPT-2 or Llama folder (config.json + model.safetensors)",
    ),
    prompt: str = typer.Option(
        "", help="text to continue, in the run's vocabulary; names runs: how every name starts"
    ),
    max_new_tokens: int = typer.Option(
        500, "--max-new-tokens", help="text runs: characters after the prompt (>= 1); a name ends itself"
    ),
    temperature: float = typer.Option(
        1.0, help="divides the logits: < 1 safer, > 1 more varied, 0 always the most likely (>= 0)"
    ),
    top_k: int = typer.Option(None, "--top-k", help="draw only among this many most likely tokens (>= 1)"),
    top_p: float = typer.Option(
        None,
        "--top-p",
        help="nucleus: draw among the fewest likeliest tokens whose probability sums to this (0 < p <= 1)",
    ),
    num: int = typer.Option(1, help="how many samples (>= 1)"),
    seed: int = typer.Option(None, help="fix the sampling RNG: the same seed gives the same samples"),
    exclude_train: bool = typer.Option(
        False,
        "--exclude-train",
        help="names runs: keep drawing until --num names are not training names",
    ),
    mark_train: bool = typer.Option(
        False, "--mark-train", help="names runs: mark the names found in the training set"
    ),
) -> None:
    """Sample from a trained run folder, or an HF GPT-2 or Llama checkpoint, streaming tokens as they come."""
    from nanozoo.experiments import SampleOptions, runner

    if (run is None) == (hf_dir is None):
        raise typer.BadParameter("give a RUN_DIR or --hf-dir DIR (one of them)")
    opts = SampleOptions(
        prompt=prompt,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        num=num,
        seed=seed,
        exclude_train=exclude_train,
        mark_train=mark_train,
    )
    if hf_dir is not None:
        from nanozoo.experiments.lm import sample_pretrained

        chunks = sample_pretrained(hf_dir, opts)
    else:
        chunks = runner.sample(run, opts)
    for chunk in chunks:
        sys.stdout.write(chunk)
        sys.stdout.flush()
    sys.stdout.write("\n")
