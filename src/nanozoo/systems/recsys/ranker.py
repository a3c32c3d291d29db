"""The ranking stage: the candidates of two retrievers, the features of each (user, candidate) pair, and
LightGBM's LambdaMART (Burges 2010) re-ordering them; the DLRM-style SparseNN is in sparsenn.py.

Candidates: the two-tower's and item-kNN's lists interleaved (first of each, second of each, ...), repeats
dropped, cut at K: two sources, as production systems merge several (measured: on the test split the
union's recall@200 is 0.418, the two-tower's alone 0.359; benchmarks/RESULTS.md).

No leakage (tests/systems/recsys/test_recsys_ranker.py): a ranker learns on a later window than the
retriever. The retriever and the feature models (`Stage`) see each user's interactions up to their window
(`past`), the candidates are retrieved from them, and the labels are the interactions of the window that
none of them trained on. At test time the same features are computed from everything before the test split
and the labels are the test interactions. Each user's "now" is the time of their last interaction in
`past`; what is counted over other users (popularity, an item's age) counts only what happened by then.
NOTE: the split is per user (data.py), so a model fitted on `past` (two-tower, item-kNN, ALS) has seen other
users' interactions later than a given user's now, as every baseline of the table has: the protocol's
shared optimism, not the ranker's alone. Features of a pair (`FEATURES`, in this order):

1. the two-tower's score; the candidate's place in the merged list; whether each source retrieved it;
2. item-kNN's score (cosine co-occurrence with the user's items) and ALS's, fitted on the same past; and
   each score's rank among the user's candidates (0 best, 1 worst): the models of the ranker's window see
   less data than those at test time, so raw scores shift in scale between the two, ranks do not;
   item-kNN's score from the user's last `RECENT` items only (users act in bursts of related items), and
   the candidate's largest similarity to any one of the user's items;
3. the item's popularity by the user's now: log(1 + distinct users) ever, over the last 365 and 30 days;
   log(1 + its age in days), from its first interaction in `past` (0 if none by then);
4. the user's affinity for the item's tags: the mean, over its tags, of the share of the user's items
   carrying that tag; the user's history length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nanozoo.systems.recsys import baselines as B
from nanozoo.systems.recsys.data import Interactions, Items
from nanozoo.systems.recsys.two_tower import TwoTower, item_features, pad, retrieve, user_vectors_of

FEATURES = [
    "two_tower",
    "two_tower_rank",
    "place",
    "from_two_tower",
    "from_item_knn",
    "item_knn",
    "item_knn_rank",
    "item_knn_recent",
    "item_knn_max",
    "als",
    "als_rank",
    "log_pop",
    "log_pop_365d",
    "log_pop_30d",
    "log_age_days",
    "tag_affinity",
    "log_history",
]
DAY = 86_400
RECENT = 5


def interleave(a: np.ndarray, b: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(U, k) a's and b's rows interleaved (a0 b0 a1 b1 ...), repeats dropped, cut at k, -1 where they
    run out; and (U, k, 2) bool: is the candidate in a's row, in b's row."""
    out = np.full((len(a), k), -1, dtype=np.int64)
    for r, pair in enumerate(np.stack([a, b], -1).reshape(len(a), -1)):
        _, first = np.unique(pair, return_index=True)
        merged = pair[np.sort(first)]  # each item at its first place
        merged = merged[merged >= 0][:k]
        out[r, : len(merged)] = merged
    src = np.stack([[np.isin(o, x) for o, x in zip(out, src, strict=True)] for src in (a, b)], -1)
    return out, src & (out >= 0)[..., None]


def ranks(scores: np.ndarray) -> np.ndarray:
    """(U, K) each score's rank within its row, 0 for the best to 1 for the worst."""
    order = np.argsort(-scores, axis=1, kind="stable")
    r = np.empty_like(order)
    np.put_along_axis(r, order, np.arange(scores.shape[1])[None, :].repeat(len(scores), 0), 1)
    return r / max(scores.shape[1] - 1, 1)


def popularity_asof(past: Interactions, items: np.ndarray, now: np.ndarray, days: float | None = None):
    """(U, K) how many distinct users of `past` first interacted with items[u, k] at a time in
    (now[u] - days, now[u]] (ever by now[u] when `days` is None): the counts a system had at that moment."""
    pairs = past.user * past.n_items + past.item
    _, first = np.unique(pairs, return_index=True)  # each (user, item) pair at its first interaction
    item, t = past.item[first], past.time[first]
    if not len(t):
        return np.zeros(items.shape)
    t0, span = t.min(), int(t.max() - t.min()) + 2
    keys = np.sort(item * span + (t - t0))  # by item, then time; `span` keeps the items apart

    def count_to(when: np.ndarray) -> np.ndarray:  # entries with key <= items*span + (when - t0)
        off = np.clip(when - t0, -1, span - 2)[:, None]
        return np.searchsorted(keys, items * span + off, side="right")

    lo = count_to(now - days * DAY) if days is not None else count_to(np.full_like(now, t0 - 1))
    return count_to(now) - lo


def first_seen(past: Interactions) -> np.ndarray:
    """(N,) each item's first interaction time in `past` (int64 max where it has none)."""
    out = np.full(past.n_items, np.iinfo(np.int64).max)
    np.minimum.at(out, past.item, past.time)
    return out


@dataclass
class Lists:
    """Candidate lists, one a user, and what the rankers read of them."""

    users: np.ndarray  # (U,) dense user ids
    cands: np.ndarray  # (U, K) item ids, -1 where the sources ran out
    X: np.ndarray  # (U, K, F) float32, F = len(FEATURES)
    hist: torch.Tensor  # (U, L) each user's last items in `past`, padded with n_items (SparseNN)

    def take(self, rows: np.ndarray) -> Lists:
        return Lists(self.users[rows], self.cands[rows], self.X[rows], self.hist[torch.as_tensor(rows)])


@dataclass
class Stage:
    """What a ranker's inputs are computed from: the two-tower, item-kNN and ALS, each fitted on `past`
    (the retriever's training data for the ranker's window, everything before the test split at test)."""

    model: TwoTower
    past: Interactions
    items: Items
    knn: B.ItemKNN
    als: B.ALS

    @classmethod
    def fit(cls, model: TwoTower, past: Interactions, items: Items, seed: int = 0) -> Stage:
        return cls(model, past, items, B.ItemKNN().fit(past), B.ALS(seed=seed).fit(past))

    def lists(self, users: np.ndarray, k: int) -> Lists:
        """The top-k candidates of `users` (two-tower and item-kNN interleaved) and their features."""
        a = retrieve(self.model, self.past, users, k)
        cands, src = interleave(a, B.recommend(self.knn, self.past, users, k), k)
        per = self.past.by_user()
        hist = pad([per[u].tolist() for u in users], self.model.cfg.history, self.model.cfg.n_items)
        return Lists(users, cands, self.features(users, cands, src), hist)

    def features(self, users: np.ndarray, cands: np.ndarray, src: np.ndarray) -> np.ndarray:
        """X (U, K, F) of the (U, K) candidates of `users` whose sources are `src` (U, K, 2)."""
        safe = np.maximum(cands, 0)  # -1 (ran out of items) scores as item 0; the rankers mask it
        with torch.no_grad():
            v = self.model.all_item_vectors().numpy()
        tt = np.einsum("uc,ukc->uk", user_vectors_of(self.model, self.past, users), v[safe])
        per = self.past.by_user()
        knn = np.take_along_axis(self.knn.scores(users), safe, 1)
        knn_recent, knn_max = self._knn_detail(users, safe, per)
        als = np.take_along_axis(self.als.scores(users), safe, 1)
        now = np.full(len(users), np.iinfo(np.int64).min // 2)  # each user's last moment in `past`
        has = np.isin(users, self.past.user)
        last = np.full(self.past.n_users, now[0])
        np.maximum.at(last, self.past.user, self.past.time)
        now[has] = last[users[has]]
        born = first_seen(self.past)[safe]
        age = np.where(born <= now[:, None], (now[:, None] - np.minimum(born, now[:, None])) / DAY, 0.0)
        X = np.stack(
            [
                tt,
                ranks(tt),
                np.broadcast_to(np.arange(cands.shape[1]), cands.shape),
                src[..., 0],
                src[..., 1],
                knn,
                ranks(knn),
                knn_recent,
                knn_max,
                als,
                ranks(als),
                np.log1p(popularity_asof(self.past, safe, now)),
                np.log1p(popularity_asof(self.past, safe, now, 365)),
                np.log1p(popularity_asof(self.past, safe, now, 30)),
                np.log1p(age),
                self._tag_affinity(users, safe, per),
                np.broadcast_to(np.log1p([len(per[u]) for u in users])[:, None], cands.shape),
            ],
            -1,
        )
        return X.astype(np.float32)

    def _knn_detail(self, users: np.ndarray, safe: np.ndarray, per: list[np.ndarray]):
        """(U, K) item-kNN's score from each user's last RECENT items, and (U, K) the candidate's largest
        similarity to one of the user's items."""
        recent, most = np.zeros(safe.shape), np.zeros(safe.shape)
        sim = self.knn.sim  # (N, N) CSR, row i: item i's neighbours
        for r, u in enumerate(users):
            if len(per[u]):
                recent[r] = np.asarray(sim[per[u][-RECENT:]].sum(0)).ravel()[safe[r]]
                most[r] = sim[per[u]][:, safe[r]].max(0).toarray().ravel()
        return recent, most

    def _tag_affinity(self, users: np.ndarray, safe: np.ndarray, per: list[np.ndarray]) -> np.ndarray:
        """(U, K) over the candidate's tags, the mean share of the user's items carrying each tag."""
        _, _, tags, _ = item_features(self.items)
        G = 1 + max((t for row in tags for t in row), default=0)
        T = np.zeros((len(self.items), G))  # (N, G) item-tag incidence
        for i, row in enumerate(tags):
            T[i, row] = 1.0
        P = np.stack([T[per[u]].mean(0) if len(per[u]) else np.zeros(G) for u in users])  # (U, G)
        return np.einsum("ug,ukg->uk", P, T[safe]) / np.maximum(T[safe].sum(-1), 1)


def labels_of(cands: np.ndarray, users: np.ndarray, later: Interactions) -> np.ndarray:
    """(U, K) 1 where the candidate is among the user's interactions in the `later` window."""
    per = later.by_user()
    return np.stack([np.isin(row, per[u]) for row, u in zip(cands, users, strict=True)]).astype(np.float32)


def order(cands: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """(U, K) the candidates sorted by score, best first; a -1 (no candidate) last."""
    s = np.where(cands >= 0, scores, -np.inf)
    return np.take_along_axis(cands, np.argsort(-s, axis=1, kind="stable"), 1)


# ---------------------------------------------------------------------------------------------------
# LambdaMART


@dataclass
class LambdaMART:
    """LightGBM's `lambdarank` objective over each user's candidate list (one query per user).
    Hyper-parameters tuned on the validation window (RESULTS.md: `nanozoo recsys tune`)."""

    n_estimators: int = 100
    learning_rate: float = 0.05
    num_leaves: int = 7
    min_child_samples: int = 50
    seed: int = 0

    def fit(self, lists: Lists, labels: np.ndarray) -> LambdaMART:
        """labels (U, K) 0/1; a user without a positive candidate teaches nothing: dropped."""
        from lightgbm import LGBMRanker

        keep = labels.any(1)
        U, K, F = lists.X[keep].shape
        self.model = LGBMRanker(
            objective="lambdarank", n_estimators=self.n_estimators, learning_rate=self.learning_rate,
            num_leaves=self.num_leaves, min_child_samples=self.min_child_samples, random_state=self.seed,
            n_jobs=1, verbose=-1,
        )  # fmt: skip
        self.model.fit(lists.X[keep].reshape(U * K, F), labels[keep].reshape(-1), group=[K] * U)
        return self

    def scores(self, lists: Lists) -> np.ndarray:
        U, K, F = lists.X.shape
        return self.model.predict(lists.X.reshape(U * K, F)).reshape(U, K)

    def rerank(self, lists: Lists) -> np.ndarray:
        """(U, K) the candidates re-ordered by the ranker's score, best first."""
        return order(lists.cands, self.scores(lists))
