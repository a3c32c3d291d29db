"""A sentence classifier: word embeddings read by our LSTM cell, its states pooled into one vector, scored.

Hochreiter & Schmidhuber 1997 (LSTM); the sentiment set-up of Tai, Socher & Manning 2015 ("Improved
Semantic Representations From Tree-Structured LSTMs", their sequential LSTM baseline): embed the words,
run an LSTM over them, and classify the hidden state after the last word (`pool="last"`). sentiment-lstm
pools as InferSent does (Conneau et al. 2017, "Supervised Learning of Universal Sentence Representations
from Natural Language Inference Data", BiLSTM-max): the element-wise max of the hidden states over the
sentence's words, from a forward and a backward LSTM (`bidirectional`), concatenated. The cell is `LSTMCell`
of models/rnn.py (tested equal to `nn.LSTMCell` there), unrolled here over a padded batch: a sentence's
state stops changing after its last word (the update is masked) and its padding never enters the max, so
padding never reaches the classifier; tests/models/test_text_classifier.py checks every pooling against
`nn.LSTM` (bidirectional too) on each unpadded sentence.
No pretrained vectors: the embeddings are learnt from the training sentences (Kim 2014 reports 81.5% on MR
with word2vec's; from scratch, expect a few points less).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from nanozoo.models.rnn import LSTMCell


@dataclass
class TextClassifierConfig:
    vocab_size: int = 20000  # ids 0 (padding) and 1 (unknown word) included
    n_embd: int = 128
    n_hidden: int = 128  # per direction
    n_classes: int = 2
    dropout: float = 0.5  # on the embeddings and on the pooled state
    # the states over the words -> one vector per direction (the defaults: Tai et al.'s; sentiment-lstm's
    # config asks for InferSent's max and both directions)
    pool: Literal["last", "max", "mean"] = "last"
    bidirectional: bool = False  # a second LSTM reads each sentence from its last word back

    def __post_init__(self):
        for name in ("vocab_size", "n_embd", "n_hidden", "n_classes"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name}={getattr(self, name)} must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"model.dropout={self.dropout} must be in [0, 1)")
        if self.pool not in ("last", "max", "mean"):
            raise ValueError(f"model.pool={self.pool!r} must be one of last, max, mean")


def reverse_padded(idx: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each row's first lengths[b] ids in reverse order, its padding left where it was: (B, T) -> (B, T)."""
    T = idx.shape[1]
    pos = torch.arange(T, device=idx.device)
    src = torch.where(pos < lengths[:, None], lengths[:, None] - 1 - pos, pos)  # (B, T)
    return idx.gather(1, src)


class LSTMClassifier(nn.Module):
    PAD = 0

    def __init__(self, cfg: TextClassifierConfig):
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd, padding_idx=self.PAD)
        self.cell = LSTMCell(cfg.n_embd, cfg.n_hidden)
        self.cell_reverse = LSTMCell(cfg.n_embd, cfg.n_hidden) if cfg.bidirectional else None
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.n_hidden * (2 if cfg.bidirectional else 1), cfg.n_classes)

    def encode(self, cell: LSTMCell, idx: torch.Tensor) -> torch.Tensor:
        """One direction: idx (B, T), right-padded -> the pooled state (B, H)."""
        B, T = idx.shape
        emb = self.drop(self.wte(idx))  # (B, T, C)
        mask = (idx != self.PAD).unsqueeze(-1)  # (B, T, 1)
        h = emb.new_zeros(B, self.config.n_hidden)  # (B, H)
        c = torch.zeros_like(h)
        states = []
        for t in range(T):
            h2, c2 = cell(emb[:, t], (h, c))
            h, c = torch.where(mask[:, t], h2, h), torch.where(mask[:, t], c2, c)  # past the end: kept
            states.append(h)
        if self.config.pool == "last":
            return h
        hs = torch.stack(states, dim=1)  # (B, T, H)
        if self.config.pool == "max":
            return hs.masked_fill(~mask, float("-inf")).amax(1).clamp_min(-1.0)  # an empty row: -1
        return (hs * mask).sum(1) / mask.sum(1).clamp_min(1)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """idx (B, T) word ids, 0-padded on the right -> logits (B, K); with targets (B,), the loss."""
        x = self.encode(self.cell, idx)  # (B, H)
        if self.cell_reverse is not None:
            back = reverse_padded(idx, (idx != self.PAD).sum(1))
            x = torch.cat([x, self.encode(self.cell_reverse, back)], dim=1)  # (B, 2 H)
        logits = self.head(self.drop(x))  # (B, K)
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits, targets)


__all__ = ["LSTMClassifier", "TextClassifierConfig", "reverse_padded"]
