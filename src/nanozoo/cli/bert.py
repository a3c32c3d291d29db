"""`nanozoo classify RUN "text"...`: a fine-tuned BERT run's label for each text (torch only inside)."""

from __future__ import annotations

from pathlib import Path

import typer

from nanozoo.cli import app


@app.command()
def classify(
    run: Path = typer.Argument(..., help="a finished run folder of bert-sentiment (or -mr, -scratch)"),
    texts: list[str] = typer.Argument(..., help="one or more sentences"),
) -> None:
    """Print each sentence's predicted label and its probability."""
    from nanozoo.experiments.bert import classify as classify_

    for text, probs in zip(texts, classify_(run, texts), strict=True):
        label = max(probs, key=probs.get)
        print(f"{label}\t{probs[label]:.3f}\t{text}")
