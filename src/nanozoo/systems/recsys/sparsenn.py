"""A DLRM-style ranker, "SparseNN" (Naumov et al. 2019, Deep Learning Recommendation Model; the reference is
facebookresearch/dlrm's `dlrm_s_pytorch.py`): the dense features of a (user, candidate) pair (ranker.FEATURES)
go through a bottom MLP; the sparse ones (the user's id and history, the candidate's id and tags) are
looked up in embedding tables (embeddings.py, so that TorchRec can hold them); every pair of the resulting
vectors interacts by a dot product, and a top MLP reads the bottom MLP's output beside those dot products
to score the pair.

It learns on the ranker's window (ranker.py: a later window than the retriever's) from each user's list of
candidates at once, with a listwise softmax loss (ListNet, Cao et al. 2007: the cross-entropy between the
softmax of a list's scores and its labels spread evenly over its positives), or DLRM's pointwise logistic
loss (`loss="bce"`). Deviations from DLRM: the dense features are standardised (their mean and spread on
the training lists, kept with the weights) instead of log-transformed; mean-pooled bags for the tags and
the history; Adam, a fixed number of epochs chosen on the validation window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nanozoo.systems.recsys.embeddings import Tables
from nanozoo.systems.recsys.ranker import Lists, order


@dataclass
class SparseNNConfig:
    n_embd: int = 16
    hidden: int = 64
    loss: str = "softmax"  # "softmax" (listwise) or "bce" (pointwise, as DLRM)
    user_id: bool = False  # the user's id embedding among the sparse features (off: its padding row)
    epochs: int = 8  # these four: tuned on the validation window (benchmarks/RESULTS.md)
    lr: float = 1e-3
    weight_decay: float = 0.1
    batch_users: int = 32
    seed: int = 0

    def __post_init__(self):
        if self.loss not in ("softmax", "bce"):
            raise ValueError(f"loss={self.loss!r}; allowed: 'softmax', 'bce'")


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])  # no ReLU after the last layer


def interact(dense: torch.Tensor, sparse: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """DLRM's feature interaction: (B, C) dense and (B, S, C) sparse vectors -> (B, C + P), the dense vector
    and the dot product of every pair (i < j, `pairs` = triu_indices(S + 1, S + 1, 1)) of the S + 1 vectors
    (equal to TorchRec's `InteractionArch`, tested)."""
    ### BEGIN SOLUTION
    V = torch.cat([dense.unsqueeze(1), sparse], 1)  # (B, S + 1, C)
    Z = V @ V.transpose(1, 2)  # (B, S + 1, S + 1) every pair's dot product
    return torch.cat([dense, Z[:, pairs[0], pairs[1]]], 1)  # (B, C + P) the pairs i < j, once each
    ### END SOLUTION


class SparseNN(nn.Module):
    """Scores (B, K) candidate lists: users (B,), cands (B, K), dense X (B, K, F), histories (B, L)."""

    SPARSE = ("user_id", "history", "item_id", "item_tags")

    def __init__(self, cfg: SparseNNConfig, n_dense: int, n_users: int, n_items: int, item_tags: torch.Tensor,
                 n_tags: int):  # fmt: skip
        super().__init__()
        self.cfg, self.n_users, self.n_items = cfg, n_users, n_items
        C = cfg.n_embd
        sizes = {"user_id": n_users, "history": n_items, "item_id": n_items, "item_tags": n_tags}
        self.tables = Tables(sizes, C)
        self.bottom = _mlp([n_dense, cfg.hidden, C])
        n_vec = 1 + len(self.SPARSE)
        self.register_buffer("pairs", torch.triu_indices(n_vec, n_vec, offset=1))  # (2, P) i < j
        self.top = _mlp([C + self.pairs.shape[1], cfg.hidden, cfg.hidden // 2, 1])
        self.register_buffer("item_tags", item_tags.clone())  # (N, T) padded with n_tags
        self.register_buffer("mean", torch.zeros(n_dense))
        self.register_buffer("std", torch.ones(n_dense))

    def forward(self, users: torch.Tensor, cands: torch.Tensor, X: torch.Tensor, hist: torch.Tensor):
        B, K, _ = X.shape
        item = torch.where(cands >= 0, cands, self.n_items).reshape(B * K)  # no candidate: the padding id
        user = users if self.cfg.user_id else torch.full_like(users, self.n_users)
        # one lookup of every table, a row a pair (the user's bags repeated over their K candidates)
        e = self.tables({
            "user_id": user.repeat_interleave(K)[:, None],
            "history": hist.repeat_interleave(K, 0),
            "item_id": item[:, None],
            "item_tags": self.item_tags[torch.where(item < self.n_items, item, 0)],
        })  # fmt: skip
        dense = self.bottom(((X - self.mean) / self.std).reshape(B * K, -1))  # (BK, C)
        sparse = torch.stack([e[f] for f in self.SPARSE], 1)  # (BK, 4, C)
        return self.top(interact(dense, sparse, self.pairs)).reshape(B, K)


def list_loss(scores: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor, kind: str) -> torch.Tensor:
    """The loss of (B, K) lists: "softmax" (ListNet with even targets over each list's positives) or
    "bce"; `valid` (B, K) masks the missing candidates."""
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(scores[valid], labels[valid])
    logp = torch.log_softmax(scores.masked_fill(~valid, float("-inf")), 1)  # (B, K)
    target = labels / labels.sum(1, keepdim=True)
    return -(target * logp.masked_fill(~valid, 0.0)).sum(1).mean()


class SparseNNRanker:
    """fit / scores / rerank over `ranker.Lists`, as `ranker.LambdaMART`."""

    def __init__(self, cfg: SparseNNConfig, n_users: int, n_items: int, item_tags: torch.Tensor, n_tags: int):
        self.cfg, self.sizes = cfg, (n_users, n_items, item_tags, n_tags)

    def fit(self, lists: Lists, labels: np.ndarray) -> SparseNNRanker:
        """labels (U, K) 0/1; a user without a positive candidate teaches nothing: dropped."""
        cfg = self.cfg
        torch.manual_seed(cfg.seed)
        n_users, n_items, item_tags, n_tags = self.sizes
        self.model = m = SparseNN(cfg, lists.X.shape[-1], n_users, n_items, item_tags, n_tags)
        keep = np.flatnonzero(labels.any(1))
        lists, y = lists.take(keep), torch.as_tensor(labels[keep])
        valid = torch.as_tensor(lists.cands >= 0)
        X = torch.as_tensor(lists.X)
        m.mean.copy_(X[valid].mean(0))
        m.std.copy_(X[valid].std(0).clamp(min=1e-6))
        opt = torch.optim.AdamW(m.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        users, cands = torch.as_tensor(lists.users), torch.as_tensor(lists.cands)
        gen = torch.Generator().manual_seed(cfg.seed)
        m.train()
        for _ in range(cfg.epochs):
            for b in torch.randperm(len(keep), generator=gen).split(cfg.batch_users):
                loss = list_loss(m(users[b], cands[b], X[b], lists.hist[b]), y[b], valid[b], cfg.loss)
                opt.zero_grad()
                loss.backward()
                opt.step()
        m.eval()
        return self

    @torch.no_grad()
    def scores(self, lists: Lists, batch: int = 64) -> np.ndarray:
        users, cands, X = (torch.as_tensor(a) for a in (lists.users, lists.cands, lists.X))
        parts = (slice(i, i + batch) for i in range(0, len(users), batch))
        return torch.cat([self.model(users[p], cands[p], X[p], lists.hist[p]) for p in parts]).numpy()

    def rerank(self, lists: Lists) -> np.ndarray:
        return order(lists.cands, self.scores(lists))
