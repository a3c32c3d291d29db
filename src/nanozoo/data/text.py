"""Language-modelling data: a character corpus, a token stream split into train/val, random windows of it."""

from __future__ import annotations

from pathlib import Path

import torch

from nanozoo.core.config import ConfigError
from nanozoo.data.catalogue import read_text


def char_corpus(
    dataset: str, val_fraction: float, data_dir: str | Path | None = None
) -> tuple[list[str], dict[str, torch.Tensor]]:
    """A text data set as its sorted alphabet (a character's id is its index; `CharTokenizer(chars)`) and
    its train/val id streams (nanoGPT's shakespeare_char split)."""
    text = read_text(dataset, data_dir=data_dir)
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    return chars, split_stream([stoi[c] for c in text], val_fraction)


def split_stream(ids: list[int] | torch.Tensor, val_fraction: float) -> dict[str, torch.Tensor]:
    """First (1 - val_fraction) of the stream for training, the rest for validation (nanoGPT's split)."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction={val_fraction} must be in (0, 1)")
    data = torch.as_tensor(ids, dtype=torch.long)
    n = int(len(data) * (1 - val_fraction))
    return {"train": data[:n], "val": data[n:]}


def random_windows(data: torch.Tensor, batch_size: int, block_size: int, gen: torch.Generator):
    """(x, y) of shape (B, T): B windows at random offsets, y is x shifted by one token."""
    if len(data) <= block_size:
        raise ConfigError(f"a split of {len(data):,} tokens is too short for block_size={block_size}")
    if batch_size * block_size > len(data):  # every batch would read the split over and over
        raise ConfigError(
            f"a batch of {batch_size} windows of block_size={block_size} ({batch_size * block_size:,} "
            f"tokens) is longer than a whole split of {len(data):,} tokens: lower model.block_size or "
            "train.batch_size"
        )
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=gen)  # (B,)
    offsets = ix[:, None] + torch.arange(block_size + 1)  # (B, T + 1)
    chunk = data[offsets]  # (B, T + 1)
    return chunk[:, :-1], chunk[:, 1:]


def ptb_words(split: str, data_dir: str | Path | None = None) -> list[str]:
    """A split of Mikolov's Penn Treebank ("train", "valid", "test") as words, each sentence (one a line)
    followed by `<eos>`, as Mikolov and Zaremba count them: 887,521 + 42,068 `<eos>` words for train."""
    if split not in ("train", "valid", "test"):
        raise ValueError(f"ptb split {split!r}; expected train, valid or test")
    text = read_text("ptb", f"ptb.{split}.txt", data_dir=data_dir)
    return [w for line in text.splitlines() for w in (*line.split(), "<eos>")]
