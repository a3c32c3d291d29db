"""`nanozoo recsys train | report`: the recommender end to end on MovieLens (experiments/recsys.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from nanozoo.cli import app

recsys_app = typer.Typer(no_args_is_help=True, help="The recommender: train every stage, report the table.")
app.add_typer(recsys_app, name="recsys")
EXPERIMENT = "movielens-two-tower"


@recsys_app.command()
def train(
    set_: list[str] = typer.Option(
        [],
        "--set",
        metavar="SECTION.KEY=VALUE",
        help=f"override a config value (`nanozoo show {EXPERIMENT}`)",
    ),
    data_dir: Path = typer.Option(None, metavar="DIR", help="look for data files here first"),
    runs: Path = typer.Option(Path("runs"), metavar="DIR", help="root of the run folders"),
) -> None:
    """Train the two-tower retriever, fit every baseline on the same split, print the table of them all."""
    from nanozoo.experiments import recsys, runner

    run_dir, metrics = runner.train(EXPERIMENT, set_, data_dir=data_dir, runs_root=runs)
    if not metrics["finished"]:
        print(
            f"stopped at step {metrics['step']}; continue with: nanozoo train {EXPERIMENT} --resume {run_dir}"
        )
        raise typer.Exit(128 + (metrics["signal"] or 2))
    print(recsys.report(run_dir, data_dir))
    print(f"run folder: {run_dir} (report.md, recall_at_k.png)")


@recsys_app.command()
def report(
    run: Path = typer.Argument(..., metavar="RUN_DIR", help=f"a trained {EXPERIMENT} run folder"),
    data_dir: Path = typer.Option(None, metavar="DIR", help="look for data files here first"),
) -> None:
    """Evaluate a trained run and every baseline on its test split again; print the table."""
    from nanozoo.experiments import recsys
    from nanozoo.experiments.registry import load_run

    load_run(run, expect=EXPERIMENT)  # a folder of another experiment is refused in one line
    print(recsys.report(run, data_dir))
