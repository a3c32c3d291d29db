"""BM25: a score by hand, parity with bm25s and rank_bm25, save/load, and its figure on Cranfield."""

import math

import numpy as np
import pytest

from nanozoo.systems.search.analyze import analyze
from nanozoo.systems.search.bm25 import BM25, BM25Config, SearchIndexError
from nanozoo.systems.search.corpus import read_documents, read_queries


@pytest.fixture(scope="module")
def cran_terms(cranfield):
    docs, _ = read_documents(cranfield["docs"])
    queries = read_queries(cranfield["queries"])
    return [analyze(f"{d.title} {d.text}") for d in docs], [analyze(q) for q in queries.values()]


def test_analyze_lowercases_drops_stop_words_and_stems():
    assert analyze("Experimental investigations of the Wings, in 1958!") == [
        "experiment",
        "investig",
        "wing",
        "1958",
    ]


def test_one_okapi_score_by_hand():
    docs = [["wing", "lift", "wing"], ["drag"], ["lift", "drag", "body", "flow"]]
    bm = BM25(BM25Config(k1=1.2, b=0.75)).fit(docs)
    N, df, tf, dl, avgdl = 3, 1, 2, 3, 8 / 3  # "wing": in one document, twice, of 3 terms; 8 terms in all
    idf = math.log(1 + (N - df + 0.5) / (df + 0.5))
    want = idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * dl / avgdl))
    scores = bm.scores([["wing"]])
    assert scores[0, 0] == pytest.approx(want, rel=1e-6) and scores[0, 1] == scores[0, 2] == 0
    assert bm.search([["wing", "nope"]], k=2)[0][0, 0] == 0  # an unknown query term is ignored


def test_okapi_equals_bm25s_lucene_times_k1_plus_1(cran_terms, need):
    bm25s = need("bm25s")
    docs, queries = cran_terms
    ours = BM25(BM25Config("okapi", k1=1.5, b=0.75)).fit(docs)
    theirs = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    theirs.index(docs, show_progress=False)  # a list of token lists: bm25s maps them to ids itself
    for q in queries[:25]:
        # bm25s drops Robertson's constant factor (k1 + 1), as Lucene does: the ranking is the same
        np.testing.assert_allclose(ours.scores([q])[0], 2.5 * theirs.get_scores(q), rtol=2e-6, atol=1e-5)


def peer_scorer(need, peer, variant, docs, delta):
    """term -> the peer's (N,) scores of a one-term query."""
    if peer == "rank_bm25":  # its BM25L multiplies by tf once more than the paper: not a reference
        theirs = need("rank_bm25").BM25Plus(docs, k1=1.5, b=0.75, delta=delta)
        return lambda term: theirs.get_scores([term])
    theirs = need("bm25s").BM25(
        method={"bm25l": "bm25l", "bm25+": "bm25+"}[variant], k1=1.5, b=0.75, delta=delta
    )
    theirs.index(docs, show_progress=False)
    return lambda term: theirs.get_scores([term]).astype(np.float64)


@pytest.mark.parametrize("variant, peer", [("bm25l", "bm25s"), ("bm25+", "bm25s"), ("bm25+", "rank_bm25")])
def test_bm25l_and_bm25plus_equal_the_peers_on_matching_documents(cran_terms, need, variant, peer):
    docs, queries = cran_terms
    ours = BM25(BM25Config(variant, k1=1.5, b=0.75)).fit(docs)
    theirs = peer_scorer(need, peer, variant, docs, ours.cfg.delta)
    for term in sorted({t for q in queries[:10] for t in q if t in ours.vocab}):
        mine, ref = ours.scores([[term]])[0], theirs(term)
        has = np.array([term in d for d in docs])
        # the papers score a term only in the documents that hold it; both peers also give every other
        # document one constant weight per term (f(tf = 0) > 0 for these two variants), which ours leaves out
        np.testing.assert_allclose(mine[has], ref[has], rtol=2e-6)
        assert np.all(mine[~has] == 0) and np.ptp(ref[~has]) < 1e-5 and ref[~has].min() > 0
    q = queries[0]  # and a query scores the sum of its terms
    np.testing.assert_allclose(ours.scores([q])[0], sum(ours.scores([[t]])[0] for t in q), rtol=1e-5)


def test_save_load_round_trip_and_a_corrupt_file(tmp_path):
    bm = BM25(BM25Config("bm25+", k1=1.2, b=0.5)).fit([["a", "b"], ["b", "c", "c"]])
    bm.save(tmp_path / "bm25.npz")
    back = BM25.load(tmp_path / "bm25.npz")
    assert back.cfg == bm.cfg and back.vocab == bm.vocab
    assert np.array_equal(back.scores([["c", "a"]]), bm.scores([["c", "a"]]))
    (tmp_path / "bad.npz").write_bytes(b"not an index")
    with pytest.raises(SearchIndexError, match="not a readable BM25 index"):
        BM25.load(tmp_path / "bad.npz")
    with pytest.raises(SearchIndexError, match="no BM25 index there"):
        BM25.load(tmp_path / "none.npz")


@pytest.mark.parametrize("bad", [{"variant": "tfidf"}, {"k1": -1.0}, {"b": 1.5}])
def test_a_bad_config_names_the_field(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        BM25Config(**bad)
