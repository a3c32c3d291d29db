"""The IR field's metrics with graded relevance, computed as trec_eval computes them, and TREC run files.

A run is {query id: {doc id: score}}; qrels are {query id: {doc id: gain}} (corpus.read_qrels). As in
trec_eval, a run is ranked by score, highest first, equal scores by doc id in *descending* string order
(trec_eval's tie-break, so our figures equal its own on runs with ties); a document is relevant when its
gain is >= 1. Per query:

- nDCG@k (Jarvelin & Kekalainen 2002, trec_eval's ndcg_cut): DCG@k = sum_{i=1..k} gain_i / log2(i + 1),
  divided by the DCG@k of the ideal ranking of all the query's judged documents;
- AP: the mean, over the query's relevant documents, of the precision at each one's rank (0 if not
  retrieved); MAP is its mean over queries;
- RR@k: 1 / the rank of the first relevant document within the top k, else 0; MRR@k its mean;
- Recall@k: relevant documents in the top k / all relevant documents;
- P@k: relevant documents in the top k / k.

A query of the qrels that the run does not answer scores 0; queries without relevant documents score 0.
Tested equal to pytrec_eval (trec_eval's code, through ir-measures) within 1e-9, per query.
"""

from __future__ import annotations

import math
from pathlib import Path

from nanozoo.core.atomic import atomic_write
from nanozoo.systems.search.corpus import CorpusError

METRICS = ("nDCG@10", "MAP", "MRR@10", "Recall@100", "P@10")


def ranking(scores: dict[str, float]) -> list[str]:
    """Doc ids best first, ties by doc id descending (trec_eval's order)."""
    return [d for d, _ in sorted(scores.items(), key=lambda ds: (ds[1], ds[0]), reverse=True)]


def query_metrics(ranked: list[str], judged: dict[str, int]) -> dict[str, float]:
    """Every metric of METRICS for one query: its ranked doc ids and its judgements {doc id: gain}."""
    gains = [max(judged.get(d, 0), 0) for d in ranked]
    rel = [g >= 1 for g in gains]
    R = sum(g >= 1 for g in judged.values())
    if R == 0:
        return dict.fromkeys(METRICS, 0.0)
    ### BEGIN SOLUTION
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:10]))
    ideal = sorted((max(g, 0) for g in judged.values()), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    hits, ap = 0, 0.0
    for i, r in enumerate(rel):
        if r:
            hits += 1
            ap += hits / (i + 1)  # the precision at this relevant document's rank
    first = next((i for i, r in enumerate(rel[:10]) if r), None)
    return {
        "nDCG@10": dcg / idcg,
        "MAP": ap / R,
        "MRR@10": 0.0 if first is None else 1.0 / (first + 1),
        "Recall@100": sum(rel[:100]) / R,
        "P@10": sum(rel[:10]) / 10,
    }
    ### END SOLUTION


def evaluate(
    run: dict[str, dict[str, float]], qrels: dict[str, dict[str, int]]
) -> dict[str, dict[str, float]]:
    """{query id: {metric: value}} for every query of the qrels."""
    return {q: query_metrics(ranking(run.get(q, {})), judged) for q, judged in qrels.items()}


def mean(per_query: dict[str, dict[str, float]]) -> dict[str, float]:
    """The mean of each metric over the queries."""
    n = max(len(per_query), 1)
    return {m: sum(v[m] for v in per_query.values()) / n for m in METRICS}


# ---------------------------------------------------------------------------------------------------
# TREC run files: `query Q0 doc rank score tag`, one line per retrieved document, best first


def write_run(path: str | Path, run: dict[str, dict[str, float]], tag: str = "nanozoo") -> None:
    lines = []
    for q, scores in run.items():
        for rank, d in enumerate(ranking(scores), 1):
            lines.append(f"{q} Q0 {d} {rank} {scores[d]!r} {tag}\n")
    atomic_write(path, "".join(lines))


def read_run(path: str | Path) -> dict[str, dict[str, float]]:
    run: dict[str, dict[str, float]] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            try:
                q, _, d, _, score, _ = parts
                run.setdefault(q, {})[d] = float(score)
            except ValueError:
                raise CorpusError(f"{path}:{n}: expected `query Q0 doc rank score tag`") from None
    return run
