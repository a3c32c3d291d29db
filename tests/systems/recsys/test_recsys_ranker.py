"""The ranking stage: candidates, features that see nothing after each user's now, labels from the later
window, and both rankers (LambdaMART, the DLRM-style SparseNN) learning which feature tells."""

import numpy as np
import pytest
import torch

from nanozoo.systems.recsys import metrics as M
from nanozoo.systems.recsys import ranker as R
from nanozoo.systems.recsys import synthetic
from nanozoo.systems.recsys.data import Interactions
from nanozoo.systems.recsys.sparsenn import SparseNN, SparseNNConfig, SparseNNRanker, interact, list_loss
from nanozoo.systems.recsys.two_tower import TwoTower, TwoTowerConfig, fill_features, sized


def test_labels_come_from_the_later_window():
    later = Interactions(np.array([0, 0, 2]), np.array([4, 1, 3]), np.arange(3), np.ones(3, np.float32),
                         np.arange(3), 6)  # fmt: skip
    cands = np.array([[1, 2, 4], [3, 5, 0]])
    assert R.labels_of(cands, np.array([0, 2]), later).tolist() == [[1, 0, 1], [1, 0, 0]]


def test_interleave_ranks_and_order():
    # 5 (two-tower), 1 (kNN), 1 again, 3, 2, 5 again: cut at 4
    cands, src = R.interleave(np.array([[5, 1, 2, 7]]), np.array([[1, 3, 5, 9]]), 4)
    assert cands.tolist() == [[5, 1, 3, 2]]
    assert src[0].tolist() == [[True, True], [True, True], [False, True], [True, False]]
    short, src = R.interleave(np.array([[1, -1]]), np.array([[1, -1]]), 3)
    assert short.tolist() == [[1, -1, -1]] and not src[0, 1:].any()  # ran out: -1, from no source
    assert R.ranks(np.array([[0.1, 0.9, 0.5]])).tolist() == [[1.0, 0.0, 0.5]]
    assert R.order(np.array([[4, -1, 6]]), np.array([[0.1, 9.0, 0.5]])).tolist() == [[6, 4, -1]]


def test_popularity_counts_only_what_happened_by_each_users_now():
    # item 1: users 0 (t=10), 1 (t=20), 2 (t=30, and again at 40); item 2: user 1 at t=5
    past = Interactions(np.array([0, 1, 1, 2, 2]), np.array([1, 2, 1, 1, 1]), np.array([10, 5, 20, 30, 40]),
                        np.ones(5, np.float32), np.arange(3), 3)  # fmt: skip
    items = np.array([[1, 2], [1, 2], [1, 0]])
    now = np.array([10, 25, 100])
    assert R.popularity_asof(past, items, now).tolist() == [[1, 1], [2, 1], [3, 0]]  # user 2 counted once
    day = R.DAY
    past_days = Interactions(past.user, past.item, past.time * day, past.weight, past.user_ids, 3)
    recent = R.popularity_asof(past_days, items, now * day, days=15)  # (now - 15 days, now]
    assert recent.tolist() == [[1, 1], [1, 0], [0, 0]]


def _stage(inter, items, seed=0):
    from nanozoo.systems.recsys import baselines as B

    torch.manual_seed(seed)
    model = TwoTower(sized(TwoTowerConfig(n_embd=8, history=5), items, inter))
    fill_features(model, items, inter)
    return model, B


def test_features_do_not_see_other_users_later_interactions():
    """Adding other users' interactions after user 0's now changes none of user 0's counted features."""
    inter, items = synthetic.interactions(40, n_items=20, n_clusters=2, seed=3)
    model, B = _stage(inter, items)
    u0_now = inter.time[inter.user == 0].max()
    later = Interactions(np.array([5, 6, 7]), np.array([3, 3, 4]), np.full(3, u0_now + 86_400 * 400),
                         np.ones(3, np.float32), inter.user_ids, inter.n_items)  # fmt: skip
    both = (np.r_[getattr(inter, a), getattr(later, a)] for a in ("user", "item", "time", "weight"))
    more = Interactions(*both, inter.user_ids, inter.n_items)
    users, cands = np.array([0]), np.array([[3, 4, 1, 0]])
    src = np.ones((1, 4, 2), bool)
    counted = [R.FEATURES.index(f) for f in ("log_pop", "log_pop_365d", "log_pop_30d", "log_age_days",
                                            "tag_affinity", "log_history")]  # fmt: skip
    a = R.Stage(model, inter, items, B.ItemKNN().fit(inter), B.ALS(iterations=1).fit(inter))
    b = R.Stage(model, more, items, a.knn, a.als)  # the same models: only the counts could differ
    np.testing.assert_array_equal(
        a.features(users, cands, src)[..., counted], b.features(users, cands, src)[..., counted]
    )
    # while a user whose now is after them does see them
    late = np.array([later.user[0]])
    assert (b.features(late, cands, src)[0, :2, 0 + R.FEATURES.index("log_pop")]
            > a.features(late, cands, src)[0, :2, R.FEATURES.index("log_pop")]).all()  # fmt: skip


def _telling(U=200, K=30, seed=0):
    """Lists where feature 1 tells a positive apart; 0 and 2 are noise."""
    rng = np.random.default_rng(seed)
    labels = (rng.random((U, K)) < 0.1).astype(np.float32)
    X = rng.normal(size=(U, K, 3)).astype(np.float32)
    X[..., 1] += 2.0 * labels
    cands = np.tile(np.arange(K), (U, 1))
    lists = R.Lists(np.arange(U), cands, X, torch.full((U, 4), K))
    return lists, labels


@pytest.mark.parametrize("kind", ["lambdamart", "sparsenn"])
def test_rankers_learn_the_telling_feature(need, kind):
    lists, labels = _telling()
    if kind == "lambdamart":
        need("lightgbm")
        ranker = R.LambdaMART(n_estimators=50)
    else:
        K = lists.cands.shape[1]
        ranker = SparseNNRanker(SparseNNConfig(epochs=15), 200, K, torch.full((K, 2), 3), 3)
    train, test = lists.take(np.arange(100)), lists.take(np.arange(100, 200))
    ranked = ranker.fit(train, labels[:100]).rerank(test)  # users the ranker has not seen
    truth = [np.flatnonzero(row) for row in labels[100:]]
    keep = np.array([len(t) > 0 for t in truth])
    truth = [t for t in truth if len(t)]
    before = M.ndcg_at_k(test.cands[keep], truth, 10)
    after = M.ndcg_at_k(ranked[keep], truth, 10)
    assert after > before + 0.3  # random order: about 0.1 for one positive in ten
    assert sorted(ranked[0].tolist()) == list(range(30))  # a permutation of the candidates


def test_interaction_equals_torchrecs_dlrm(need):
    need("torchrec")
    from torchrec.models.dlrm import InteractionArch

    torch.manual_seed(0)
    dense, sparse = torch.randn(6, 8), torch.randn(6, 4, 8)
    ours = interact(dense, sparse, torch.triu_indices(5, 5, offset=1))
    torch.testing.assert_close(
        ours, InteractionArch(num_sparse_features=4)(dense, sparse), atol=1e-6, rtol=1e-6
    )
    assert ours.shape == (6, 8 + 10)
    assert ours[0, 8].item() == pytest.approx(
        float(dense[0] @ sparse[0, 0]), abs=1e-5
    )  # the pair (dense, first)


def test_list_losses_and_a_missing_candidate():
    scores = torch.tensor([[2.0, 0.0, 5.0]])
    labels, valid = torch.tensor([[1.0, 1.0, 0.0]]), torch.tensor([[True, True, False]])
    p = torch.softmax(torch.tensor([2.0, 0.0]), 0)
    assert list_loss(scores, labels, valid, "softmax").item() == pytest.approx(-0.5 * p.log().sum().item())
    bce = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor([2.0, 0.0]), torch.ones(2))
    assert list_loss(scores, labels, valid, "bce").item() == pytest.approx(bce.item())
    m = SparseNN(SparseNNConfig(n_embd=4, hidden=8), 3, 5, 6, torch.full((6, 2), 2), 2)
    out = m(torch.tensor([0]), torch.tensor([[1, -1]]), torch.zeros(1, 2, 3), torch.full((1, 3), 6))
    assert out.shape == (1, 2) and torch.isfinite(out).all()  # -1: the padding id, scored, masked later
