"""The item index of the retrieval stage: FAISS over the item tower's vectors, by inner product.

`exact` (IndexFlatIP) scans every item and is the default at MovieLens' 10^4 items; `ivf` (inverted lists
over k-means cells, `nprobe` of them searched) and `hnsw` (a navigable small-world graph) are the
approximate ones for larger catalogues, whose recall against the exact index the scaling benchmark reports.
"""

from __future__ import annotations

import logging

import numpy as np


def build(vectors: np.ndarray, kind: str = "exact", nlist: int = 0, nprobe: int = 8, m: int = 32):
    """A FAISS index of (N, C) vectors: kind "exact", "ivf" (nlist cells, default about 4 sqrt(N)) or
    "hnsw" (m links a node)."""
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)  # which CPU build it loads, at INFO
    import faiss

    x = np.ascontiguousarray(vectors, dtype=np.float32)
    C = x.shape[1]
    if kind == "exact":
        index = faiss.IndexFlatIP(C)
    elif kind == "ivf":
        nlist = nlist or max(1, int(4 * np.sqrt(len(x))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(C), C, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(x)
        index.nprobe = nprobe
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(C, m, faiss.METRIC_INNER_PRODUCT)
    else:
        raise ValueError(f"index kind={kind!r}; allowed: 'exact', 'ivf', 'hnsw'")
    index.add(x)
    return index


def search(index, queries: np.ndarray, k: int, exclude: list[np.ndarray] | None = None) -> np.ndarray:
    """(Q, k) item ids, best first; `exclude[q]` (e.g. the user's seen items) never appears in row q.
    Rows that run out of items (k + excluded > N) end in -1, FAISS's "no result"."""
    q = np.ascontiguousarray(queries, dtype=np.float32)
    extra = max((len(e) for e in exclude), default=0) if exclude is not None else 0
    _, ids = index.search(q, min(k + extra, index.ntotal))
    if exclude is None:
        return ids[:, :k]
    out = np.full((len(q), k), -1, dtype=np.int64)
    for r, (row, ex) in enumerate(zip(ids, exclude, strict=True)):
        kept = row[(row >= 0) & ~np.isin(row, ex)][:k]
        out[r, : len(kept)] = kept
    return out
