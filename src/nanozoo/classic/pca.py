"""Principal component analysis by the singular value decomposition of the centred data.

Reference: Jolliffe, *Principal Component Analysis* (2002); scikit-learn's `PCA` (full SVD solver).
With X_c = U S V^T, the principal axes are the rows of V^T, the variance along axis i is s_i^2 / (N - 1),
and the projections are X_c V = U S. Each axis is a direction, so its sign is arbitrary: we flip it so
that its largest-magnitude entry is positive (scikit-learn's `svd_flip` with `u_based_decision=False`).
"""

from __future__ import annotations

import numpy as np

from nanozoo.classic.base import check_fitted, check_X


class PCA:
    """`components_` (K, D), `explained_variance_` (K,), `explained_variance_ratio_` (K,), `mean_` (D,)."""

    def __init__(self, n_components: int | None = None):
        if n_components is not None and n_components < 1:
            raise ValueError(f"n_components={n_components} must be >= 1 (or None for all)")
        self.n_components = n_components
        self.components_: np.ndarray | None = None

    def fit(self, X) -> PCA:
        X = check_X(X)
        N, D = X.shape
        K = self.n_components or min(N, D)
        if K > min(N, D):
            raise ValueError(f"n_components={K} is larger than min(n_samples={N}, n_features={D})")
        if N < 2:
            raise ValueError("PCA needs at least 2 samples to estimate a variance")
        ### BEGIN SOLUTION
        self.mean_ = X.mean(axis=0)
        _, S, Vt = np.linalg.svd(X - self.mean_, full_matrices=False)  # S (R,), Vt (R, D), R = min(N, D)
        ### END SOLUTION
        rows = np.arange(len(Vt))
        Vt *= np.sign(Vt[rows, np.abs(Vt).argmax(axis=1)])[:, None]  # largest entry of each axis positive
        var = S**2 / (N - 1)
        self.components_ = Vt[:K]  # (K, D)
        self.singular_values_ = S[:K]
        self.explained_variance_ = var[:K]
        self.explained_variance_ratio_ = var[:K] / var.sum()
        return self

    def transform(self, X) -> np.ndarray:
        check_fitted(self, "components_")
        X = check_X(X, n_features=len(self.mean_))
        return (X - self.mean_) @ self.components_.T  # (N, D) -> (N, K)

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, Z) -> np.ndarray:
        check_fitted(self, "components_")
        Z = check_X(Z, "Z", n_features=len(self.components_))
        return Z @ self.components_ + self.mean_  # (N, K) -> (N, D)
