"""Bigram character models: by counting, and the same model as a one-layer neural net.

Reference: "Zero to Hero" makemore part 1 (karpathy/nn-zero-to-hero, `makemore_part1_bigrams.ipynb`).
The counting model estimates P(next | current) as (count + k) / (row total + k V) (add-k smoothing). The
neural bigram is one weight matrix `W` (V, V): the logits for the next character are the row of the current
one, which is `one_hot(x) @ W` without building the one-hot. Its optimum is the counts' maximum likelihood
estimate, so its loss converges to the counting model's negative log-likelihood (tests check within 0.01);
L2 on `W` (the lecture's `0.01 * (W**2).mean()`) plays the part of smoothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class BigramConfig:
    vocab_size: int = 27
    block_size: int = 1  # one character of context, by definition
    smoothing: float = 1.0  # add-k for the counting model (the lecture's +1)

    def __post_init__(self):
        if self.vocab_size < 1:
            raise ValueError(f"model.vocab_size={self.vocab_size} must be >= 1")
        if self.block_size != 1:
            raise ValueError(f"model.block_size={self.block_size}: a bigram sees exactly 1 character")
        if self.smoothing < 0:
            raise ValueError(f"model.smoothing={self.smoothing} must be >= 0")


# ---------------------------------------------------------------------------------------------------
# Counting


class BigramCounts:
    """Counts N[a, b] of character b following a; probabilities with add-k smoothing."""

    def __init__(self, vocab_size: int, smoothing: float = 1.0):
        if smoothing < 0:
            raise ValueError(f"smoothing={smoothing} must be >= 0")
        self.counts = torch.zeros(vocab_size, vocab_size, dtype=torch.float64)
        self.smoothing = smoothing

    def fit(self, x: torch.Tensor, y: torch.Tensor) -> BigramCounts:
        """x, y (N,) current and next ids; adds their pairs to the counts."""
        V = self.counts.size(0)
        self.counts += torch.bincount(x * V + y, minlength=V * V).view(V, V).double()  # (V, V)
        return self

    @property
    def probs(self) -> torch.Tensor:
        P = self.counts + self.smoothing  # (V, V)
        return P / P.sum(dim=1, keepdim=True)

    def nll(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """Mean negative log-likelihood of the pairs (x, y): the loss the neural bigram minimises."""
        return -self.probs[x, y].log().mean().item()

    def as_model(self) -> Bigram:
        """The neural bigram with W = log P: softmax(log P) = P, so it draws exactly what the counts say, and
        the shared sampler (temperature, top-k, top-p, a prompt) works on the counting model too."""
        model = Bigram(BigramConfig(vocab_size=self.counts.size(0)))
        model.W.data = self.probs.log().float()  # (V, V)
        return model.eval()


# ---------------------------------------------------------------------------------------------------
# The neural bigram


class Bigram(nn.Module):
    def __init__(self, cfg: BigramConfig):
        super().__init__()
        self.config = cfg
        self.W = nn.Parameter(torch.randn(cfg.vocab_size, cfg.vocab_size) * 0.01)  # near-uniform start

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """idx (B, 1) the current character -> logits (B, V) for the next; loss when targets (B,) given."""
        logits = self.W[idx[:, -1]]  # (B, V): one_hot(x) @ W, by indexing
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss


__all__ = ["Bigram", "BigramConfig", "BigramCounts"]
