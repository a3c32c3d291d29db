"""Language-modelling data: a token stream split into train/val, and random windows of it as batches."""

from __future__ import annotations

import torch


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
        raise ValueError(f"a split of {len(data)} tokens is too short for block_size={block_size}")
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=gen)  # (B,)
    offsets = ix[:, None] + torch.arange(block_size + 1)  # (B, T + 1)
    chunk = data[offsets]  # (B, T + 1)
    return chunk[:, :-1], chunk[:, 1:]
