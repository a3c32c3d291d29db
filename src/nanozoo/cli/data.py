"""`nanozoo data list | path NAME | verify NAME | fetch NAME`."""

from __future__ import annotations

from pathlib import Path

import typer

from nanozoo import data
from nanozoo.cli import app

data_app = typer.Typer(no_args_is_help=True, help="The dataset catalogue: list, locate, verify and fetch.")
app.add_typer(data_app, name="data")
DataDir = typer.Option(None, "--data-dir", help="look here first (NAME/FILE or FILE)")


@data_app.command("list")
def list_() -> None:
    """Every catalogued dataset, its files and where each is found locally (size checked; see verify)."""
    from rich.console import Console
    from rich.table import Table

    t = Table("dataset", "file", "size", "found at", "description")
    for ds in data.CATALOGUE.values():
        for i, f in enumerate(ds.files):
            try:
                p = data.find(ds.name, f.name, sha256=False)  # `data verify NAME` checks the sha256
            except data.DataError:
                p = "wrong size"
            t.add_row(
                ds.name if i == 0 else "",
                f.name,
                f"{f.size:,}",
                str(p or "-"),
                ds.description if i == 0 else "",
            )
    Console().print(t)


@data_app.command()
def path(name: str, data_dir: Path = DataDir) -> None:
    """Print the local path of each file of NAME (no download)."""
    for f in data.get(name).files:
        print(data.path(name, f.name, data_dir, download=False))


@data_app.command()
def verify(name: str, data_dir: Path = DataDir) -> None:
    """Check every file of NAME against its size and sha256."""
    for f in data.get(name).files:
        p = data.path(name, f.name, data_dir, download=False)
        print(f"ok  {p}")


@data_app.command()
def fetch(name: str, data_dir: Path = DataDir) -> None:
    """Make every file of NAME available locally, downloading into the cache if needed."""
    for f in data.get(name).files:
        print(data.path(name, f.name, data_dir, download=True))
