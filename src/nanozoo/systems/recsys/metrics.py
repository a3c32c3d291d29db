"""Offline top-k metrics: Recall@k, NDCG@k, MAP@k (MAP@12 is the H&M competition's), MRR, coverage, novelty.

Every function takes `recs`, a (U, K) array of item indices, each row one user's ranked list (best first,
no repeats), and `truth`, U arrays of the items that user went on to interact with (the relevant set, binary
relevance). A user with an empty truth has nothing to find and must be left out by the caller (`evaluate`
does). Each figure is the mean over users of a per-user score:

- Recall@k = |top-k ∩ T| / |T| (RecBole's definition; some papers divide by min(|T|, k)).
- NDCG@k = DCG@k / IDCG@k with DCG@k = Σ_{r<k} rel_r / log2(r + 2) (rank r from 0) and IDCG@k the DCG of a
  list with all of T first (Järvelin & Kekäläinen 2002, binary gains).
- AP@k = Σ_{r<k} P@(r+1) rel_r / min(|T|, k): Kaggle's `apk` (ml_metrics), the H&M metric at k = 12.
- MRR@k = 1 / (rank of the first hit + 1), 0 without a hit in the top k.
- coverage@k = the fraction of the catalogue that appears in some user's top k (Ge et al. 2010).
- the margin between two systems: the mean per-user difference and its paired bootstrap interval.
- novelty@k = the mean self-information -log2 p(i) of recommended items, p(i) the fraction of training
  users who interacted with i (Zhou et al. 2010); an item nobody trained on counts as one user's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def hits(recs: np.ndarray, truth: Sequence[np.ndarray]) -> np.ndarray:
    """(U, K) bool: is recs[u, r] in truth[u]."""
    if len(recs) != len(truth):
        raise ValueError(f"{len(recs)} rows of recommendations for {len(truth)} users")
    return np.stack([np.isin(row, t) for row, t in zip(recs, truth, strict=True)]) if len(recs) else (
        np.zeros(recs.shape, dtype=bool))  # fmt: skip


def _sizes(truth: Sequence[np.ndarray]) -> np.ndarray:
    n = np.array([len(t) for t in truth], dtype=np.float64)
    if (n == 0).any():
        raise ValueError("a user with no relevant item has no score: leave such users out")
    return n


def recall_at_k(recs: np.ndarray, truth: Sequence[np.ndarray], k: int) -> float:
    return float((hits(recs[:, :k], truth).sum(1) / _sizes(truth)).mean())


def recall_curve(recs: np.ndarray, truth: Sequence[np.ndarray]) -> np.ndarray:
    """(K,) Recall@k for k = 1..K in one pass (the candidate stage's picture)."""
    return (hits(recs, truth).cumsum(1) / _sizes(truth)[:, None]).mean(0)


def ndcg_per_user(recs: np.ndarray, truth: Sequence[np.ndarray], k: int) -> np.ndarray:
    """(U,) each user's NDCG@k."""
    h = hits(recs[:, :k], truth)
    ### BEGIN SOLUTION
    discount = 1.0 / np.log2(np.arange(2, k + 2))  # (k,) 1 / log2(r + 2) for ranks r = 0..k-1
    dcg = (h * discount[: h.shape[1]]).sum(1)
    ideal = np.cumsum(discount)[np.minimum(_sizes(truth), k).astype(int) - 1]  # all of T first
    ### END SOLUTION
    return dcg / ideal


def ndcg_at_k(recs: np.ndarray, truth: Sequence[np.ndarray], k: int) -> float:
    return float(ndcg_per_user(recs, truth, k).mean())


def map_at_k(recs: np.ndarray, truth: Sequence[np.ndarray], k: int = 12) -> float:
    h = hits(recs[:, :k], truth)
    ### BEGIN SOLUTION
    precision = h.cumsum(1) / np.arange(1, h.shape[1] + 1)  # (U, k) P@(r+1)
    ap = (precision * h).sum(1) / np.minimum(_sizes(truth), k)
    ### END SOLUTION
    return float(ap.mean())


def mrr_at_k(recs: np.ndarray, truth: Sequence[np.ndarray], k: int | None = None) -> float:
    h = hits(recs[:, :k], truth)
    first = h.argmax(1)  # rank of the first hit (0 also where there is none: masked next)
    return float(np.where(h.any(1), 1.0 / (first + 1), 0.0).mean())


def coverage_at_k(recs: np.ndarray, n_items: int, k: int) -> float:
    return len(np.unique(recs[:, :k])) / n_items


def novelty_at_k(recs: np.ndarray, item_users: np.ndarray, n_users: int, k: int) -> float:
    """`item_users`: (N,) how many training users interacted with each item."""
    p = np.maximum(item_users, 1) / n_users
    return float(-np.log2(p[recs[:, :k]]).mean())


def paired_bootstrap(a: np.ndarray, b: np.ndarray, n: int = 2000, level: float = 0.95, seed: int = 0):
    """(mean of a - b, lower, upper): the mean per-user difference of two systems scored on the same users,
    and its `level` percentile interval over `n` resamples of the users with replacement (Efron &
    Tibshirani 1993; the paired test of Sakai 2006 for IR metrics)."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), (n, len(d)))].mean(1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(d.mean()), float(lo), float(hi)


def evaluate(
    recs: np.ndarray,
    truth: Sequence[np.ndarray],
    item_users: np.ndarray,
    n_users: int,
    ks: Sequence[int] = (10, 100),
) -> dict[str, float]:
    """Every metric of the module for the users with a non-empty truth: recall@k, ndcg@k, coverage@k,
    novelty@k for each k in `ks`, map@12 and mrr (over the whole list)."""
    keep = np.array([len(t) > 0 for t in truth], dtype=bool)
    recs, truth = recs[keep], [t for t, y in zip(truth, keep, strict=True) if y]
    if not len(truth):
        raise ValueError("no user has a relevant item to find")
    out: dict[str, float] = {}
    for k in ks:
        out[f"recall@{k}"] = recall_at_k(recs, truth, k)
        out[f"ndcg@{k}"] = ndcg_at_k(recs, truth, k)
    out["map@12"] = map_at_k(recs, truth, 12)
    out["mrr"] = mrr_at_k(recs, truth)
    for k in ks:
        out[f"coverage@{k}"] = coverage_at_k(recs, len(item_users), k)
        out[f"novelty@{k}"] = novelty_at_k(recs, item_users, n_users, k)
    return out
