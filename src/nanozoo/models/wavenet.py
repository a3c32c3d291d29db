"""WaveNet-style hierarchical MLP: characters fused two by two, like a dilated causal convolution tree.

van den Oord et al. 2016, "WaveNet: A Generative Model for Raw Audio"; reference: "Zero to Hero" makemore
part 5 (karpathy/nn-zero-to-hero, `makemore_part5_cnn1.ipynb`). A context of `block_size = 2^n_layer`
characters is embedded, then each level concatenates neighbouring pairs (`FlattenConsecutive(2)`) and mixes
them with Linear -> BatchNorm -> tanh, halving the time axis, until one vector is left for the output layer.
BatchNorm is ours (`mlp_lm.BatchNorm1d`), which over a (B, T, C) input normalises across batch and time as the
lecture's fixed version does. Default sizes are the lecture's: 24-dim embeddings, 128 hidden, 76,579 params.

`residual=True` swaps each level for a pre-LayerNorm residual block, as in a transformer with the attention
replaced by the fixed pair fusion: h <- h[later] + GELU(W [LN(h)[earlier], LN(h)[later]]), then
h <- h + MLP(LN(h)) (He et al. 2016 residuals; Ba et al. 2016 LayerNorm; the WaveNet paper's blocks are
residual too). It trains deeper and wider trees without the BatchNorm/tanh saturation games, and with
`dropout` it is what reaches 55% next-character accuracy on Tiny Shakespeare (experiments/next_char.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nanozoo.models.mlp_lm import BatchNorm1d, init_linear


@dataclass
class WaveNetConfig:
    vocab_size: int = 27
    block_size: int = 8
    n_embd: int = 24
    n_hidden: int = 128
    residual: bool = False  # pre-LayerNorm residual blocks instead of Linear -> BatchNorm -> tanh
    dropout: float = 0.0  # residual blocks only: on each block's outputs

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_embd", "n_hidden"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name}={getattr(self, name)} must be >= 1")
        if self.block_size < 2 or self.block_size & (self.block_size - 1):
            raise ValueError(f"model.block_size={self.block_size} must be a power of two >= 2 (pairs fuse)")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"model.dropout={self.dropout} must be in [0, 1)")
        if self.dropout and not self.residual:
            raise ValueError("model.dropout needs residual blocks: set model.residual=true or dropout=0")

    @property
    def n_layer(self) -> int:
        return int(math.log2(self.block_size))


# ---------------------------------------------------------------------------------------------------
# Blocks


class FlattenConsecutive(nn.Module):
    """(B, T, C) -> (B, T / n, n C): concatenates each group of n neighbours; drops a time axis of 1."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        x = x.view(B, T // self.n, C * self.n)  # (B, T / n, n C)
        return x.squeeze(1) if x.size(1) == 1 else x


class FuseLayer(nn.Module):
    """One level of the tree: fuse pairs, Linear (no bias: BatchNorm has one), BatchNorm, tanh."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.flatten = FlattenConsecutive(2)
        self.linear = nn.Linear(2 * n_in, n_out, bias=False)
        self.norm = BatchNorm1d(n_out)
        init_linear(self.linear, "kaiming")  # (5/3) / sqrt(fan_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mix(self.flatten(x))

    def dilated(self, x: torch.Tensor, d: int) -> torch.Tensor:
        """The same fusion at every position t of (B, T, C): x[t - d] with x[t] -> (B, T - d, H).

        A dilated causal convolution of kernel 2 with no padding: tree level i is this with d = 2^i."""
        return self.mix(torch.cat([x[:, :-d], x[:, d:]], dim=-1))

    def mix(self, pairs: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.norm(self.linear(pairs)))


class ResidualFuse(nn.Module):
    """A pre-LayerNorm residual block of width H: fuse pairs into the later position, then an MLP."""

    def __init__(self, n: int, dropout: float):
        super().__init__()
        self.ln_fuse, self.fuse = nn.LayerNorm(n), nn.Linear(2 * n, n)
        self.ln_mlp, self.up, self.down = nn.LayerNorm(n), nn.Linear(n, 2 * n), nn.Linear(2 * n, n)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, H) -> (B, T / 2, H), the tree's level; drops a time axis of 1 as FlattenConsecutive."""
        y = self.pairs(x[:, 0::2], x[:, 1::2])
        return y.squeeze(1) if y.size(1) == 1 else y

    def dilated(self, x: torch.Tensor, d: int) -> torch.Tensor:
        return self.pairs(x[:, :-d], x[:, d:])

    def pairs(self, earlier: torch.Tensor, later: torch.Tensor) -> torch.Tensor:
        h = later + self.drop(F.gelu(self.fuse(torch.cat([self.ln_fuse(earlier), self.ln_fuse(later)], -1))))
        return h + self.drop(self.down(F.gelu(self.up(self.ln_mlp(h)))))


# ---------------------------------------------------------------------------------------------------
# The model


class WaveNet(nn.Module):
    def __init__(self, cfg: WaveNetConfig):
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        if cfg.residual:  # the blocks keep one width: project the embeddings up to it
            self.proj = nn.Linear(cfg.n_embd, cfg.n_hidden)
            self.layers = nn.ModuleList(ResidualFuse(cfg.n_hidden, cfg.dropout) for _ in range(cfg.n_layer))
            self.ln_f = nn.LayerNorm(cfg.n_hidden)
        else:
            sizes = [cfg.n_embd] + [cfg.n_hidden] * cfg.n_layer
            self.layers = nn.ModuleList(FuseLayer(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        self.lm_head = nn.Linear(cfg.n_hidden, cfg.vocab_size)
        with torch.no_grad():
            self.lm_head.weight.mul_(0.1)  # a near-uniform first prediction (the lecture's last-layer fix)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """idx (B, T) the last block_size characters -> logits (B, V); loss when targets (B,) are given.
        A longer idx goes to `forward_all`: a prediction after every full window."""
        B, T = idx.shape
        if T != self.config.block_size:
            return self.forward_all(idx, targets)
        x = self.embed(idx)  # (B, T, C)
        for layer in self.layers:
            x = layer(x)  # (B, T / 2, H) ... (B, H) at the top
        logits = self.lm_head(self.final(x))  # (B, V)
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss

    def forward_all(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """idx (B, T >= block_size) -> logits (B, T - block_size + 1, V): after every full window of idx;
        targets (B, T - block_size + 1) are the characters after them.

        Output j is exactly `forward` on idx[:, j : j + block_size] (in eval mode; in training BatchNorm sees
        every window's statistics), but each level is computed once for all windows as a dilated causal
        convolution, as the lecture suggests: one text window of T characters trains T - block_size + 1
        predictions for little more than the cost of one."""
        if idx.size(1) < self.config.block_size:
            raise ValueError(f"context of {idx.size(1)} characters; the model needs {self.config.block_size}")
        x = self.embed(idx)  # (B, T, C)
        for i, layer in enumerate(self.layers):
            x = layer.dilated(x, 2**i)  # (B, T - (2^(i+1) - 1), H)
        logits = self.lm_head(self.final(x))  # (B, T - block_size + 1, V)
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return logits, loss

    def embed(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.wte(idx)
        return self.proj(x) if self.config.residual else x

    def final(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln_f(x) if self.config.residual else x

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


__all__ = ["FlattenConsecutive", "ResidualFuse", "WaveNet", "WaveNetConfig"]
