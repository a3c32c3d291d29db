import hashlib

import numpy as np
import pytest


@pytest.fixture(scope="session")
def cranfield(need_data):
    """The Cranfield files: {"docs": ..., "queries": ..., "qrels": ...} paths in the data mirror."""
    return {
        k: need_data("cranfield", f)
        for k, f in [("docs", "cran.all.1400"), ("queries", "cran.qry"), ("qrels", "cranqrel")]
    }


@pytest.fixture(scope="session")
def cran_index(cranfield, tmp_path_factory):
    """A BM25 index folder of Cranfield, built once per test process."""
    from nanozoo.systems.search.index import build

    out = tmp_path_factory.mktemp("cran-index")
    build(cranfield["docs"], out)
    return out


class HashEncoder:
    """A stand-in encoder: a bag of hashed words, unit length; counts its calls."""

    name = "hash-64"

    def __init__(self):
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        out = np.zeros((len(texts), 64), np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, int(hashlib.md5(w.strip(".,").encode()).hexdigest(), 16) % 64] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


@pytest.fixture(scope="session")
def hash_encoder():
    """The class of a stand-in dense encoder (no model to load): bags of hashed words."""
    return HashEncoder
