"""k-means clustering: k-means++ seeding, Lloyd iterations, the best of several restarts.

References: Lloyd, "Least squares quantization in PCM" (1982); Arthur & Vassilvitskii, "k-means++: the
advantages of careful seeding" (SODA 2007); scikit-learn's `KMeans` for the stopping rule (tol is scaled
by the mean feature variance) and for what to do with an empty cluster (move its centroid onto the point
that is farthest from its own centroid). Ours seeds with plain k-means++ (one candidate per centre), not
scikit-learn's greedy variant with 2 + log(k) candidates; the restarts make up for it.
"""

from __future__ import annotations

import numpy as np

from nanozoo.classic.base import check_fitted, check_X


def sq_distances(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    """||x_n - c_k||^2 for every pair: (N, D), (K, D) -> (N, K), as |x|^2 - 2 x.c + |c|^2 clipped at 0."""
    d = (X * X).sum(axis=1)[:, None] - 2.0 * X @ C.T + (C * C).sum(axis=1)[None, :]
    return np.maximum(d, 0.0)


def kmeans_plus_plus(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k centres: the first uniformly at random, each next one with probability proportional to D(x)^2."""
    N = len(X)
    centres = [X[rng.integers(N)]]
    d2 = sq_distances(X, centres[0][None])[:, 0]  # (N,) squared distance to the nearest centre so far
    for _ in range(1, k):
        total = d2.sum()
        i = rng.choice(N, p=d2 / total) if total > 0 else rng.integers(N)  # all points on the centres
        centres.append(X[i])
        d2 = np.minimum(d2, sq_distances(X, X[i][None])[:, 0])
    return np.array(centres)  # (K, D)


def lloyd(
    X: np.ndarray, C: np.ndarray, max_iter: int, tol: float
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Alternate assignment and mean update until the centres move less than tol.

    Returns the centres (K, D), the labels (N,) and the inertia after each assignment (the last is final).
    """
    C, history = C.copy(), []
    rows = np.arange(len(X))
    for _ in range(max_iter):
        ### BEGIN SOLUTION
        d = sq_distances(X, C)  # (N, K)
        labels = d.argmin(axis=1)  # (N,) 1. assign each point to its nearest centre
        history.append(float(d[rows, labels].sum()))
        counts = np.bincount(labels, minlength=len(C))  # (K,)
        new = np.zeros_like(C)
        np.add.at(new, labels, X)  # 2. move each centre to the mean of its points
        new[counts > 0] /= counts[counts > 0, None]
        ### END SOLUTION
        empty = np.flatnonzero(counts == 0)
        if len(empty):
            # an empty cluster takes the points farthest from their own centroids, one each
            far = np.argsort(d[rows, labels])[::-1][: len(empty)]
            new[empty] = X[far]
        shift = ((new - C) ** 2).sum()
        C = new
        if shift <= tol and not len(empty):
            break
    d = sq_distances(X, C)
    labels = d.argmin(axis=1)
    history.append(float(d[rows, labels].sum()))
    return C, labels, history


# ---------------------------------------------------------------------------------------------------


class KMeans:
    """`cluster_centers_` (K, D), `labels_` (N,), `inertia_` (the sum of squared distances to the centres)."""

    def __init__(
        self,
        k: int,
        n_init: int = 10,
        max_iter: int = 300,
        tol: float = 1e-4,
        seed: int | None = None,
        init: np.ndarray | None = None,
    ):
        if k < 1:
            raise ValueError(f"k={k} must be >= 1")
        if n_init < 1 or max_iter < 1 or tol < 0:
            raise ValueError(f"n_init={n_init} and max_iter={max_iter} must be >= 1, tol={tol} >= 0")
        self.k, self.n_init, self.max_iter, self.tol, self.seed = k, n_init, max_iter, tol, seed
        self.init = None if init is None else check_X(init, "init")
        if self.init is not None and len(self.init) != k:
            raise ValueError(f"init has {len(self.init)} centres, expected k={k}")
        self.cluster_centers_: np.ndarray | None = None
        self.labels_: np.ndarray | None = None
        self.inertia_ = float("inf")
        self.inertia_history_: list[float] = []  # of the best restart, one value per Lloyd iteration

    def fit(self, X) -> KMeans:
        X = check_X(X)
        if self.k > len(X):
            raise ValueError(f"k={self.k} is larger than the number of points ({len(X)})")
        if self.init is not None and self.init.shape[1] != X.shape[1]:
            raise ValueError(f"init has {self.init.shape[1]} features, X has {X.shape[1]}")
        tol = self.tol * X.var(axis=0).mean()  # scale-free, as in scikit-learn
        rng = np.random.default_rng(self.seed)
        best = None
        for _ in range(1 if self.init is not None else self.n_init):
            C0 = self.init if self.init is not None else kmeans_plus_plus(X, self.k, rng)
            run = lloyd(X, C0, self.max_iter, tol)
            if best is None or run[2][-1] < best[2][-1]:
                best = run
        self.cluster_centers_, self.labels_, self.inertia_history_ = best
        self.inertia_ = self.inertia_history_[-1]
        return self

    def predict(self, X) -> np.ndarray:
        check_fitted(self, "cluster_centers_")
        X = check_X(X, n_features=self.cluster_centers_.shape[1])
        return sq_distances(X, self.cluster_centers_).argmin(axis=1)

    def fit_predict(self, X) -> np.ndarray:
        return self.fit(X).labels_
