"""`nanozoo sweep EXPERIMENT --grid k=v1,v2 [--random N] [--jobs J]`: a hyperparameter search."""

from __future__ import annotations

from pathlib import Path

import typer

from nanozoo.cli import app
from nanozoo.core.config import ConfigError
from nanozoo.experiments import sweep as sweep_lib


@app.command()
def sweep(
    experiment: str,
    grid: list[str] = typer.Option(
        [], "--grid", help="a hyperparameter and its values: section.key=v1,v2,..."
    ),
    random: int = typer.Option(None, "--random", help="run N random combinations of the grid instead of all"),
    jobs: int = typer.Option(1, "--jobs", help="combinations trained at once, each in its own process"),
    set_: list[str] = typer.Option([], "--set", help="a fixed override for every run: section.key=value"),
    out: Path = typer.Option(
        None, help="sweep folder (default runs/sweeps/EXPERIMENT); rerun to skip finished"
    ),
    seed: int = typer.Option(0, help="seed for --random"),
    data_dir: Path = typer.Option(None, help="look for data files here first"),
    metric: str = typer.Option("val_loss", help="the metric that ranks the runs (each run's last value)"),
    also: list[str] = typer.Option([], "--also", help="another metric of each run to show in the table"),
    higher_is_better: bool = typer.Option(
        None,
        "--higher-is-better/--lower-is-better",
        help="which way --metric ranks (default: lower, or the experiment's reference metric's way)",
    ),
) -> None:
    """Train every combination of the grid; print and write a table sorted by --metric, and pictures."""
    if not grid:
        raise ConfigError("give at least one --grid section.key=v1,v2,...")
    out = out or Path("runs") / "sweeps" / experiment
    rows = sweep_lib.run_sweep(
        experiment,
        sweep_lib.parse_grid(grid),
        out,
        jobs=jobs,
        n_random=random,
        seed=seed,
        overrides=set_,
        data_dir=data_dir,
        metric=metric,
        columns=also,
        higher_is_better=higher_is_better,
    )
    print((out / "results.md").read_text(), end="")
    pictures = [sweep_lib.PLOT, sweep_lib.CURVES] + ([sweep_lib.COLUMNS] if also else [])
    print(f"{len(rows)} runs; table {out / 'results.md'}, pictures in {out}: {', '.join(pictures)}")
