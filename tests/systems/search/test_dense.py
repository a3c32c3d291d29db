"""Dense retrieval (FAISS flat/IVF/HNSW against exact numpy), the embedding cache, fusion, and MiniLM."""

import numpy as np
import pytest

from nanozoo.systems.search import fusion
from nanozoo.systems.search.dense import Dense, DenseError, cached_embeddings
from nanozoo.systems.search.index import Index, build


def unit(rng, n, d=32):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("kind, min_recall", [("flat", 1.0), ("hnsw", 0.9), ("ivf", 0.6)])
def test_faiss_indexes_against_exact_inner_product(need, kind, min_recall):
    need("faiss")
    rng = np.random.default_rng(0)
    emb, queries = unit(rng, 2000), unit(rng, 50)
    exact = np.argsort(-(queries @ emb.T), axis=1)[:, :10]  # (Q, 10)
    rows, scores = Dense(emb, kind).search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, exact, strict=True)])
    assert recall >= min_recall  # recall@10 of the approximate index against the exact one
    if kind == "flat":
        np.testing.assert_allclose(scores, np.take_along_axis(queries @ emb.T, exact, 1), rtol=1e-5)
    with pytest.raises(DenseError, match="allowed: flat, ivf, hnsw"):
        Dense(emb, "pq")


def test_embeddings_are_cached_on_disk_until_the_documents_change(tmp_path, hash_encoder):
    enc = hash_encoder()
    first = cached_embeddings(enc, ["a b", "c"], "digest-1", tmp_path / "dense.safetensors")
    again = cached_embeddings(enc, ["a b", "c"], "digest-1", tmp_path / "dense.safetensors")
    assert enc.calls == 1 and np.array_equal(first, again)  # read back, not re-embedded
    cached_embeddings(enc, ["a b", "c", "d"], "digest-2", tmp_path / "dense.safetensors")
    assert enc.calls == 2


def test_rrf_and_weighted_fusion_by_hand():
    bm25, dense = {"a": 9.0, "b": 5.0, "c": 1.0}, {"c": 0.9, "a": 0.8, "d": 0.1}
    r = fusion.rrf([bm25, dense], k=60)
    assert r["a"] == pytest.approx(1 / 61 + 1 / 62) and r["b"] == pytest.approx(1 / 62)
    assert r["d"] == pytest.approx(1 / 63) and max(r, key=r.get) == "a"
    w = fusion.weighted(bm25, dense, alpha=0.5)
    assert w["a"] == pytest.approx(0.5 + 0.5 * 0.7 / 0.8) and w["c"] == pytest.approx(0.5) and w["b"] == 0.25
    with pytest.raises(ValueError, match="fusion 'max'"):
        fusion.fuse(bm25, dense, "max")


def test_index_modes_with_a_stand_in_encoder(tmp_path, hash_encoder):
    corpus = tmp_path / "c.csv"
    corpus.write_text(
        "id,title,text\n1,Wings,lift of a swept wing\n2,Bodies,drag of a blunt body\n"
        "3,Flow,laminar flow over a wing\n4,Heat,heat transfer in a slab\n"
    )
    build(corpus, tmp_path / "ix")
    ix = Index(tmp_path / "ix", encoder=hash_encoder())
    for mode in ("bm25", "dense", "hybrid"):
        hits = ix.search("blunt body drag", 2, mode)
        assert hits[0].doc.id == "2" and mode in hits[0].stages, mode
    hybrid = ix.search("wing", 3, "hybrid")
    assert set(hybrid[0].stages) == {"bm25", "dense", "hybrid"}
    assert (tmp_path / "ix" / "dense.safetensors").is_file()


@pytest.mark.slow  # loading sentence-transformers and the weights twice: seconds
def test_our_minilm_equals_sentence_transformers_and_ranks_by_meaning(need, cranfield):
    need("sentence_transformers")
    from nanozoo.systems.search.corpus import read_documents
    from nanozoo.systems.search.dense import MiniLM, STMiniLM

    ours, theirs = MiniLM(batch_size=4), STMiniLM()
    docs = [d.text for d in read_documents(cranfield["docs"])[0][:8]]
    long = max(docs, key=len)
    assert len(ours.tok.encode(long)) > 256  # one document is cut at 256 tokens, by both
    a, b = ours.encode(docs), theirs.encode(docs)
    np.testing.assert_allclose(a, b, atol=2e-5)
    enc = ours
    docs = enc.encode(
        [
            "The aircraft wing produces lift.",
            "Heat flows through a metal slab.",
            "Stock prices fell on Monday.",
        ]
    )
    assert docs.shape == (3, 384) and np.allclose(np.linalg.norm(docs, axis=1), 1, atol=1e-5)
    q = enc.encode(["aerofoil lift generation"])  # no word in common with the first sentence but "lift"
    assert np.argmax(docs @ q[0]) == 0
    q = enc.encode(["thermal conduction"])  # no word in common at all
    assert np.argmax(docs @ q[0]) == 1
