"""`nanozoo export RUN OUT --format hf|llama2c`: a trained run's model for another program."""

from __future__ import annotations

from pathlib import Path

import typer

from nanozoo.cli import app


@app.command()
def export(
    run: Path = typer.Argument(..., metavar="RUN_DIR", help="a trained GPT or Llama run folder"),
    out: Path = typer.Argument(..., metavar="OUT_DIR", help="the folder to write (made if missing)"),
    fmt: str = typer.Option(
        "hf",
        "--format",
        help="hf: config.json + model.safetensors for transformers; llama2c: run.c's model.bin "
        "(and tokenizer.bin for a SentencePiece run)",
    ),
) -> None:
    """Write a trained run's model in another program's format."""
    from nanozoo.experiments.lm import export_run

    for f in export_run(run, out, fmt):
        print(f"wrote {f} ({f.stat().st_size:,} bytes)")
