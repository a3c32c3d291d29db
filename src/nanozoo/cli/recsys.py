"""`nanozoo recsys train | report | serve`: the MovieLens recommender end to end (experiments/recsys.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from nanozoo.cli import app

recsys_app = typer.Typer(no_args_is_help=True, help="The recommender: train every stage, report the table.")
app.add_typer(recsys_app, name="recsys")
EXPERIMENT = "movielens-two-tower"
SET = typer.Option(
    [], "--set", metavar="SECTION.KEY=VALUE", help=f"override a config value (`nanozoo show {EXPERIMENT}`)"
)
DATA_DIR = typer.Option(None, metavar="DIR", help="look for data files here first")
RUNS = typer.Option(Path("runs"), metavar="DIR", help="root of the run folders")
RUN = typer.Argument(..., metavar="RUN_DIR", help=f"a trained {EXPERIMENT} run folder")


@recsys_app.command()
def train(
    set_: list[str] = SET,
    data_dir: Path = DATA_DIR,
    runs: Path = RUNS,
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


@recsys_app.command("train-sharded")
def train_sharded(
    set_: list[str] = SET,
    data_dir: Path = DATA_DIR,
    runs: Path = RUNS,
    table_lr: float = typer.Option(0.5, "--table-lr", help="the tables' row-wise Adagrad learning rate"),
) -> None:
    """Under torchrun: train the two-tower with its embedding tables sharded over the processes (TorchRec)."""
    from nanozoo.experiments import recsys

    run_dir, metrics = recsys.train_sharded(set_, data_dir, runs, table_lr)
    if run_dir is not None:
        print("  ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
        print(
            f"run folder: {run_dir} (sharded.json: the tables of each process; recsys report|serve RUN_DIR)"
        )


@recsys_app.command()
def tune(
    run: Path = RUN,
    grid: list[str] = typer.Option(
        ..., "--grid", metavar="rank.KEY=V1,V2", help="a ranker hyper-parameter and its values"
    ),
    data_dir: Path = DATA_DIR,
) -> None:
    """The rankers on the validation window's held-out users for every combination of the grid."""
    from nanozoo.experiments import recsys
    from nanozoo.experiments.registry import load_run

    load_run(run, expect=EXPERIMENT)
    print(recsys.tune(run, grid, data_dir))


@recsys_app.command()
def report(
    run: Path = RUN,
    set_: list[str] = typer.Option(
        [], "--set", metavar="rank.KEY=VALUE", help="change the ranking stage for this report"
    ),
    data_dir: Path = DATA_DIR,
) -> None:
    """Evaluate a trained run and every baseline on its test split again; print the table."""
    from nanozoo.experiments import recsys
    from nanozoo.experiments.registry import load_run

    load_run(run, expect=EXPERIMENT)  # a folder of another experiment is refused in one line
    print(recsys.report(run, data_dir, overrides=set_))


@recsys_app.command()
def serve(
    run: Path = RUN,
    events: Path = typer.Option(
        None, metavar="FILE", help="the event log, SQLite (default RUN_DIR/events.sqlite)"
    ),
    data_dir: Path = DATA_DIR,
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    threads: int = typer.Option(
        1, "--threads", min=1, help="torch/FAISS threads (a request is tiny: 1 is fastest, see NOTE)"
    ),
) -> None:
    """Serve a trained run over HTTP: GET /recommend/{user}?k=, /similar/{item}?k=, POST /events; /docs."""
    import torch
    import uvicorn
    from threadpoolctl import threadpool_limits

    from nanozoo.experiments import recsys
    from nanozoo.experiments.registry import load_run
    from nanozoo.systems.recsys.serve import create_app

    load_run(run, expect=EXPERIMENT)
    # NOTE: one user-tower forward is a few small matrix products; with 2 OpenMP threads on a loaded
    # 2-core machine it took 15.7 ms at the median instead of 0.66 ms (spin-waiting threads; measured by
    # benchmarks/bench_recsys_serve.py's in-process row, load average 6), so the server runs one thread.
    service = recsys.service(run, data_dir, events)
    torch.set_num_threads(threads)
    threadpool_limits(threads)  # FAISS's and BLAS's OpenMP pools, loaded by now
    print(
        f"serving {run} ({len(service.user_ids)} users, {len(service.items)} items, {service.n_events} "
        f"logged events from {service.store.path}) at http://{host}:{port}/docs (Ctrl-C stops)"
    )
    uvicorn.run(create_app(service), host=host, port=port, log_level="warning")
