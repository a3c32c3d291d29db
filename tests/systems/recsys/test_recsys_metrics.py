"""The top-k metrics on cases worked by hand, and against references: scikit-learn's ndcg_score, Kaggle's apk,
torchmetrics' recall and reciprocal rank."""

import numpy as np
import pytest

from nanozoo.systems.recsys import metrics as M

# user 0: hits at ranks 1 and 3 (0-based) of 4, three relevant items (9 is never recommended);
# user 1: its only relevant item first
RECS = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
TRUTH = [np.array([2, 4, 9]), np.array([5])]


def test_hand_computed_case():
    assert M.recall_at_k(RECS, TRUTH, 2) == pytest.approx((1 / 3 + 1) / 2)
    assert M.recall_at_k(RECS, TRUTH, 4) == pytest.approx((2 / 3 + 1) / 2)
    dcg = 1 / np.log2(3) + 1 / np.log2(5)
    idcg = 1 + 1 / np.log2(3) + 1 / np.log2(4)  # three relevant items, all first
    assert M.ndcg_at_k(RECS, TRUTH, 4) == pytest.approx((dcg / idcg + 1) / 2)
    assert M.ndcg_at_k(RECS, TRUTH, 1) == pytest.approx((0 + 1) / 2)
    assert M.map_at_k(RECS, TRUTH, 4) == pytest.approx(((1 / 2 + 2 / 4) / 3 + 1) / 2)
    assert M.map_at_k(RECS, TRUTH, 2) == pytest.approx(((1 / 2) / 2 + 1) / 2)  # divided by min(|T|, k)
    assert M.mrr_at_k(RECS, TRUTH) == pytest.approx((1 / 2 + 1) / 2)
    assert M.mrr_at_k(RECS, TRUTH, 1) == pytest.approx((0 + 1) / 2)
    np.testing.assert_allclose(M.recall_curve(RECS, TRUTH), [(0 + 1) / 2, (1 / 3 + 1) / 2, (1 / 3 + 1) / 2,
                                                             (2 / 3 + 1) / 2])  # fmt: skip
    assert M.coverage_at_k(RECS, 20, 2) == 4 / 20
    users = np.array([5, 1, 2, 0, 2, 0, 0, 0, 0, 0])  # items 1, 2, 3; item 3 was nobody's: as one user's
    assert M.novelty_at_k(RECS[:1], users, 10, 3) == pytest.approx(-(np.log2(0.1) * 2 + np.log2(0.2)) / 3)


def test_perfect_and_empty_lists():
    truth = [np.array([3, 1]), np.array([0])]
    perfect = np.array([[1, 3, 0], [0, 2, 1]])
    for f in (M.recall_at_k, M.ndcg_at_k, M.map_at_k):
        assert f(perfect, truth, 3) == pytest.approx(1.0)
    miss = np.array([[0, 2, 4], [1, 2, 3]])
    for f in (M.recall_at_k, M.ndcg_at_k, M.map_at_k, M.mrr_at_k):
        assert f(miss, truth, 3) == 0.0
    with pytest.raises(ValueError, match="no relevant item"):
        M.recall_at_k(perfect, [np.array([1]), np.array([], dtype=int)], 3)
    out = M.evaluate(perfect, [*truth[:1], np.array([], dtype=int)], np.ones(5), 5, ks=(2,))
    assert out["recall@2"] == 1.0 and out["mrr"] == 1.0  # the user without truth is left out


def _random_case(rng, U=50, N=40, K=15):
    recs = np.stack([rng.permutation(N)[:K] for _ in range(U)])
    truth = [rng.choice(N, rng.integers(1, 8), replace=False) for _ in range(U)]
    return recs, truth, N


def test_ndcg_equals_scikit_learn():
    from sklearn.metrics import ndcg_score

    recs, truth, N = _random_case(np.random.default_rng(0))
    for k in (1, 5, 10):
        ours = []
        for row, t in zip(recs, truth, strict=True):
            y_true = np.zeros((1, N))
            y_true[0, t] = 1
            y_score = np.zeros((1, N))
            y_score[0, row] = np.arange(len(row), 0, -1)  # distinct scores in the list's order
            ours.append(ndcg_score(y_true, y_score, k=k))
        # sklearn ranks unlisted items too (score 0, tied): only the top k <= K listed ones count
        assert M.ndcg_at_k(recs, truth, k) == pytest.approx(np.mean(ours), abs=1e-12)


def _apk(actual, predicted, k):
    """Kaggle's average precision at k, as ml_metrics (benhamner/Metrics, average_precision.py) writes it
    and the H&M competition scores it (ml_metrics 0.1.4 does not install: its setup.py asks for use_2to3,
    which setuptools refuses)."""
    predicted = predicted[:k]
    score, num_hits = 0.0, 0.0
    for i, p in enumerate(predicted):
        if p in actual and p not in predicted[:i]:
            num_hits += 1.0
            score += num_hits / (i + 1.0)
    return score / min(len(actual), k)


def test_map_at_12_equals_kaggles_apk():
    recs, truth, _ = _random_case(np.random.default_rng(1))
    expected = np.mean([_apk(list(t), list(r), 12) for r, t in zip(recs, truth, strict=True)])
    assert M.map_at_k(recs, truth, 12) == pytest.approx(expected, abs=1e-12)


def test_recall_and_mrr_equal_torchmetrics(need):
    """torchmetrics' retrieval functions score one query at a time from scores over the items."""
    need("torchmetrics")
    import torch
    from torchmetrics.functional.retrieval import retrieval_recall, retrieval_reciprocal_rank

    recs, truth, N = _random_case(np.random.default_rng(2))
    for k in (1, 5, 10, 15):
        expected = []
        for row, t in zip(recs, truth, strict=True):
            target = torch.zeros(N, dtype=torch.bool)
            target[t] = True
            score = torch.zeros(N)
            score[row] = torch.arange(len(row), 0, -1, dtype=torch.float32)  # unlisted items: 0, below all
            expected.append(float(retrieval_recall(score, target, top_k=k)))  # / |T|, unlisted ones included
        assert M.recall_at_k(recs, truth, k) == pytest.approx(np.mean(expected), abs=1e-6)
    # MRR over the list: torchmetrics ranks every item it is given, so it gets the listed ones only
    expected = [
        float(retrieval_reciprocal_rank(torch.arange(len(row), 0, -1.0), torch.as_tensor(np.isin(row, t))))
        for row, t in zip(recs, truth, strict=True)
    ]
    assert M.mrr_at_k(recs, truth) == pytest.approx(np.mean(expected), abs=1e-6)
    assert 0 < np.mean(expected) < 1 and 0 in expected  # some users find nothing: the 0 case is covered
