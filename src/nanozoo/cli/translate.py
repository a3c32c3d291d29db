"""`nanozoo translate RUN "a sentence" [--attention PNG]`: translate with a trained translate-* run;
`nanozoo translate RUN --bleu test`: its BLEU on a split of its data set."""

from __future__ import annotations

from pathlib import Path

import typer

from nanozoo.cli import app


@app.command()
def translate(
    run: Path = typer.Argument(..., metavar="RUN_DIR", help="a trained translate-* run folder"),
    sentences: list[str] = typer.Argument(None, metavar="SENTENCE...", help="text in the source language"),
    beam: int = typer.Option(4, "--beam", help="beam size (>= 1; 1 is greedy decoding)"),
    alpha: float = typer.Option(0.6, help="GNMT length penalty: 0 none, larger favours longer output"),
    attention: Path = typer.Option(
        None, "--attention", metavar="PNG", help="draw the cross-attention of the first translation here"
    ),
    bleu: str = typer.Option(
        None, "--bleu", metavar="SPLIT", help="instead: translate a split (val, test, ...) and print its BLEU"
    ),
    data_dir: Path = typer.Option(None, "--data-dir", metavar="DIR", help="look for data files here first"),
) -> None:
    """Translate each SENTENCE with the run's model and BPE; print one translation a line."""
    from nanozoo.core.config import ConfigError
    from nanozoo.experiments.seq2seq import attention_picture, score_run, translate_run

    if beam < 1:
        raise ConfigError(f"--beam {beam}: the beam size must be >= 1")
    if bleu is not None:
        if sentences:
            raise ConfigError("--bleu translates a whole split: give no SENTENCE with it")
        score, _ = score_run(run, bleu, beam, alpha, data_dir)
        print(f"BLEU {score:.2f} on {bleu} (sacrebleu, beam {beam}, alpha {alpha})")
        return
    model, codec, out = translate_run(run, sentences or [], beam, alpha)
    for line in out:
        print(line)
    if attention is not None:
        src = codec.encode(sentences[0])[: model.config.block_size]
        attention_picture(model, src, attention, codec.label, sentences[0][:60], codec.encode(out[0]))
        print(f"cross-attention: {attention}")
