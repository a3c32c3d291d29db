"""MLP language model (Bengio et al. 2003) with an optional BatchNorm written by hand.

Bengio, Ducharme, Vincent, Jauvin 2003, "A Neural Probabilistic Language Model"; Ioffe & Szegedy 2015,
"Batch Normalization". Reference: "Zero to Hero" makemore parts 2 and 3 (karpathy/nn-zero-to-hero,
`makemore_part2_mlp.ipynb`, `makemore_part3_bn.ipynb`). The previous `block_size` characters are embedded,
concatenated and fed through `n_layer` hidden layers of Linear [-> BatchNorm] -> tanh, then Linear to logits.

Initialisation is the lecture's fixed one (part 3) unless `init` says otherwise: hidden weights
`gain / sqrt(fan_in)` with the tanh gain 5/3 (Kaiming), the output layer scaled by 0.1 so the first loss is
near -log(1/V) rather than "confidently wrong". `init="bad"` draws weights from N(0, 1), no fan-in scaling,
which saturates the tanh units (the diagnostics show it); `init="torch"` is PyTorch's default.
`residual=True` adds skip connections around the hidden->hidden layers (the deep residual-vs-plain picture).

Our BatchNorm normalises with the biased batch variance and tracks the unbiased one in `running_var`,
exactly as `nn.BatchNorm1d` (tests check against it); the lecture normalises with the unbiased variance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

TANH_GAIN = 5 / 3  # torch.nn.init.calculate_gain("tanh")


@dataclass
class MLPConfig:
    vocab_size: int = 27
    block_size: int = 3  # characters of context
    n_embd: int = 10  # embedding size per character
    n_hidden: int = 200
    n_layer: int = 1  # hidden layers
    batchnorm: bool = False
    residual: bool = False
    init: Literal["kaiming", "bad", "torch"] = "kaiming"
    dropout: float = 0.0  # after each hidden layer (Srivastava et al. 2014)

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_embd", "n_hidden", "n_layer"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name}={getattr(self, name)} must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"model.dropout={self.dropout} must be in [0, 1)")


# ---------------------------------------------------------------------------------------------------
# BatchNorm by hand


class BatchNorm1d(nn.Module):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta over the batch (and time, for (B, T, C) inputs).

    Training mode normalises with the batch statistics and updates the running ones by exponential moving
    average; eval mode normalises with the running statistics. Parameter and buffer names are torch's."""

    def __init__(self, dim: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(dim))  # gamma
        self.bias = nn.Parameter(torch.zeros(dim))  # beta
        self.register_buffer("running_mean", torch.zeros(dim))
        self.register_buffer("running_var", torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(x.dim() - 1))  # (0,) for (B, C); (0, 1) for (B, T, C) as the WaveNet lecture
        if self.training:
            mean = x.mean(dims)  # (C,)
            var = x.var(dims, unbiased=False)  # (C,)
            with torch.no_grad():
                n = x.numel() // x.size(-1)
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean)
                self.running_var.mul_(1 - m).add_(m * var * n / max(n - 1, 1))  # unbiased, as torch
        else:
            mean, var = self.running_mean, self.running_var
        return self.weight * (x - mean) / torch.sqrt(var + self.eps) + self.bias


# ---------------------------------------------------------------------------------------------------
# The model


def init_linear(layer: nn.Linear, mode: str, gain: float = TANH_GAIN) -> None:
    """Kaiming for tanh (std gain / sqrt(fan_in)), N(0, 1) ("bad"), or leave torch's default."""
    if mode == "torch":
        return
    std = 1.0 if mode == "bad" else gain / math.sqrt(layer.in_features)
    nn.init.normal_(layer.weight, 0.0, std)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


class MLPLM(nn.Module):
    def __init__(self, cfg: MLPConfig):
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.hidden = nn.ModuleList()
        self.norms = nn.ModuleList()
        n_in = cfg.block_size * cfg.n_embd
        for _ in range(cfg.n_layer):
            self.hidden.append(nn.Linear(n_in, cfg.n_hidden, bias=not cfg.batchnorm))  # BN's beta is the bias
            self.norms.append(BatchNorm1d(cfg.n_hidden) if cfg.batchnorm else nn.Identity())
            n_in = cfg.n_hidden
        self.lm_head = nn.Linear(n_in, cfg.vocab_size)
        self.drop = nn.Dropout(cfg.dropout)
        for layer in self.hidden:
            init_linear(layer, cfg.init)
        if cfg.init != "torch":
            nn.init.normal_(self.wte.weight)
            init_linear(self.lm_head, "kaiming", gain=1.0)
            with torch.no_grad():
                self.lm_head.weight.mul_(0.1)  # a near-uniform first prediction
        self.record = False  # diagnostics: keep each layer's tanh output (with its gradient) in self.acts
        self.acts: list[torch.Tensor] = []

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """idx (B, block_size) context ids -> logits (B, V) for the next character; loss when targets (B,)
        are given. A longer idx goes to `forward_all`: a prediction after every full window."""
        B, T = idx.shape
        if T != self.config.block_size:
            return self.forward_all(idx, targets)
        x = self.wte(idx).view(B, -1)  # (B, T * C)
        self.acts = []
        for i, (linear, norm) in enumerate(zip(self.hidden, self.norms, strict=True)):
            h = torch.tanh(norm(linear(x)))  # (B, n_hidden)
            if self.record and h.requires_grad:  # not under no_grad (evaluation)
                h.retain_grad()
                self.acts.append(h)
            h = self.drop(h)
            x = x + h if self.config.residual and i > 0 else h  # around hidden -> hidden layers only
        logits = self.lm_head(x)  # (B, V)
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss

    def forward_all(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """idx (B, T >= block_size) -> logits (B, T - block_size + 1, V): `forward` on every full window;
        targets (B, T - block_size + 1) are the characters after them."""
        if idx.size(1) < self.config.block_size:
            raise ValueError(f"context of {idx.size(1)} characters; the model needs {self.config.block_size}")
        windows = idx.unfold(1, self.config.block_size, 1)  # (B, P, block_size)
        logits, _ = self(windows.flatten(0, 1))  # (B P, V)
        loss = None if targets is None else F.cross_entropy(logits, targets.flatten())
        return logits.view(*windows.shape[:2], -1), loss

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


__all__ = ["TANH_GAIN", "BatchNorm1d", "MLPConfig", "MLPLM", "init_linear"]
