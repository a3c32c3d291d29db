"""Recurrent language models: RNN, GRU and LSTM cells written from scratch, unrolled over characters.

Elman 1990 (RNN); Cho et al. 2014 (GRU); Hochreiter & Schmidhuber 1997 (LSTM, with the forget gate of
Gers et al. 2000). Reference: karpathy/makemore `makemore.py` (its `RNN` model: a learned start state, a cell
unrolled over the padded sequence, a linear head). Our cells use PyTorch's equations, parameter names and
gate order (`weight_ih` rows: r, z, n for the GRU; i, f, g, o for the LSTM), so `nn.RNNCell`, `nn.GRUCell`
and `nn.LSTMCell` load our state dicts and tests compare outputs within 1e-6; makemore's own GRU puts the
reset gate on `h` before the matmul, a slightly different cell. No `nn.RNN/GRU/LSTM` is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class RNNConfig:
    vocab_size: int = 27
    block_size: int = 16  # longest sequence: the longest name + 1
    n_embd: int = 64  # input embedding
    n_embd2: int = 64  # hidden state
    cell: Literal["rnn", "gru", "lstm"] = "rnn"

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_embd", "n_embd2"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name}={getattr(self, name)} must be >= 1")
        if self.cell not in ("rnn", "gru", "lstm"):
            raise ValueError(f"model.cell={self.cell!r} must be one of rnn, gru, lstm")


# ---------------------------------------------------------------------------------------------------
# Cells


class _Cell(nn.Module):
    """Holds W_ih (G H, I), W_hh (G H, H), b_ih, b_hh for G gates; torch's uniform(+-1/sqrt(H)) init."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        G, H = self.gates, hidden_size
        self.hidden_size = H
        self.weight_ih = nn.Parameter(torch.empty(G * H, input_size))
        self.weight_hh = nn.Parameter(torch.empty(G * H, H))
        self.bias_ih = nn.Parameter(torch.empty(G * H))
        self.bias_hh = nn.Parameter(torch.empty(G * H))
        bound = 1 / math.sqrt(H)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def projections(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x @ self.weight_ih.T + self.bias_ih, h @ self.weight_hh.T + self.bias_hh  # 2 x (B, G H)


class RNNCell(_Cell):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh)."""

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        gi, gh = self.projections(x, h)
        return torch.tanh(gi + gh)


class GRUCell(_Cell):
    """r = s(W_ir x + W_hr h), z = s(W_iz x + W_hz h), n = tanh(W_in x + r (W_hn h + b_hn)),
    h' = (1 - z) n + z h (biases b_i* and b_h* added inside each term, as torch)."""

    gates = 3

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        gi, gh = self.projections(x, h)
        i_r, i_z, i_n = gi.chunk(3, dim=1)  # 3 x (B, H)
        h_r, h_z, h_n = gh.chunk(3, dim=1)  # 3 x (B, H)
        r = torch.sigmoid(i_r + h_r)
        z = torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        return (1 - z) * n + z * h


class LSTMCell(_Cell):
    """i, f, o = s(.), g = tanh(.) of W_i* x + W_h* h; c' = f c + i g; h' = o tanh(c'). State is (h, c)."""

    gates = 4

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = state
        gi, gh = self.projections(x, h)
        i, f, g, o = (gi + gh).chunk(4, dim=1)  # 4 x (B, H)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


CELLS = {"rnn": RNNCell, "gru": GRUCell, "lstm": LSTMCell}


# ---------------------------------------------------------------------------------------------------
# The model


class RNNLM(nn.Module):
    def __init__(self, cfg: RNNConfig):
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.start = nn.Parameter(torch.zeros(1, cfg.n_embd2))  # the learned initial hidden state
        if cfg.cell == "lstm":
            self.start_c = nn.Parameter(torch.zeros(1, cfg.n_embd2))
        self.cell = CELLS[cfg.cell](cfg.n_embd, cfg.n_embd2)
        self.lm_head = nn.Linear(cfg.n_embd2, cfg.vocab_size)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """idx (B, T) -> logits (B, T, V); mean cross-entropy over non-padding targets (-1 ignored)."""
        B, T = idx.shape
        emb = self.wte(idx)  # (B, T, C)
        h = self.start.expand(B, -1)  # (B, H)
        state = (h, self.start_c.expand(B, -1)) if self.config.cell == "lstm" else h
        hiddens = []
        for t in range(T):
            state = self.cell(emb[:, t, :], state)
            hiddens.append(state[0] if isinstance(state, tuple) else state)
        logits = self.lm_head(torch.stack(hiddens, dim=1))  # (B, T, H) -> (B, T, V)
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.view(B * T, -1), targets.reshape(B * T), ignore_index=-1)


__all__ = ["CELLS", "GRUCell", "LSTMCell", "RNNCell", "RNNConfig", "RNNLM"]
