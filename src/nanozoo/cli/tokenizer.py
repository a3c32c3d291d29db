"""`nanozoo tokenizer train | encode | decode | show`: train a BPE, and use GPT-2/GPT-4/BERT tokenizers."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import typer

from nanozoo.cli import app

log = logging.getLogger(__name__)

tok_app = typer.Typer(no_args_is_help=True, help="Byte-level BPE (GPT-2/GPT-4) and WordPiece tokenizers.")
app.add_typer(tok_app, name="tokenizer")

NameOpt = typer.Option(
    "gpt2",
    "--name",
    "-n",
    help="gpt2 | cl100k | minilm, or a file: a .model written by `tokenizer train`, a .tiktoken, a vocab.txt",
)
DataDir = typer.Option(None, "--data-dir", help="look here first for the vocabulary files")
# The 8 ANSI colours: a terminal shows them as its own palette entries, so 16- and 256-colour terminals keep
# neighbours apart (RGB shades such as #3b4d6b / #6b3b4d downgrade to one and the same colour there).
_COLOURS = ["black on cyan", "black on yellow", "white on blue", "black on green", "white on magenta"]


@tok_app.command()
def train(
    file: Path = typer.Argument(..., help="training text (UTF-8)"),
    vocab_size: int = typer.Option(..., "--vocab-size", help="256 bytes + the number of merges"),
    pattern: str = typer.Option(
        "gpt4", "--pattern", help="split pattern: gpt2 | gpt4 | none, or sentencepiece (Llama's BPE)"
    ),
    out: Path = typer.Option(..., "-o", "--out", help="output prefix: writes PREFIX.model and PREFIX.vocab"),
) -> None:
    """Train a byte-level BPE tokenizer on FILE (or, with --pattern sentencepiece, a SentencePiece BPE)."""
    from nanozoo.tokenizers import PATTERNS, RegexTokenizer, TokenizerError, output_prefix, read_text
    from nanozoo.tokenizers import sentencepiece as sp

    if pattern not in (*PATTERNS, "sentencepiece"):
        raise TokenizerError(f"--pattern {pattern!r} is not one of {[*sorted(PATTERNS), 'sentencepiece']}")
    output_prefix(out)
    text = read_text(file, "training text (UTF-8)")
    if not text:
        raise TokenizerError(f"{file} is empty: there is no text to learn merges from")
    t0 = time.perf_counter()
    if pattern == "sentencepiece":  # a .model that the `sentencepiece` library loads too
        tok = sp.train(text, vocab_size)
        model = tok.save(out.with_name(out.name + ".model"))
        elapsed = time.perf_counter() - t0
        print(f"trained {tok.vocab_size} pieces on {len(text):,} characters in {elapsed:.2f} s -> {model}")
        return
    tok = RegexTokenizer(pattern)
    tok.train(text, vocab_size, progress=sys.stderr.isatty())
    elapsed = time.perf_counter() - t0
    model = tok.save(out)
    print(
        f"trained {tok.vocab_size} tokens on {len(text):,} characters in {elapsed:.2f} s -> {model} "
        f"and {model.with_suffix('.vocab')}"
    )


@tok_app.command()
def encode(
    text: str = typer.Argument(None, help="text to encode (default: read stdin)"),
    name: str = NameOpt,
    allow_special: bool = typer.Option(False, "--allow-special", help="encode special tokens as their ids"),
    data_dir: Path = DataDir,
) -> None:
    """Text (argument or stdin) -> ids on stdout, space-separated."""
    from nanozoo.tokenizers import RegexTokenizer

    tok = _load(name, data_dir)
    text = _stdin() if text is None else text
    if allow_special and isinstance(tok, RegexTokenizer):
        ids = tok.encode(text, allowed_special="all")
    else:
        ids = tok.encode(text)
    print(" ".join(map(str, ids)))


@tok_app.command()
def decode(
    ids: str = typer.Argument(None, help="space-separated ids (default: read stdin)"),
    name: str = NameOpt,
    data_dir: Path = DataDir,
) -> None:
    """Ids (argument or stdin, space-separated) -> text on stdout."""
    from nanozoo.tokenizers import TokenizerError

    tok = _load(name, data_dir)
    raw = (_stdin() if ids is None else ids).split()
    try:
        values = [int(x) for x in raw]
    except ValueError:
        bad = next(x for x in raw if not x.lstrip("-").isdigit())
        raise TokenizerError(f"{bad!r} is not a token id (expected space-separated integers)") from None
    sys.stdout.write(tok.decode(values))
    sys.stdout.write("\n")


@tok_app.command()
def show(
    text: str = typer.Argument(..., help="text to tokenize"),
    name: str = NameOpt,
    data_dir: Path = DataDir,
) -> None:
    """Print TEXT with each token on another background colour than its neighbours, then the ids."""
    from rich.console import Console
    from rich.text import Text

    tok = _load(name, data_dir)
    ids = tok.encode(text)
    out = Text()
    for k, piece in enumerate(_pieces(tok, ids)):
        out.append(piece, style=_COLOURS[k % len(_COLOURS)])
    console = Console(highlight=False)
    console.print(out)
    console.print(f"{len(ids)} tokens: {' '.join(map(str, ids))}", style="dim")


def _pieces(tok, ids: list[int]) -> list[str]:
    """The visible text of each token; tokens holding parts of one UTF-8 character share one colour."""
    if hasattr(tok, "inverse"):  # WordPiece
        return [tok.inverse[i] + " " for i in ids]
    out, pending = [], b""
    for i in ids:
        pending += tok.vocab[i]
        try:
            out.append(pending.decode("utf-8").replace("\n", "\\n\n"))
            pending = b""
        except UnicodeDecodeError:
            continue  # part of a character: wait for the rest
    if pending:
        out.append(pending.decode("utf-8", errors="replace"))
    return out


def _stdin() -> str:
    from nanozoo.tokenizers import TokenizerError

    try:
        return sys.stdin.read()
    except UnicodeDecodeError as e:
        raise TokenizerError(
            f"stdin is not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start})"
        ) from None


def _load(name: str, data_dir: Path | None):
    from nanozoo.tokenizers import load

    return load(name, data_dir)
