"""Search on Cranfield: nDCG@10 (and MAP, Recall@100) and queries/s of our retrieval modes against the
peers, measured in the same run on the same terms.

Every system gets the same preprocessing (analyze.analyze: lowercase, word tokens, the Glasgow stop list,
Porter stems), documents are title + text, each query retrieves its top 1000, and the runs are scored by
our metrics (equal to trec_eval's, tests/systems/search/test_metrics.py). Peers: rank_bm25's BM25Okapi,
bm25s (method "lucene", numpy backend), and SQLite FTS5's built-in bm25() over the same terms joined by
spaces (its k1 = 1.2, b = 0.75 are fixed; a query is an OR of its terms). queries/s times retrieval only:
the terms are computed before the clock starts, and each system's own top-k result (document rows and
scores) is turned into a run of doc ids for scoring after it stops; best of --repeat rounds; "batch" hands
all queries over in one call where the system has such a call, "one by one" asks one query at a time as a
server would.
Ours also runs dense (all-MiniLM-L6-v2, FAISS exact inner product; queries/s includes encoding the query),
hybrid (RRF and weighted fusion of the BM25 and dense top 100) and the LambdaMART reranker over the hybrid
top 100, scored by 5-fold cross-validation over the queries (no queries/s: each fold trains its model).
The document embeddings are cached in the index folder (--index-dir), so a second run does not re-embed.

    python benchmarks/bench_search.py [--repeat 3] [--index-dir DIR] [--no-dense]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time

import numpy as np

from nanozoo import data
from nanozoo.systems.search import metrics
from nanozoo.systems.search.analyze import analyze
from nanozoo.systems.search.bm25 import BM25, BM25Config
from nanozoo.systems.search.corpus import read_documents, read_qrels, read_queries
from nanozoo.systems.search.index import Index, build

K = 1000


def best_time(fn, repeat: int):
    """(best seconds, the result of the last round)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        run = fn()
        best = min(best, time.perf_counter() - t0)
    return best, run


def as_run(qids, ids, hits) -> dict[str, dict[str, float]]:
    """Per-query (rows, scores) top k -> {query id: {doc id: score}} (documents scoring 0 left out)."""
    return {
        q: {ids[r]: float(s) for r, s in zip(rows, scores, strict=True) if s > 0}
        for q, (rows, scores) in zip(qids, hits, strict=True)
    }


def dense_systems(ix: Index, queries: dict[str, str]):
    """Ours over the index folder: dense, hybrid (RRF, weighted)."""
    out = {}
    for name, mode, fusion in [
        ("ours dense MiniLM flat", "dense", "rrf"),
        ("ours hybrid RRF", "hybrid", "rrf"),
        ("ours hybrid weighted 0.5", "hybrid", "weighted"),
    ]:

        def batch(mode=mode, fusion=fusion):
            ix.fusion = fusion
            return ix.run(queries, mode, K)

        def single(mode=mode, fusion=fusion):
            ix.fusion = fusion
            return {q: ix.run({q: t}, mode, K)[q] for q, t in queries.items()}

        out[name] = (batch, single, lambda run: run)  # Index.run's runs (no peer to compare with)
    return out


def systems(doc_terms, ids, qids, q_terms):
    """name -> (batch retrieval or None, one-by-one retrieval, to_run): the retrievals return each
    query's (rows, scores), `to_run` makes them a run of doc ids (outside the clock)."""
    out = {}
    to_run = lambda hits: as_run(qids, ids, hits)  # noqa: E731
    for variant in ("okapi", "bm25l", "bm25+"):
        bm = BM25(BM25Config(variant)).fit(doc_terms)
        out[f"ours bm25 {variant}"] = (
            lambda bm=bm: list(zip(*bm.search(q_terms, K), strict=True)),
            lambda bm=bm: [tuple(a[0] for a in bm.search([t], K)) for t in q_terms],
            to_run,
        )

    import bm25s
    import rank_bm25

    okapi = rank_bm25.BM25Okapi(doc_terms)

    def rank_bm25_run():
        hits = []
        for t in q_terms:
            s = okapi.get_scores(t)
            top = np.argsort(-s, kind="stable")[:K]
            hits.append((top, s[top]))
        return hits

    out["rank_bm25 BM25Okapi"] = (None, rank_bm25_run, to_run)
    retriever = bm25s.BM25(method="lucene")
    retriever.index(doc_terms, show_progress=False)
    known = [[t for t in q if t in retriever.vocab_dict] or ["<none>"] for q in q_terms]

    def bm25s_run(queries):
        return list(zip(*retriever.retrieve(queries, k=K, show_progress=False), strict=True))

    out["bm25s lucene"] = (
        lambda: bm25s_run(known),
        lambda: [bm25s_run([t])[0] for t in known],
        to_run,
    )
    db = sqlite3.connect(os.path.join(tempfile.mkdtemp(), "fts.sqlite"))
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(body, tokenize='unicode61')")
    db.executemany(
        "INSERT INTO docs (rowid, body) VALUES (?, ?)",
        [(n, " ".join(t)) for n, t in enumerate(doc_terms)],
    )
    db.commit()

    def fts5_run():
        hits = []
        for t in q_terms:
            match = " OR ".join(f'"{w}"' for w in dict.fromkeys(t))
            rows = db.execute(
                "SELECT rowid, bm25(docs) FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?",
                (match, K),
            ).fetchall()
            hits.append(([r for r, _ in rows], [-s for _, s in rows]))  # bm25() is negated: lower is better
        return hits

    out["SQLite FTS5 bm25()"] = (None, fts5_run, to_run)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--index-dir",
        default=os.path.join(tempfile.gettempdir(), "nanozoo-bench-search-cranfield"),
    )
    ap.add_argument("--no-dense", action="store_true", help="BM25 only (no MiniLM, no reranker)")
    args = ap.parse_args()
    docs, _ = read_documents(data.path("cranfield", "cran.all.1400"))
    queries = read_queries(data.path("cranfield", "cran.qry"))
    qrels = read_qrels(data.path("cranfield", "cranqrel"))
    ids, doc_terms = (
        [d.id for d in docs],
        [analyze(f"{d.title} {d.text}") for d in docs],
    )
    qids = [q for q in queries if q in qrels]
    q_terms = [analyze(queries[q]) for q in qids]
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {os.getloadavg()[0]:.1f}; "
        f"Cranfield {len(docs)} documents, {len(qids)} queries, top {K}"
    )
    print("| system | nDCG@10 | MAP | Recall@100 | queries/s batch | queries/s one by one |")
    print("|---|---:|---:|---:|---:|---:|")
    rates, table = {}, systems(doc_terms, ids, qids, q_terms)
    if not args.no_dense:
        build(data.path("cranfield", "cran.all.1400"), args.index_dir)
        ix = Index(args.index_dir)
        t0 = time.perf_counter()
        _ = ix.dense  # embeds the documents, or reads the cached embeddings
        print(f"document embeddings ready in {time.perf_counter() - t0:.1f} s ({args.index_dir})")
        table |= dense_systems(ix, {q: queries[q] for q in qids})
    for name, (batch, single, to_run) in table.items():
        t1, hits = best_time(single, args.repeat)
        tb = best_time(batch, args.repeat)[0] if batch else None
        m = metrics.mean(metrics.evaluate(to_run(hits), qrels))
        rates[name] = len(qids) / min(t1, tb or t1)
        batch_rate = f"{len(qids) / tb:,.0f}" if tb else "-"
        print(
            f"| {name} | {m['nDCG@10']:.4f} | {m['MAP']:.4f} | {m['Recall@100']:.4f} | {batch_rate} | "
            f"{len(qids) / t1:,.0f} |"
        )
    if not args.no_dense:
        from nanozoo.systems.search.rerank import cross_validate

        ix.fusion = "rrf"
        t0 = time.perf_counter()
        run = cross_validate(ix, {q: queries[q] for q in qids}, qrels, use_dense=True)
        took = time.perf_counter() - t0
        m = metrics.mean(metrics.evaluate(run, qrels))
        print(
            f"| ours reranked LambdaMART (5-fold CV over queries) | {m['nDCG@10']:.4f} | {m['MAP']:.4f} | "
            f"{m['Recall@100']:.4f} | - | - ({took:.0f} s for 5 folds) |"
        )
    ours = rates["ours bm25 okapi"]
    print(
        f"ours okapi / rank_bm25: {ours / rates['rank_bm25 BM25Okapi']:.1f}x (goal >= 10x); "
        f"ours / bm25s: {ours / rates['bm25s lucene']:.2f}x (goal >= 1x), each at its fastest"
    )


if __name__ == "__main__":
    main()
