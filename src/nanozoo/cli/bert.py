"""`nanozoo classify RUN "text"...` and `nanozoo ner RUN "text"...`: a fine-tuned BERT run at work (torch
only inside the commands)."""

from __future__ import annotations

from pathlib import Path

import typer

from nanozoo.cli import app

ENTITY_STYLES = {"PER": "bold magenta", "ORG": "bold cyan", "LOC": "bold green", "MISC": "bold yellow"}


@app.command()
def classify(
    run: Path = typer.Argument(..., help="a finished run folder of bert-sentiment"),
    texts: list[str] = typer.Argument(..., help="one or more sentences"),
) -> None:
    """Print each sentence's predicted label and its probability."""
    from nanozoo.experiments.bert import classify as classify_

    for text, probs in zip(texts, classify_(run, texts), strict=True):
        label = max(probs, key=probs.get)
        print(f"{label}\t{probs[label]:.3f}\t{text}")


@app.command()
def ner(
    run: Path = typer.Argument(..., help="a finished run folder of bert-ner"),
    texts: list[str] = typer.Argument(..., help="one or more sentences"),
) -> None:
    """Print each sentence with its entities marked [TYPE words] (coloured on a terminal), then one line per
    entity: TYPE<TAB>words."""
    from rich.console import Console
    from rich.markup import escape

    from nanozoo.experiments.bert_ner import tag

    console = Console(highlight=False, soft_wrap=True)
    for words, _, entities in tag(run, texts):
        parts, at = [], 0
        for type_, first, last in entities:
            parts += [escape(w) for w in words[at:first]]
            style = ENTITY_STYLES.get(type_, "bold")
            parts.append(f"[{style}]{escape('[' + type_)} {escape(' '.join(words[first : last + 1]))}][/]")
            at = last + 1
        console.print(" ".join(parts + [escape(w) for w in words[at:]]))
        for type_, first, last in entities:
            print(f"{type_}\t{' '.join(words[first : last + 1])}")
