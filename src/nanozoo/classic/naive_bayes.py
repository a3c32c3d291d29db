"""Multinomial naive Bayes for count-like features (word counts, tf-idf), with additive (Laplace) smoothing.

Reference: Manning, Raghavan & Schütze, *Introduction to Information Retrieval*, section 13.2. Each class k
is a bag-of-words model: P(x | k) is proportional to prod_j theta_kj^x_j, with
    theta_kj = (N_kj + alpha) / (N_k + alpha V),   N_kj = sum of feature j over the class's rows,
and the prediction is argmax_k  log P(k) + x . log theta_k,  linear in x. Equal to scikit-learn's
`MultinomialNB(alpha=...)` (same log-probabilities, same predictions) in tests/classic/test_text.py.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class MultinomialNB:
    """`class_log_prior_` (K,) and `feature_log_prob_` (K, V), named as in scikit-learn."""

    def __init__(self, alpha: float = 1.0):
        if alpha <= 0:
            raise ValueError(f"alpha={alpha} must be > 0 (a zero count would give log 0)")
        self.alpha = alpha
        self.classes_: np.ndarray | None = None
        self.feature_log_prob_: np.ndarray | None = None

    def fit(self, X, y) -> MultinomialNB:
        X, y = sp.csr_matrix(X, dtype=np.float64), np.asarray(y)
        if X.shape[0] != len(y):
            raise ValueError(f"X has {X.shape[0]} rows but y has {len(y)}: shape mismatch")
        if X.nnz and X.data.min() < 0:
            raise ValueError(f"X has a negative entry ({X.data.min()}): counts and tf-idf are >= 0")
        self.classes_, idx = np.unique(y, return_inverse=True)
        Y = np.eye(len(self.classes_))[idx]  # (N, K) one-hot
        ### BEGIN SOLUTION
        counts = np.asarray((X.T @ Y).T)  # (K, V) N_kj
        smoothed = counts + self.alpha
        self.feature_log_prob_ = np.log(smoothed) - np.log(smoothed.sum(axis=1, keepdims=True))  # log theta
        self.class_log_prior_ = np.log(Y.sum(axis=0) / len(y))  # (K,) log P(k)
        ### END SOLUTION
        return self

    def joint_log_likelihood(self, X) -> np.ndarray:
        if self.feature_log_prob_ is None:
            raise ValueError("this MultinomialNB is not fitted yet: call fit(X, y) first")
        X = sp.csr_matrix(X, dtype=np.float64)
        if X.shape[1] != self.feature_log_prob_.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features, the model was fitted on {self.feature_log_prob_.shape[1]}"
            )
        return np.asarray(X @ self.feature_log_prob_.T) + self.class_log_prior_  # (N, K)

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.joint_log_likelihood(X), axis=1)]

    def score(self, X, y) -> float:
        """Accuracy."""
        return float(np.mean(self.predict(X) == np.asarray(y)))
