"""The ranking stage: labels from the later window, and LambdaMART learning which feature tells."""

import numpy as np

from nanozoo.systems.recsys import metrics as M
from nanozoo.systems.recsys import ranker as R
from nanozoo.systems.recsys.data import Interactions


def test_labels_come_from_the_later_window():
    later = Interactions(np.array([0, 0, 2]), np.array([4, 1, 3]), np.arange(3), np.ones(3, np.float32),
                         np.arange(3), 6)  # fmt: skip
    cands = np.array([[1, 2, 4], [3, 5, 0]])
    assert R.labels_of(cands, np.array([0, 2]), later).tolist() == [[1, 0, 1], [1, 0, 0]]


def test_lambdamart_learns_the_telling_feature(need):
    need("lightgbm")
    rng = np.random.default_rng(0)
    U, K = 200, 30
    labels = (rng.random((U, K)) < 0.1).astype(np.float32)
    X = rng.normal(size=(U, K, 3)).astype(np.float32)
    X[..., 1] += 2.0 * labels  # feature 1 tells a positive apart; 0 and 2 are noise
    cands = np.tile(np.arange(K), (U, 1))
    truth = [np.flatnonzero(row) for row in labels]
    keep = np.array([len(t) > 0 for t in truth])
    model = R.LambdaMART(n_estimators=50).fit(X[:100], labels[:100])
    ranked = model.rerank(cands[100:], X[100:])  # users the ranker has not seen
    test = [t for t, k in zip(truth[100:], keep[100:], strict=True) if k]
    before = M.ndcg_at_k(cands[100:][keep[100:]], test, 10)
    after = M.ndcg_at_k(ranked[keep[100:]], test, 10)
    assert after > before + 0.3  # random order: about 0.1 for one positive in ten
    assert sorted(ranked[0].tolist()) == list(range(K))  # a permutation of the candidates


def test_candidates_interleave_the_two_sources(monkeypatch):
    monkeypatch.setattr(R, "retrieve", lambda *args: np.array([[5, 1, 2, 7]]))
    monkeypatch.setattr(R.B, "recommend", lambda *args: np.array([[1, 3, 5, 9]]))
    # 5 (two-tower), 1 (kNN), 1 again, 3, 2, 5 again: cut at 4
    assert R.candidates(None, None, np.array([0]), 4, None).tolist() == [[5, 1, 3, 2]]
