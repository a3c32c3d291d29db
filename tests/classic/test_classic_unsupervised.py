"""k-means and PCA in numpy against scikit-learn."""

import numpy as np
import pytest
from sklearn import cluster, datasets, decomposition

from nanozoo.classic import PCA, KMeans
from nanozoo.classic.kmeans import kmeans_plus_plus

# ---------------------------------------------------------------------------------------------------
# k-means


def test_worked_example_two_obvious_clusters():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    km = KMeans(2, seed=0).fit(X)
    centres = km.cluster_centers_[np.argsort(km.cluster_centers_[:, 0])]
    np.testing.assert_allclose(centres, [[0.0, 0.5], [10.0, 0.5]])
    assert km.inertia_ == pytest.approx(4 * 0.25)
    assert km.labels_[0] == km.labels_[1] != km.labels_[2] == km.labels_[3]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inertia_within_1pct_of_sklearn_on_blobs(seed):
    X, _ = datasets.make_blobs(n_samples=500, centers=5, n_features=3, cluster_std=1.5, random_state=seed)
    ours = KMeans(5, n_init=10, seed=seed).fit(X)
    sk = cluster.KMeans(5, n_init=10, random_state=seed).fit(X)
    assert ours.inertia_ <= 1.01 * sk.inertia_, (ours.inertia_, sk.inertia_)  # tolerance: 1%
    assert np.isclose(ours.inertia_, ((X - ours.cluster_centers_[ours.labels_]) ** 2).sum())
    np.testing.assert_array_equal(ours.predict(X), ours.labels_)


def test_empty_cluster_is_refilled():
    X, _ = datasets.make_blobs(n_samples=60, centers=3, random_state=0)
    init = np.vstack([X[:2], [[1e3, 1e3]]])  # the third centre is far from every point: empty at once
    km = KMeans(3, init=init).fit(X)
    assert np.all(np.isfinite(km.cluster_centers_))
    assert len(np.unique(km.labels_)) == 3
    assert np.abs(km.cluster_centers_).max() < 100


def test_duplicate_points_more_clusters_than_distinct_points():
    X = np.array([[1.0, 1.0]] * 5 + [[2.0, 2.0]] * 5)
    # k-means++ finds no third distinct point: a cluster ends up empty or doubled
    km = KMeans(3, seed=0).fit(X)
    assert np.all(np.isfinite(km.cluster_centers_)) and km.inertia_ == pytest.approx(0.0)


def test_kmeans_plus_plus_picks_data_points_spread_out():
    true = np.array([[-10.0, 0.0], [0.0, 10.0], [10.0, 0.0]])
    X, _ = datasets.make_blobs(n_samples=300, centers=true, cluster_std=0.5, random_state=0)
    covered = 0
    for seed in range(20):
        C = kmeans_plus_plus(X, 3, np.random.default_rng(seed))
        assert all((X == c).all(axis=1).any() for c in C)  # seeds are data points
        covered += len({int(((true - c) ** 2).sum(1).argmin()) for c in C}) == 3
    # D^2 sampling puts a second seed into an already-seeded blob with probability ~3% here; uniform: 78%
    assert covered >= 18, covered


def test_kmeans_bad_input():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="k=5 is larger than the number of points \\(4\\)"):
        KMeans(5).fit(X)
    with pytest.raises(ValueError, match="k=0"):
        KMeans(0)
    Xn = X.copy()
    Xn[1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        KMeans(2).fit(Xn)
    with pytest.raises(ValueError, match="init has 1 centres, expected k=2"):
        KMeans(2, init=[[0.0, 0.0]])
    with pytest.raises(ValueError, match="3 features, the model was fitted on 2"):
        KMeans(2, seed=0).fit(np.arange(8.0).reshape(4, 2)).predict(np.zeros((1, 3)))


# ---------------------------------------------------------------------------------------------------
# PCA


def test_pca_equals_sklearn_up_to_sign():
    X, _ = datasets.make_classification(200, 8, n_informative=5, random_state=0)
    ours, sk = PCA(4).fit(X), decomposition.PCA(4, svd_solver="full").fit(X)
    signs = np.sign((ours.components_ * sk.components_).sum(axis=1))  # +1 or -1 per component
    # tolerance: 1e-8 on the axes, 1e-10 relative on the variances
    np.testing.assert_allclose(ours.components_, signs[:, None] * sk.components_, atol=1e-8)
    np.testing.assert_allclose(ours.explained_variance_, sk.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(ours.explained_variance_ratio_, sk.explained_variance_ratio_, rtol=1e-10)
    np.testing.assert_allclose(ours.transform(X), sk.transform(X) * signs, atol=1e-8)


def test_pca_round_trip_with_all_components():
    X = np.random.default_rng(0).normal(size=(30, 5))
    p = PCA().fit(X)
    np.testing.assert_allclose(p.inverse_transform(p.transform(X)), X, atol=1e-10)
    assert p.explained_variance_ratio_.sum() == pytest.approx(1.0)
    assert np.all(np.diff(p.explained_variance_) <= 0)


def test_pca_worked_example_points_on_a_line():
    X = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    p = PCA(1).fit(X)
    np.testing.assert_allclose(p.components_, [[2**-0.5, 2**-0.5]])
    assert p.explained_variance_[0] == pytest.approx(2.0)  # projections -sqrt2, 0, sqrt2: variance 4/2


def test_pca_bad_input():
    with pytest.raises(ValueError, match="n_components=3 is larger than min"):
        PCA(3).fit(np.zeros((10, 2)))
    with pytest.raises(ValueError, match="must be 2-D"):
        PCA().fit(np.zeros(5))
