"""An index folder: what `nanozoo search index CORPUS -o DIR` builds and every other command opens.

    DIR/store.sqlite   the documents and the index's metadata (store.py; WAL mode)
    DIR/bm25.npz       the BM25 impact matrix, vocabulary and config (bm25.py)

Building is idempotent: it ingests the corpus into the store (unchanged documents are left alone) and
rebuilds the BM25 matrix over every stored document; the store's digest, saved beside it, tells `open`
that the matrix belongs to these documents.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from nanozoo.systems.search.analyze import analyze
from nanozoo.systems.search.bm25 import BM25, BM25Config, SearchIndexError
from nanozoo.systems.search.corpus import Bad, Document, read_documents
from nanozoo.systems.search.store import IngestReport, Store

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    ingest: IngestReport
    skipped: list[Bad] = field(default_factory=list)
    n_docs: int = 0
    n_terms: int = 0


def doc_terms(d: Document) -> list[str]:
    """The indexed terms of a document: its title and its text."""
    return analyze(f"{d.title} {d.text}")


def build(
    corpus: str | Path,
    out: str | Path,
    fmt: str = "auto",
    on_error: str = "refuse",
    bm25: BM25Config | None = None,
) -> BuildReport:
    """Ingest `corpus` into the index folder `out` and (re)build its BM25 matrix."""
    docs, bad = read_documents(corpus, fmt, on_error)  # a refused file raises before anything is written
    out = Path(out)
    store = Store(out / "store.sqlite")
    try:
        report = store.ingest(docs)
        stored = store.documents()
        index = BM25(bm25).fit([doc_terms(d) for d in stored])
        index.save(out / "bm25.npz")
        store.set_meta("bm25_digest", store.digest())
    finally:
        store.close()
    log.debug(
        "indexed %d documents (%d added, %d updated, %d unchanged), %d terms",
        len(stored),
        report.added,
        report.updated,
        report.unchanged,
        len(index.vocab),
    )
    return BuildReport(report, bad, len(stored), len(index.vocab))


MODES = ("bm25", "dense", "hybrid")


@dataclass
class Hit:
    doc: Document
    score: float  # the score of the mode asked for
    stages: dict[
        str, float
    ]  # each stage's own score of this document (bm25, dense, hybrid), where it has one


class Index:
    """An opened index folder: `run(queries, mode)` for evaluation, `search(query, k, mode)` for a person,
    `doc(id)`. Dense retrieval (and so hybrid) loads the encoder and the cached embeddings on first use."""

    def __init__(self, path: str | Path, encoder=None, dense_kind: str = "flat", fusion: str = "rrf"):
        self.path = Path(path)
        if not (self.path / "store.sqlite").is_file():
            raise SearchIndexError(
                f"{self.path}: not an index folder (no store.sqlite; build one with "
                "`nanozoo search index CORPUS -o DIR`)"
            )
        self.store = Store(self.path / "store.sqlite")
        self.bm25 = BM25.load(self.path / "bm25.npz")
        self.digest = self.store.digest()
        if self.store.meta("bm25_digest") != self.digest:
            raise SearchIndexError(f"{self.path}: the BM25 matrix is older than the documents; rebuild it")
        self.ids = [d.id for d in self.store.documents()]  # row n of the matrices -> doc id
        self._encoder, self.dense_kind, self.fusion, self._dense = encoder, dense_kind, fusion, None

    def close(self) -> None:
        self.store.close()

    @property
    def encoder(self):
        if self._encoder is None:
            from nanozoo.systems.search.dense import MiniLM

            self._encoder = MiniLM()
        return self._encoder

    @property
    def dense(self):
        if self._dense is None:
            from nanozoo.systems.search.dense import Dense, cached_embeddings

            docs = self.store.documents()
            texts = [f"{d.title}. {d.text}" if d.title else d.text for d in docs]
            emb = cached_embeddings(self.encoder, texts, self.digest, self.path / "dense.safetensors")
            self._dense = Dense(emb, self.dense_kind)
        return self._dense

    def _as_run(self, qids: list[str], rows, scores, keep) -> dict[str, dict[str, float]]:
        return {
            q: {self.ids[r]: float(s) for r, s in zip(rows[i], scores[i], strict=True) if keep(r, s)}
            for i, q in enumerate(qids)
        }

    def run(self, queries: dict[str, str], mode: str = "bm25", k: int = 1000) -> dict[str, dict[str, float]]:
        """{query id: {doc id: score}}, the top k of each query (BM25 leaves out documents sharing no term
        with the query; hybrid fuses the top max(k, 100) of each)."""
        if mode not in MODES:
            raise SearchIndexError(f"mode {mode!r}; allowed: {', '.join(MODES)}")
        qids = list(queries)
        if mode == "bm25":
            rows, scores = self.bm25.search([analyze(queries[q]) for q in qids], k)
            return self._as_run(qids, rows, scores, lambda r, s: s > 0)
        if mode == "dense":
            rows, scores = self.dense.search(self.encoder.encode([queries[q] for q in qids]), k)
            return self._as_run(qids, rows, scores, lambda r, s: r >= 0)
        depth = max(k, 100)
        return self._fuse(self.run(queries, "bm25", depth), self.run(queries, "dense", depth), k)

    def _fuse(self, bm25: dict, dense: dict, k: int) -> dict[str, dict[str, float]]:
        from nanozoo.systems.search.fusion import fuse

        fused = {q: fuse(bm25[q], dense[q], self.fusion) for q in bm25}
        return {q: dict(sorted(f.items(), key=lambda ds: -ds[1])[:k]) for q, f in fused.items()}

    def bm25_run(self, queries: dict[str, str], k: int = 1000) -> dict[str, dict[str, float]]:
        return self.run(queries, "bm25", k)

    def search(self, query: str, k: int = 10, mode: str = "bm25") -> list[Hit]:
        """The top k documents for a person: each with its score and the score of every stage it has."""
        if mode == "hybrid":
            depth = max(k, 100)
            runs = {m: self.run({"q": query}, m, depth) for m in ("bm25", "dense")}
            runs = {
                m: r["q"]
                for m, r in {**runs, "hybrid": self._fuse(runs["bm25"], runs["dense"], depth)}.items()
            }
        else:
            runs = {mode: self.run({"q": query}, mode, k)["q"]}
        top = sorted(runs[mode].items(), key=lambda ds: -ds[1])[:k]
        return [Hit(self.doc(d), s, {m: r[d] for m, r in runs.items() if d in r}) for d, s in top]

    def doc(self, doc_id: str) -> Document | None:
        return self.store.get(doc_id)
