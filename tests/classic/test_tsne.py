"""Exact t-SNE against scikit-learn's TSNE(method="exact"): the affinities, the gradient, the final KL."""

import numpy as np
import pytest

from nanozoo.classic.tsne import TSNE, conditional_p, joint_p, kl_and_gradient, squared_distances


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:200] / 16.0, y[:200]


def test_each_row_has_the_asked_perplexity(digits):
    X, _ = digits
    P = conditional_p(squared_distances(X), perplexity=20.0)
    assert np.allclose(P.sum(1), 1.0) and np.all(np.diag(P) == 0)
    H = -(P * np.log(np.where(P > 0, P, 1.0))).sum(1)  # nats
    assert np.allclose(np.exp(H), 20.0, rtol=1e-4)
    J = joint_p(X, 20.0)
    assert np.allclose(J, J.T) and J.sum() == pytest.approx(1.0, abs=1e-9)


def test_affinities_equal_sklearns(digits, need):
    manifold = need("sklearn.manifold._t_sne")
    X, _ = digits
    theirs = manifold._joint_probabilities(squared_distances(X).astype(np.float32), 30.0, 0)
    from scipy.spatial.distance import squareform

    np.testing.assert_allclose(squareform(joint_p(X, 30.0), checks=False), theirs, rtol=1e-3, atol=1e-9)


def test_gradient_is_the_derivative_of_the_kl():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((12, 5)), rng.standard_normal((12, 2))
    P = joint_p(X, 4.0)
    _, grad = kl_and_gradient(P, Y)
    h, num = 1e-6, np.zeros_like(Y)
    for i in range(12):
        for d in range(2):
            E = np.zeros_like(Y)
            E[i, d] = h
            num[i, d] = (kl_and_gradient(P, Y + E)[0] - kl_and_gradient(P, Y - E)[0]) / (2 * h)
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-8)


def test_final_kl_within_5_percent_of_sklearn_exact(digits):
    from sklearn.manifold import TSNE as SkTSNE

    X, y = digits
    ours = TSNE(perplexity=30.0, random_state=0).fit(X)
    theirs = SkTSNE(perplexity=30.0, method="exact", init="pca", random_state=0).fit(X)
    assert abs(ours.kl_divergence_ - theirs.kl_divergence_) <= 0.05 * theirs.kl_divergence_  # the bar
    # our KL of their map is their KL: the same objective
    their_kl = kl_and_gradient(joint_p(X, 30.0), theirs.embedding_.astype(np.float64))[0]
    assert their_kl == pytest.approx(theirs.kl_divergence_, rel=1e-3)
    # neighbours in the map share a digit far more often than chance (0.1)
    d = squared_distances(ours.embedding_)
    np.fill_diagonal(d, np.inf)
    assert (y[d.argmin(1)] == y).mean() > 0.85


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="perplexity=50"):
        TSNE(perplexity=50).fit(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="init='x'"):
        TSNE(init="x")
