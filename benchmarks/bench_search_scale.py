"""How the search system's cost grows with the corpus: BM25 and dense (FAISS exact vs IVF vs HNSW) at
10^4, 10^5 (and 10^6 with --sizes) documents.

BM25 runs on a synthetic Zipfian corpus (systems/search/synthetic.py: 50k-word vocabulary, s = 1.1, ~100
terms a document): build time, the saved index's size on disk, its matrix in memory, and the latency of
one 4-term query (median of --queries, one at a time). Dense retrieval runs on synthetic unit vectors of
MiniLM's width (384): embedding 10^5 documents with MiniLM is hours on this CPU, and FAISS's cost depends on
N and D only. `--vectors random` is the hard case for approximate search (no clusters to exploit: the
recall@10 of IVF (nlist = 4 sqrt N, nprobe 8) and HNSW (M = 32, efSearch 64) against the exact index is a
lower bound); `--vectors clustered` draws them around sqrt(N) topic centres, closer to real embeddings.
Writes a log-log plot of latency against N (--plot).

    python benchmarks/bench_search_scale.py [--sizes 10000,100000] [--vectors random|clustered]
        [--dense-only] [--plot benchmarks/search_scale.png]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from nanozoo.systems.search import synthetic
from nanozoo.systems.search.bm25 import BM25
from nanozoo.systems.search.dense import Dense

D = 384


def median_latency_ms(fn, items) -> float:
    times = []
    for x in items:
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1000)


def bm25_row(n: int, n_queries: int) -> dict:
    docs = synthetic.corpus(n)
    qs = synthetic.queries(n_queries)
    t0 = time.perf_counter()
    bm = BM25().fit(docs)
    build_s = time.perf_counter() - t0
    path = os.path.join(tempfile.mkdtemp(), "bm25.npz")
    bm.save(path)
    mem = bm.W.data.nbytes + bm.W.indices.nbytes + bm.W.indptr.nbytes
    ms = median_latency_ms(lambda q: bm.search([q], 10), qs)
    return {"build_s": build_s, "disk_mb": os.path.getsize(path) / 1e6, "mem_mb": mem / 1e6, "ms": ms}


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def vectors(n: int, n_queries: int, kind: str, rng) -> tuple[np.ndarray, np.ndarray]:
    """Documents and queries: "random" unit vectors (the worst case for approximate search), or
    "clustered": sqrt(N) random topic centres, each vector a centre plus noise of the same norm (as
    sentence embeddings of documents on shared topics cluster), queries drawn the same way."""
    if kind == "random":
        return (unit(rng.standard_normal((m, D), dtype=np.float32)) for m in (n, n_queries))
    centres = unit(rng.standard_normal((int(np.sqrt(n)), D), dtype=np.float32))

    def draw(m: int) -> np.ndarray:
        noise = unit(rng.standard_normal((m, D), dtype=np.float32))
        return unit(centres[rng.integers(len(centres), size=m)] + noise)

    return draw(n), draw(n_queries)


def dense_rows(n: int, n_queries: int, kind: str = "random") -> dict[str, dict]:
    emb, qs = vectors(n, n_queries, kind, np.random.default_rng(0))
    out, exact = {}, None
    for kind in ("flat", "ivf", "hnsw"):
        t0 = time.perf_counter()
        index = Dense(emb, kind)
        build_s = time.perf_counter() - t0
        rows, _ = index.search(qs, 10)
        exact = rows if kind == "flat" else exact
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, exact, strict=True)])
        ms = median_latency_ms(lambda q, index=index: index.search(q[None], 10), qs)
        out[kind] = {"build_s": build_s, "ms": ms, "recall": recall, "mem_mb": n * D * 4 / 1e6}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--plot", default="")
    ap.add_argument("--vectors", choices=["random", "clustered"], default="random")
    ap.add_argument("--dense-only", action="store_true", help="skip BM25 (its columns print as -)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {os.getloadavg()[0]:.1f}; "
        f"{args.vectors} vectors"
    )
    print(
        "| N | BM25 build s | BM25 disk MB | BM25 matrix MB | BM25 ms/query | flat ms | IVF ms (recall@10) | "
        "HNSW ms (recall@10) | HNSW build s | vectors MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    curves = {"BM25": [], "flat": [], "ivf": [], "hnsw": []}
    for n in sizes:
        nan = float("nan")
        b = dict.fromkeys(("build_s", "disk_mb", "mem_mb", "ms"), nan)
        b = b if args.dense_only else bm25_row(n, args.queries)
        d = dense_rows(n, args.queries, args.vectors)
        for k in ("flat", "ivf", "hnsw"):
            curves[k].append(d[k]["ms"])
        curves["BM25"].append(b["ms"])
        print(
            f"| {n:,} | {b['build_s']:.1f} | {b['disk_mb']:.1f} | {b['mem_mb']:.1f} | {b['ms']:.2f} | "
            f"{d['flat']['ms']:.2f} | {d['ivf']['ms']:.2f} ({d['ivf']['recall']:.2f}) | "
            f"{d['hnsw']['ms']:.2f} ({d['hnsw']['recall']:.2f}) | {d['hnsw']['build_s']:.1f} | "
            f"{d['flat']['mem_mb']:.0f} |",
            flush=True,
        )
    n, last = sizes[-1], b
    per_doc_bm25 = last["mem_mb"] * 1e6 / n
    print(
        f"30M documents, extrapolated linearly from N = {n:,}: BM25 matrix "
        f"{per_doc_bm25 * 30e6 / 1e9:.0f} GB, flat float32 vectors {30e6 * D * 4 / 1e9:.0f} GB, "
        f"IVF-PQ at 64 bytes a vector {30e6 * 64 / 1e9:.1f} GB; "
        f"exact dense latency {curves['flat'][-1] * 30e6 / n:.0f} ms/query"
    )
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from nanozoo.core.atomic import atomic_path

        fig, ax = plt.subplots(figsize=(6, 4))
        for name, ys in curves.items():
            ax.loglog(sizes, ys, marker="o", label=name)
        ax.set_xlabel("documents N")
        ax.set_ylabel("median latency per query, ms")
        ax.set_title("search latency against corpus size (one query at a time)")
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
        with atomic_path(args.plot) as tmp:
            fig.savefig(tmp, dpi=100, bbox_inches="tight", format="png")


if __name__ == "__main__":
    main()
