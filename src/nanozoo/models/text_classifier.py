"""A sentence classifier: word embeddings read by our LSTM cell, the last state of each sentence scored.

Hochreiter & Schmidhuber 1997 (LSTM); the sentiment set-up of Tai, Socher & Manning 2015 ("Improved
Semantic Representations From Tree-Structured LSTMs", their sequential LSTM baseline): embed the words,
run an LSTM over them, and classify the hidden state after the last word. The cell is `LSTMCell` of
models/rnn.py (tested equal to `nn.LSTMCell` there), unrolled here over a padded batch: a sentence's
state stops changing after its last word (the update is masked), so padding never reaches the classifier.
No pretrained vectors: the embeddings are learnt from the training sentences (Kim 2014 reports 81.5% on MR
with word2vec's; from scratch, expect a few points less).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nanozoo.models.rnn import LSTMCell


@dataclass
class TextClassifierConfig:
    vocab_size: int = 20000  # ids 0 (padding) and 1 (unknown word) included
    n_embd: int = 128
    n_hidden: int = 128
    n_classes: int = 2
    dropout: float = 0.5  # on the embeddings and on the last state

    def __post_init__(self):
        for name in ("vocab_size", "n_embd", "n_hidden", "n_classes"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name}={getattr(self, name)} must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"model.dropout={self.dropout} must be in [0, 1)")


class LSTMClassifier(nn.Module):
    PAD = 0

    def __init__(self, cfg: TextClassifierConfig):
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd, padding_idx=self.PAD)
        self.cell = LSTMCell(cfg.n_embd, cfg.n_hidden)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.n_hidden, cfg.n_classes)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """idx (B, T) word ids, 0-padded on the right -> logits (B, K); with targets (B,), the loss."""
        B, T = idx.shape
        emb = self.drop(self.wte(idx))  # (B, T, C)
        mask = (idx != self.PAD).unsqueeze(-1)  # (B, T, 1)
        h = emb.new_zeros(B, self.config.n_hidden)  # (B, H)
        c = torch.zeros_like(h)
        for t in range(T):
            h2, c2 = self.cell(emb[:, t], (h, c))
            h, c = torch.where(mask[:, t], h2, h), torch.where(mask[:, t], c2, c)  # past the end: kept
        logits = self.head(self.drop(h))  # (B, K)
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits, targets)


__all__ = ["LSTMClassifier", "TextClassifierConfig"]
