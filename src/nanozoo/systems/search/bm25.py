"""BM25 on a sparse inverted index (scipy.sparse), with the Okapi, BM25L and BM25+ term weights.

Okapi BM25 (Robertson & Zaragoza, "The probabilistic relevance framework: BM25 and beyond", 2009) scores a
document d for a query q as a sum over the query's terms t:

    score(d, q) = sum_t qtf(t) * idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))

with tf(t, d) the count of t in d, |d| the document's length in terms, avgdl the mean length, qtf the
count of t in the query; k1 saturates the term frequency, b normalises for length. The idf is Lucene's,
ln(1 + (N - df + 0.5) / (df + 0.5)), which never goes negative (Robertson's own goes negative for a term
in more than half the documents). BM25L (Lv & Zhai, CIKM 2011) shifts the length-normalised frequency
c = tf / (1 - b + b |d| / avgdl) by delta (0.5) so long documents are not over-penalised,
(k1 + 1)(c + delta) / (k1 + c + delta), with idf ln((N + 1) / (df + 0.5)); BM25+ (Lv & Zhai, CIKM 2011)
adds a floor delta (1.0) to the Okapi frequency part of every matching term, with idf ln((N + 1) / df).

How it runs: every weight idf(t) * f(tf(t, d), |d|) depends on the document and the term only, so it is
computed once at index time into a sparse (V, N) "impact" matrix W, the inverted index (row t lists the
documents holding t and their weights). A batch of queries is then one sparse product, (Q, V) @ (V, N),
and the top k of each row. Tests: equal to bm25s (method "lucene": the same, without the constant factor
k1 + 1) and rank_bm25 (BM25L, BM25Plus) on the documents that hold the query terms; see the test for the
one place the peers differ from the papers (they give a non-matching term a weight too).
"""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from nanozoo.core.atomic import atomic_path
from nanozoo.core.errors import UserError

VARIANTS = ("okapi", "bm25l", "bm25+")
DEFAULT_DELTA = {"okapi": 0.0, "bm25l": 0.5, "bm25+": 1.0}


class SearchIndexError(UserError):
    """An index folder that is missing, stale or corrupt."""


@dataclass
class BM25Config:
    variant: str = "okapi"
    k1: float = 1.5
    b: float = 0.75
    delta: float | None = None  # None: the variant's default (DEFAULT_DELTA)

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"variant={self.variant!r}; allowed: {', '.join(VARIANTS)}")
        if not self.k1 >= 0:
            raise ValueError(f"k1={self.k1} must be >= 0")
        if not 0 <= self.b <= 1:
            raise ValueError(f"b={self.b} must be in [0, 1]")
        if self.delta is None:
            self.delta = DEFAULT_DELTA[self.variant]


def term_weights(cfg: BM25Config, tf: np.ndarray, dl: np.ndarray, avgdl: float, df: np.ndarray, N: int):
    """The BM25 weight of each (term, document) pair: tf, dl (its document's length) and df (its term's
    document frequency) are arrays over the pairs."""
    k1, b, delta = cfg.k1, cfg.b, cfg.delta
    norm = 1 - b + b * dl / avgdl  # > 1 for a longer than average document
    ### BEGIN SOLUTION
    if cfg.variant == "okapi":
        idf = np.log1p((N - df + 0.5) / (df + 0.5))
        return idf * tf * (k1 + 1) / (tf + k1 * norm)
    if cfg.variant == "bm25l":
        c = tf / norm
        return np.log((N + 1) / (df + 0.5)) * (k1 + 1) * (c + delta) / (k1 + c + delta)
    return np.log((N + 1) / df) * ((k1 + 1) * tf / (k1 * norm + tf) + delta)  # bm25+
    ### END SOLUTION


class BM25:
    """`BM25(cfg).fit(docs)` with each document a list of terms (analyze.analyze), then `search`."""

    def __init__(self, cfg: BM25Config | None = None):
        self.cfg = cfg or BM25Config()
        self.vocab: dict[str, int] = {}
        self.W: sp.csr_matrix | None = None  # (V, N) impact matrix, float32 (the peers' precision)

    @property
    def n_docs(self) -> int:
        return self.W.shape[1]

    def fit(self, docs: list[list[str]]) -> BM25:
        if not docs:
            raise ValueError("BM25.fit needs at least one document")
        terms = sorted({t for d in docs for t in d})
        self.vocab = {t: j for j, t in enumerate(terms)}
        rows, cols, tfs = [], [], []
        for n, d in enumerate(docs):
            c = Counter(d)
            rows += [self.vocab[t] for t in c]
            cols += [n] * len(c)
            tfs += c.values()
        rows, cols, tf = np.array(rows, np.int64), np.array(cols, np.int64), np.array(tfs, np.float64)
        dl = np.array([len(d) for d in docs], np.float64)  # (N,)
        df = np.bincount(rows, minlength=len(terms)).astype(np.float64)  # (V,) documents per term
        avgdl = max(dl.mean(), 1e-9)  # a corpus of empty documents scores 0 everywhere
        w = term_weights(self.cfg, tf, dl[cols], avgdl, df[rows], len(docs))
        self.W = sp.csr_matrix((w.astype(np.float32), (rows, cols)), shape=(len(terms), len(docs)))
        return self

    def query_matrix(self, queries: list[list[str]]) -> sp.csr_matrix:
        """(Q, V) counts of each query's known terms (a repeated query term counts twice, as in the peers)."""
        rows, cols = [], []
        for i, q in enumerate(queries):
            ids = [self.vocab[t] for t in q if t in self.vocab]
            rows += [i] * len(ids)
            cols += ids
        data = np.ones(len(rows), np.float32)
        return sp.csr_matrix((data, (rows, cols)), shape=(len(queries), len(self.vocab)))  # duplicates summed

    def scores(self, queries: list[list[str]]) -> np.ndarray:
        """(Q, N) dense scores of every document for each query."""
        return (self.query_matrix(queries) @ self.W).toarray()  # (Q, V) @ (V, N) -> (Q, N)

    def search(self, queries: list[list[str]], k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The top k documents of each query: (Q, k) document rows and (Q, k) scores, best first. Documents
        that share no term with a query score 0 and come last, in row order."""
        return top_k(self.scores(queries), k)

    # -- saving: one .npz (the matrix, the vocabulary, the config), written atomically

    def save(self, path: str | Path) -> None:
        W = self.W
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(
                f,
                data=W.data,
                indices=W.indices,
                indptr=W.indptr,
                shape=np.array(W.shape),
                vocab=np.array(list(self.vocab), dtype=str),
                config=np.array(json.dumps(asdict(self.cfg))),
            )

    @classmethod
    def load(cls, path: str | Path) -> BM25:
        try:
            z = np.load(path, allow_pickle=False)
            self = cls(BM25Config(**json.loads(str(z["config"]))))
            self.W = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
            self.vocab = {t: j for j, t in enumerate(z["vocab"].tolist())}
        except FileNotFoundError:
            raise SearchIndexError(
                f"{path}: no BM25 index there (build one with `nanozoo search index`)"
            ) from None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:  # a torn or foreign file
            raise SearchIndexError(f"{path}: not a readable BM25 index ({e}); rebuild it") from None
        return self


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(Q, N) scores -> the (Q, k) best rows and their scores, best first (equal scores: the lower row
    first among those kept; which of several tied at the k-th place is kept is not defined)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]  # (Q, k) the k best, unordered
    part.sort(axis=1)  # ties broken by row, whatever argpartition picked
    order = np.argsort(-np.take_along_axis(scores, part, 1), axis=1, kind="stable")
    idx = np.take_along_axis(part, order, 1)  # (Q, k)
    return idx, np.take_along_axis(scores, idx, 1)
