"""The baselines: worked cases, ALS step for step against `implicit`, and learning tests on planted taste."""

import numpy as np
import pytest

from nanozoo.systems.recsys import baselines as B
from nanozoo.systems.recsys import metrics as M
from nanozoo.systems.recsys.data import Interactions, leave_one_out


def _inter(pairs, n_users, n_items, time=None):
    u, i = np.array(pairs).T
    t = np.arange(len(u)) if time is None else np.asarray(time)
    return Interactions(u, i, t, np.ones(len(u), np.float32), np.arange(n_users), n_items)


def planted(n_users=120, n_items=60, groups=4, per_user=10, seed=0):
    """Each user draws items from their group's block of the catalogue: a taste to find."""
    rng = np.random.default_rng(seed)
    block = n_items // groups
    pairs = []
    for u in range(n_users):
        g = u % groups
        pairs += [(u, g * block + i) for i in rng.choice(block, per_user, replace=False)]
    t = rng.permutation(len(pairs))
    return _inter(pairs, n_users, n_items, t)


def test_recommend_ranks_unseen_items_best_first():
    train = _inter([(0, 1), (1, 0), (1, 2)], 2, 4)
    pop = B.Popularity().fit(train)  # item users: [1, 1, 1, 0]
    recs = B.recommend(pop, train, np.array([0, 1]), 3)
    assert recs[0].tolist() == [0, 2, 3]  # item 1 seen; ties by index
    assert recs[1, :2].tolist() == [1, 3]  # only two unseen: the third slot is a seen item, scored -inf


def test_recent_popularity_counts_the_last_days_only():
    day = 86400
    train = _inter([(0, 0), (1, 0), (2, 1)], 3, 2, time=[0, day, 10 * day])
    assert B.Popularity().fit(train).counts.tolist() == [2, 1]
    assert B.Popularity(window_days=3).fit(train).counts.tolist() == [0, 1]


def test_item_knn_is_cosine_of_item_columns():
    from sklearn.metrics.pairwise import cosine_similarity

    train = planted(30, 12, groups=3, per_user=3, seed=3)
    knn = B.ItemKNN(neighbours=0).fit(train)
    X = train.matrix().toarray()
    expected = cosine_similarity(X.T)
    np.fill_diagonal(expected, 0)
    np.testing.assert_allclose(knn.sim.toarray(), expected, atol=1e-6)
    np.testing.assert_allclose(knn.scores(np.arange(3)), X[:3] @ expected, atol=1e-5)
    top = B.ItemKNN(neighbours=2).fit(train).sim.toarray()
    assert ((top > 0).sum(1) <= 2).all()
    assert np.allclose(np.sort(top, 1)[:, -2:], np.sort(expected, 1)[:, -2:], atol=1e-6)


def test_als_step_equals_implicits_exact_solver(need):
    implicit_als = need("implicit.cpu.als")
    train = planted(40, 30, groups=3, per_user=6, seed=1)
    rng = np.random.default_rng(0)
    X0, Y0 = rng.normal(0, 0.1, (40, 8)), rng.normal(0, 0.1, (30, 8))
    ours = B.ALS(factors=8, regularization=0.1, alpha=2.0, iterations=2)
    ours.fit(train, init=(X0, Y0))
    theirs = implicit_als.AlternatingLeastSquares(
        factors=8, regularization=0.1, alpha=2.0, iterations=2, use_cg=False, dtype=np.float64,
        calculate_training_loss=False, random_state=0,
    )  # fmt: skip
    theirs.user_factors, theirs.item_factors = X0.copy(), Y0.copy()
    theirs.fit(train.matrix().tocsr(), show_progress=False)
    np.testing.assert_allclose(ours.user_factors, theirs.user_factors, atol=1e-8)
    np.testing.assert_allclose(ours.item_factors, theirs.item_factors, atol=1e-8)


def _recall(model, train, test, k=10):
    users = np.unique(test.user)
    recs = B.recommend(model, train, users, k)
    truth = [test.item[test.user == u] for u in users]
    return M.recall_at_k(recs, truth, k)


@pytest.mark.parametrize(
    "model",
    [B.ItemKNN(), B.ALS(factors=8, iterations=5), B.BPR(factors=8, epochs=40, lr=0.1)],
    ids=["item-knn", "als", "bpr"],
)
def test_learns_the_planted_taste(model):
    # 4 groups of 15 items, 10 seen per user: a held-out item is one of the 5 unseen of the user's block, so
    # a model that found the blocks recalls it at k=10 (the 5 in the block rank first); popularity cannot
    train, test = leave_one_out(planted())
    assert _recall(model.fit(train), train, test) > 0.9  # popularity: below 0.5, checked next
    assert _recall(B.Popularity().fit(train), train, test) < 0.5
