"""Hybrid retrieval: fusing the rankings of BM25 and dense retrieval into one.

- Reciprocal rank fusion (Cormack, Clarke & Buettcher, SIGIR 2009): score(d) = sum_r 1 / (k + rank_r(d)),
  ranks from 1, a document missing from a ranking adds nothing; k = 60 as in the paper. It needs no score
  calibration, only ranks.
- Weighted score fusion: each ranking's scores min-max normalised to [0, 1] per query, then
  alpha * bm25 + (1 - alpha) * dense (a document missing from one ranking gets 0 there).

A ranking is {doc id: score} (one query of a run, metrics.py).
"""

from __future__ import annotations

from nanozoo.systems.search.metrics import ranking

FUSIONS = ("rrf", "weighted")


def rrf(rankings: list[dict[str, float]], k: int = 60) -> dict[str, float]:
    fused: dict[str, float] = {}
    ### BEGIN SOLUTION
    for scores in rankings:
        for rank, d in enumerate(ranking(scores), 1):
            fused[d] = fused.get(d, 0.0) + 1.0 / (k + rank)
    ### END SOLUTION
    return fused


def minmax(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    return {d: (s - lo) / (hi - lo) if hi > lo else 1.0 for d, s in scores.items()}


def weighted(bm25: dict[str, float], dense: dict[str, float], alpha: float = 0.5) -> dict[str, float]:
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha={alpha} must be in [0, 1]")
    b, d = minmax(bm25), minmax(dense)
    ### BEGIN SOLUTION
    return {doc: alpha * b.get(doc, 0.0) + (1 - alpha) * d.get(doc, 0.0) for doc in b.keys() | d.keys()}
    ### END SOLUTION


def fuse(
    bm25: dict[str, float], dense: dict[str, float], how: str = "rrf", alpha: float = 0.5
) -> dict[str, float]:
    if how not in FUSIONS:
        raise ValueError(f"fusion {how!r}; allowed: {', '.join(FUSIONS)}")
    return rrf([bm25, dense]) if how == "rrf" else weighted(bm25, dense, alpha)
