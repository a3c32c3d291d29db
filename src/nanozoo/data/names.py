"""The makemore `names` data set: 32,033 names, a character vocabulary with '.' as start/end token, splits.

Reference: karpathy/makemore and the "Zero to Hero" lecture notebooks (makemore parts 1-5). The split is the
notebooks' one, which is what their published dev/val figures are measured on: `random.seed(42)`,
`random.shuffle(words)`, then the first 80% train, the next 10% val ("dev"), the last 10% test. We use it for
every model (makemore.py itself holds out 1,000 names for test instead; we do not).

Two views of a split, as tensors:
- context windows (the bigram/MLP/WaveNet models): every position of every name gives one example, the
  previous `block_size` characters (left-padded with '.') and the next character;
- padded sequences (RNN/BoW/transformer, as makemore.py): `x = . n a m e 0 0 ...`, `y = n a m e . -1 -1 ...`,
  where -1 marks padding that the loss ignores.
"""

from __future__ import annotations

import functools
import random
from pathlib import Path

import torch

from nanozoo import data
from nanozoo.core.config import ConfigError
from nanozoo.data.catalogue import DataError

START = "."  # the one special token: start of a name before it, end of a name after it


class VocabError(DataError, ValueError):
    """A text (a prompt) holds a character that is not in the names' vocabulary."""


# ---------------------------------------------------------------------------------------------------
# Loading and splitting


def load_names(data_dir: str | Path | None = None) -> list[str]:
    """The names, lower-case, one per line of names.txt, blank lines dropped."""
    text = data.path("names", "names.txt", data_dir=data_dir).read_text()
    words = [w.strip() for w in text.splitlines() if w.strip()]
    if not words:
        raise DataError("names.txt holds no names")
    return words


def split_names(
    words: list[str], seed: int = 42, fractions: tuple[float, float] = (0.8, 0.9)
) -> dict[str, list[str]]:
    """The lecture notebooks' 80/10/10 split: a `random.seed(seed)` shuffle, then train/val/test slices."""
    a, b = fractions
    if not 0.0 < a < b < 1.0:
        raise ConfigError(f"split fractions={fractions} must satisfy 0 < train < train+val < 1")
    words = list(words)
    random.Random(seed).shuffle(words)  # the same permutation as random.seed(seed); random.shuffle(words)
    n1, n2 = int(a * len(words)), int(b * len(words))
    return {"train": words[:n1], "val": words[n1:n2], "test": words[n2:]}


# ---------------------------------------------------------------------------------------------------
# The vocabulary


class CharVocab:
    """'.' is id 0, then the distinct characters of the names, sorted (27 ids for names.txt)."""

    def __init__(self, chars: str | list[str]):
        chars = sorted(set(chars) - {START})
        self.itos = [START, *chars]
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    @classmethod
    def from_words(cls, words: list[str]) -> CharVocab:
        return cls("".join(words))

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, word: str) -> list[int]:
        try:
            return [self.stoi[c] for c in word]
        except KeyError as e:
            raise VocabError(f"character {e.args[0]!r} of {word!r} is not in the vocabulary") from None

    def decode(self, ids: list[int]) -> str:
        return "".join(self.itos[i] for i in ids)


# ---------------------------------------------------------------------------------------------------
# Tensors


def context_windows(words: list[str], vocab: CharVocab, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(X, Y): X (N, block_size) the previous characters, Y (N,) the next one, for every position of every
    name including the final '.' (the lectures' `build_dataset`)."""
    if block_size < 1:
        raise ConfigError(f"block_size={block_size} must be >= 1")
    xs, ys = [], []
    for w in words:
        context = [0] * block_size
        for ix in [*vocab.encode(w), 0]:
            xs.append(context)
            ys.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(xs, dtype=torch.long), torch.tensor(ys, dtype=torch.long)


def padded_sequences(words: list[str], vocab: CharVocab, max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(X, Y), both (N, max_len + 1): X = '.' then the name then 0s, Y = the name then '.' then -1s."""
    longest = max(len(w) for w in words)
    if longest > max_len:
        raise ConfigError(f"a name of {longest} characters is longer than max_len={max_len}")
    X = torch.zeros(len(words), max_len + 1, dtype=torch.long)
    Y = torch.full((len(words), max_len + 1), -1, dtype=torch.long)
    for i, w in enumerate(words):
        ix = torch.tensor(vocab.encode(w), dtype=torch.long)
        X[i, 1 : 1 + len(ix)] = ix
        Y[i, : len(ix)] = ix
        Y[i, len(ix)] = 0
    return X, Y


def random_rows(X: torch.Tensor, Y: torch.Tensor, batch_size: int, gen: torch.Generator):
    """A batch of `batch_size` rows drawn with replacement (the lectures' minibatches)."""
    ix = torch.randint(len(X), (batch_size,), generator=gen)  # (B,)
    return X[ix], Y[ix]


@functools.lru_cache(maxsize=8)
def split_tensors(data_dir: str | None, seed: int, layout: str, block_size: int):
    """(vocab, word splits, {split: (X, Y)}) in a model family's layout: "window" (context windows of
    `block_size`) or "sequence" (padded to `block_size`). Cached and read-only: building the windows is a
    Python loop over 228k characters, and several models and the diagnostics read the same ones."""
    if layout not in ("window", "sequence"):
        raise ConfigError(f"layout={layout!r} must be 'window' or 'sequence'")
    words = load_names(data_dir)
    vocab = CharVocab.from_words(words)
    splits = split_names(words, seed)
    if layout == "window":
        tensors = {s: context_windows(w, vocab, block_size) for s, w in splits.items()}
    else:
        tensors = {s: padded_sequences(w, vocab, block_size - 1) for s, w in splits.items()}
    return vocab, splits, tensors


__all__ = [
    "START",
    "CharVocab",
    "VocabError",
    "context_windows",
    "load_names",
    "padded_sequences",
    "random_rows",
    "split_names",
    "split_tensors",
]
