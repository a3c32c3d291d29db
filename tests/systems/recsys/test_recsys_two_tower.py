"""The two-tower model (features, histories, the in-batch softmax with logQ) and the FAISS index."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nanozoo.systems.recsys import index as I
from nanozoo.systems.recsys.data import Interactions, Items
from nanozoo.systems.recsys.two_tower import TwoTower, TwoTowerConfig, histories, item_features, pad


def test_item_features_tags_decades_and_words():
    items = Items(
        np.arange(3),
        ["Toy Story (1995)", "Toy Soldiers (1991)", "Heat (1995)"],
        [["Animation"], ["Action"], ["Action", "Crime"]],
    )
    tags, words, item_tags, item_words = item_features(items)
    assert tags == ["1990s", "Action", "Animation", "Crime"]
    assert words == ["toy"]  # "story", "soldiers", "heat" are in one title only; the year is no word
    assert [[tags[t] for t in row] for row in item_tags] == [
        ["Animation", "1990s"],
        ["Action", "1990s"],
        ["Action", "Crime", "1990s"],
    ]
    assert item_words == [[0], [0], []]
    assert pad([[1, 2, 3], []], 2, 9).tolist() == [[2, 3], [9, 9]]  # the last ids, padded on the left


def test_a_history_holds_only_the_past():
    # user 0 saw items 5, 3, 4 in that order; user 1 saw item 2
    inter = Interactions(
        np.array([0, 0, 0, 1]), np.array([3, 5, 4, 2]), np.array([20, 10, 30, 5]), np.ones(4, np.float32),
        np.arange(2), 6,
    )  # fmt: skip
    assert inter.item.tolist() == [5, 3, 4, 2]
    assert histories(inter, 2, 6).tolist() == [[6, 6], [6, 5], [5, 3], [6, 6]]  # pad id 6


def _model(logq: bool, **kw) -> TwoTower:
    torch.manual_seed(0)
    cfg = TwoTowerConfig(n_users=5, n_items=7, n_tags=3, n_words=4, n_embd=8, history=3, logq=logq, **kw)
    m = TwoTower(cfg)
    m.log_q.copy_(torch.log(torch.tensor([0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1])))
    return m


def test_in_batch_softmax_with_logq_and_a_duplicate_masked():
    user = torch.tensor([0, 1, 2, 3])
    hist = torch.tensor([[7, 1, 2], [7, 7, 7], [3, 4, 5], [0, 0, 6]])
    item = torch.tensor([0, 2, 0, 5])  # rows 0 and 2 share their positive
    for logq in (False, True):
        m = _model(logq)
        u, v = m.user_vectors(user, hist), m.item_vectors(item)
        logits = u @ v.T / m.cfg.temperature - (m.log_q[item] if logq else 0)
        logits[0, 2] = logits[2, 0] = float("-inf")
        expected = F.cross_entropy(logits, torch.arange(4))
        torch.testing.assert_close(m(user, hist, item), expected, atol=1e-6, rtol=1e-6)
    # the correction is not a no-op: q differs across the batch's items
    assert not torch.allclose(_model(True)(user, hist, item), _model(False)(user, hist, item))


def test_towers_give_unit_vectors_and_the_features_matter():
    m = _model(True)
    v = m.all_item_vectors()
    assert v.shape == (7, 8) and torch.allclose(v.norm(dim=1), torch.ones(7), atol=1e-6)
    before = m.item_vectors(torch.tensor([1]))
    m.item_tags[1] = torch.tensor([0, 1, 2, 3, 3, 3, 3, 3])  # tags 0..2 then padding
    assert not torch.allclose(before, m.item_vectors(torch.tensor([1])))


def test_exact_index_equals_brute_force_and_excludes():
    rng = np.random.default_rng(0)
    items, q = rng.normal(size=(200, 16)).astype(np.float32), rng.normal(size=(5, 16)).astype(np.float32)
    idx = I.build(items)
    expected = np.argsort(-(q @ items.T), axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(I.search(idx, q, 10), expected)
    exclude = [expected[r, :3] for r in range(5)]
    np.testing.assert_array_equal(I.search(idx, q, 7, exclude), expected[:, 3:10])
    ivf = I.build(items, "ivf", nlist=4, nprobe=4)  # every cell searched: exact again
    np.testing.assert_array_equal(I.search(ivf, q, 10), expected)
    hnsw = I.search(I.build(items, "hnsw"), q, 10)
    assert np.mean([len(np.intersect1d(a, b)) for a, b in zip(hnsw, expected, strict=True)]) >= 9
    assert (I.search(idx, q[:1], 200, [np.arange(5)])[0, -5:] == -1).all()  # ran out of items
    with pytest.raises(ValueError, match="kind='lsh'"):
        I.build(items, "lsh")
