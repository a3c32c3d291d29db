"""word2vec in numpy: one update by hand, the pairs it trains on, the noise table, the compiled path equal to
the numpy one, and words of shared contexts close together."""

import numpy as np
import pytest

from nanozoo.classic.word2vec import Word2Vec, scatter_add


def test_scatter_add_sums_repeated_rows():
    table = np.zeros((4, 2), np.float32)
    src = np.array([[1.0, 2.0], [10.0, 20.0]], np.float32)
    scatter_add(table, np.array([3, 3, 0]), np.array([1.0, 0.5, 2.0], np.float32), src, np.array([0, 1, 1]))
    np.testing.assert_allclose(table, [[20, 40], [0, 0], [0, 0], [6, 12]])


def test_one_skip_gram_step_is_the_negative_sampling_gradient():
    m = Word2Vec(vector_size=3, negative=2, min_count=1, sample=0).build_vocab([["a", "b", "c", "d"]])
    rng = np.random.default_rng(0)
    m.wv = rng.standard_normal((4, 3)).astype(np.float32)
    m.syn1neg = rng.standard_normal((4, 3)).astype(np.float32)
    v, u = m.wv.copy(), m.syn1neg.copy()
    noise = np.array([[0, 2]])  # the second noise word is the true word: skipped
    out, labels, weight = m._negatives(np.array([2]), noise)
    assert out.tolist() == [[2, 0, 2]] and weight.tolist() == [[1, 1, 0]]
    m._sg_step(np.array([1]), np.array([2]), noise, lr=0.1)
    # by hand: input word 1, output word 2, noise words out[0, 1:]
    s = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    g = (labels[0] - s(u[out[0]] @ v[1])) * weight[0] * 0.1
    want_u = u.copy()
    for t, gt in zip(out[0], g, strict=True):
        want_u[t] += gt * v[1]
    np.testing.assert_allclose(m.syn1neg, want_u, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.wv[1], v[1] + g @ u[out[0]], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.delete(m.wv, 1, 0), np.delete(v, 1, 0))  # no other input moved


def test_windows_stay_inside_sentences_and_shrink():
    m = Word2Vec(window=2, min_count=1, sample=0).build_vocab([["a", "b", "c"], ["d", "e"]])
    ids, sent = m._encode([["a", "b", "c"], ["d", "e"]])
    _, centres, contexts, reach = m._windows(ids, sent, np.random.default_rng(0))
    assert np.all(sent[centres] == sent[contexts]) and np.all(centres != contexts)
    assert np.all(np.abs(centres - contexts) <= reach[centres])
    assert {(0, 3), (3, 0), (2, 3)}.isdisjoint(zip(centres.tolist(), contexts.tolist(), strict=True))


def test_vocabulary_is_ordered_as_gensims_and_rare_words_dropped():
    m = Word2Vec(min_count=2).build_vocab([["x", "y", "y", "z", "z", "z", "w"]])
    assert m.index_to_key == ["z", "y"] and m.keep_prob.shape == (2,)
    with pytest.raises(KeyError, match="'w' is not in the vocabulary"):
        m.fit([["x", "y", "y", "z", "z", "z", "w"]]).similarity("w", "z")
    with pytest.raises(ValueError, match="sg=2"):
        Word2Vec(sg=2)


@pytest.mark.parametrize("sg", [1, 0], ids=["skip-gram", "cbow"])
def test_words_of_shared_contexts_end_up_close(sg):
    # king and queen share every context, apple and pear share theirs: the two pairs must separate
    rng = np.random.default_rng(0)
    royal = ["the {} rules the land", "long live the {} of england", "the {} sits on the throne"]
    fruit = ["she eats a ripe {}", "a red {} fell from the tree", "he peels the sweet {}"]
    sentences = [
        t.format(w).split()
        for _ in range(150)
        for t, w in [
            (rng.choice(royal), rng.choice(["king", "queen"])),
            (rng.choice(fruit), rng.choice(["apple", "pear"])),
        ]
    ]
    m = Word2Vec(vector_size=16, window=3, min_count=1, sg=sg, sample=0, epochs=10, batch_size=64).fit(
        sentences
    )
    assert m.similarity("king", "queen") > m.similarity("king", "apple") + 0.3
    assert m.similarity("apple", "pear") > m.similarity("queen", "pear") + 0.3
    assert m.most_similar("king", 1)[0][0] == "queen"


def test_noise_table_gives_each_word_its_share_of_count_to_the_075():
    m = Word2Vec(min_count=1, sample=0).build_vocab([["a"] * 50 + ["b"] * 30 + ["c"] * 1])
    p = m.counts**0.75 / (m.counts**0.75).sum()
    share = np.bincount(m.noise_table, minlength=3) / len(m.noise_table)
    np.testing.assert_allclose(share, p, atol=1.0 / len(m.noise_table))  # within one slot
    cdf = np.cumsum(p)  # slot i: the first word whose cdf reaches (i + 0.5) / TABLE, as word2vec.c fills it
    want = np.minimum(np.searchsorted(cdf, (np.arange(len(m.noise_table)) + 0.5) / len(m.noise_table)), 2)
    assert np.array_equal(m.noise_table, want)


@pytest.mark.parametrize("sg", [1, 0], ids=["skip-gram", "cbow"])
def test_numba_path_takes_the_numpy_paths_steps(sg):
    pytest.importorskip("numba")
    rng = np.random.default_rng(0)
    words = [f"w{k}" for k in range(40)]
    sentences = [
        list(rng.choice(words, rng.integers(3, 15), p=np.r_[[0.2], [0.8 / 39] * 39])) for _ in range(60)
    ]
    kw = dict(vector_size=8, window=3, min_count=1, sg=sg, negative=3, sample=1e-2, epochs=2, batch_size=16)
    ours = Word2Vec(backend="numpy", **kw).fit(sentences)
    fast = Word2Vec(backend="numba", **kw).fit(sentences)
    assert ours.words_trained_ == fast.words_trained_
    assert np.abs(ours.wv - ours.wv[:1]).max() > 1e-3  # trained: the vectors moved apart
    np.testing.assert_allclose(fast.wv, ours.wv, atol=1e-5, rtol=0)
    np.testing.assert_allclose(fast.syn1neg, ours.syn1neg, atol=1e-5, rtol=0)


def test_backend_is_checked():
    with pytest.raises(ValueError, match="backend='cuda'"):
        Word2Vec(backend="cuda")


def test_without_numba_auto_falls_back_to_numpy_with_one_warning(monkeypatch, caplog):
    from nanozoo.classic import word2vec

    monkeypatch.setattr(word2vec, "numba", None)
    word2vec._numba_kernels.cache_clear()
    try:
        sentences = [["a", "b", "c", "a"]] * 5
        for _ in range(2):
            Word2Vec(vector_size=4, min_count=1, sample=0, epochs=1).fit(sentences)
        assert sum("numba is not installed" in r.message for r in caplog.records) == 1
        with pytest.raises(ValueError, match="backend='numba' needs numba"):
            Word2Vec(vector_size=4, min_count=1, backend="numba").fit(sentences)
    finally:
        word2vec._numba_kernels.cache_clear()
