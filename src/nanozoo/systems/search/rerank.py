"""A learned reranker: LightGBM LambdaMART over lexical, dense and field features of each (query,
candidate) pair, trained on judged queries and scored only on held-out ones.

No cross-encoder is available offline here, so the second stage is learning to rank (Burges, "From
RankNet to LambdaRank to LambdaMART", 2010): gradient-boosted trees whose gradients are the pairwise
swaps of a ranking weighted by how much each swap changes nDCG. Candidates are the top `depth` of the
first stage (hybrid when an encoder is given, else BM25); the features of a pair:

    bm25, bm25 rank, bm25 of the title alone, bm25 of the text alone, dense cosine and rank (with an
    encoder), the fraction of the query's terms in the title and in the document, |d|, |q|

Evaluation is k-fold cross-validation over queries with the folds fixed by a seed (`cross_validate`):
every query is reranked by a model that never saw it, and the held-out rankings together make one run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nanozoo.systems.search.analyze import analyze
from nanozoo.systems.search.bm25 import BM25
from nanozoo.systems.search.index import Index

FEATURES = ("bm25", "bm25_rank", "bm25_title", "bm25_text", "q_in_title", "q_in_doc", "doc_len", "query_len")
DENSE_FEATURES = ("dense", "dense_rank")


@dataclass
class RerankConfig:
    depth: int = 100  # candidates per query from the first stage
    n_estimators: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_child_samples: int = 20
    folds: int = 5
    seed: int = 0


class Features:
    """The feature rows of (query, candidate) pairs over one index."""

    def __init__(self, ix: Index, use_dense: bool):
        self.ix, self.use_dense = ix, use_dense
        docs = ix.store.documents()
        self.title_terms = [set(analyze(d.title)) for d in docs]
        self.doc_terms = [analyze(f"{d.title} {d.text}") for d in docs]
        self.bm25_title = BM25(ix.bm25.cfg).fit([analyze(d.title) for d in docs])
        self.bm25_text = BM25(ix.bm25.cfg).fit([analyze(d.text) for d in docs])
        self.row = {d: n for n, d in enumerate(ix.ids)}
        self.names = FEATURES + (DENSE_FEATURES if use_dense else ())

    def candidates(self, queries: dict[str, str], depth: int) -> dict[str, list[str]]:
        run = self.ix.run(queries, "hybrid" if self.use_dense else "bm25", depth)
        return {q: list(r) for q, r in run.items()}

    def matrix(self, queries: dict[str, str], cands: dict[str, list[str]]) -> np.ndarray:
        """(pairs, F) rows in the order of `cands` (query by query, candidate by candidate)."""
        qids = list(cands)
        q_terms = [analyze(queries[q]) for q in qids]
        stages = {
            "bm25": self.ix.bm25.scores(q_terms),  # (Q, N)
            "bm25_title": self.bm25_title.scores(q_terms),
            "bm25_text": self.bm25_text.scores(q_terms),
        }
        if self.use_dense:
            qv = self.ix.encoder.encode([queries[q] for q in qids])  # (Q, D)
            stages["dense"] = qv @ self.ix.dense.emb.T  # (Q, N) cosines
        rows = []
        for i, q in enumerate(qids):
            rank = {
                s: np.argsort(np.argsort(-stages[s][i], kind="stable"))
                for s in ("bm25", "dense")
                if s in stages
            }
            terms = set(q_terms[i])
            for d in cands[q]:
                n = self.row[d]
                f = [
                    stages["bm25"][i, n],
                    rank["bm25"][n],
                    stages["bm25_title"][i, n],
                    stages["bm25_text"][i, n],
                    len(terms & self.title_terms[n]) / max(len(terms), 1),
                    len(terms & set(self.doc_terms[n])) / max(len(terms), 1),
                    len(self.doc_terms[n]),
                    len(q_terms[i]),
                ]
                if self.use_dense:
                    f += [stages["dense"][i, n], rank["dense"][n]]
                rows.append(f)
        return np.array(rows, np.float64).reshape(-1, len(self.names))


def cross_validate(
    ix: Index,
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    cfg: RerankConfig | None = None,
    use_dense: bool = False,
) -> dict[str, dict[str, float]]:
    """The reranked run of every judged query, each scored by the fold's model that did not train on it."""
    import lightgbm as lgb
    from sklearn.model_selection import KFold

    cfg = cfg or RerankConfig()
    qids = [q for q in queries if q in qrels]
    feats = Features(ix, use_dense)
    cands = feats.candidates({q: queries[q] for q in qids}, cfg.depth)
    X = feats.matrix(queries, cands)  # (pairs, F)
    bounds = np.cumsum([0] + [len(cands[q]) for q in qids])  # rows of query i: bounds[i]:bounds[i + 1]
    y = np.array([qrels[q].get(d, 0) for q in qids for d in cands[q]], np.int64)
    run: dict[str, dict[str, float]] = {}
    folds = KFold(cfg.folds, shuffle=True, random_state=cfg.seed)
    for train, test in folds.split(qids):
        ### BEGIN SOLUTION
        rows = np.concatenate([np.arange(bounds[i], bounds[i + 1]) for i in train])
        model = lgb.LGBMRanker(
            objective="lambdarank",
            n_estimators=cfg.n_estimators,
            learning_rate=cfg.learning_rate,
            num_leaves=cfg.num_leaves,
            min_child_samples=cfg.min_child_samples,
            random_state=cfg.seed,
            deterministic=True,
            force_row_wise=True,
            n_jobs=1,
            verbose=-1,
        )
        model.fit(X[rows], y[rows], group=[len(cands[qids[i]]) for i in train])
        for i in test:
            scores = model.predict(X[bounds[i] : bounds[i + 1]])
            run[qids[i]] = dict(zip(cands[qids[i]], scores.tolist(), strict=True))
        ### END SOLUTION
    return run
