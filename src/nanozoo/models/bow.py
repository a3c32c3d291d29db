"""Bag of words: each position averages the embeddings of itself and every earlier position.

Reference: karpathy/makemore `makemore.py` (its `BoW` model) and the "Let's build GPT" lecture's first
self-attention step ("the mathematical trick": a lower-triangular averaging matrix). Token + position
embeddings, one block of causal averaging and a tanh MLP, each with a residual connection, then a linear head.
It is attention with all weights equal: the step before a transformer, which learns the weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class BoWConfig:
    vocab_size: int = 27
    block_size: int = 16
    n_embd: int = 64
    n_embd2: int = 64  # MLP width

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_embd", "n_embd2"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name}={getattr(self, name)} must be >= 1")


# ---------------------------------------------------------------------------------------------------
# Blocks


def causal_average(x: torch.Tensor) -> torch.Tensor:
    """y[:, t] = mean(x[:, :t + 1]): softmax over a causal mask of zeros, times x."""
    B, T, C = x.shape
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool, device=x.device))  # (T, T)
    att = torch.zeros(T, T, device=x.device, dtype=x.dtype).masked_fill(~mask, float("-inf"))
    return F.softmax(att, dim=-1) @ x  # (T, T) @ (B, T, C) -> (B, T, C)


class BoWBlock(nn.Module):
    def __init__(self, cfg: BoWConfig):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, cfg.n_embd2)
        self.c_proj = nn.Linear(cfg.n_embd2, cfg.n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + causal_average(x)
        return x + self.c_proj(torch.tanh(self.c_fc(x)))


# ---------------------------------------------------------------------------------------------------
# The model


class BoW(nn.Module):
    def __init__(self, cfg: BoWConfig):
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.block = BoWBlock(cfg)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """idx (B, T) -> logits (B, T, V); mean cross-entropy over non-padding targets (-1 ignored)."""
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"sequence of length {T} is longer than block_size={self.config.block_size}")
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))  # (B, T, C)
        logits = self.lm_head(self.block(x))  # (B, T, V)
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.view(B * T, -1), targets.reshape(B * T), ignore_index=-1)


__all__ = ["BoW", "BoWBlock", "BoWConfig", "causal_average"]
