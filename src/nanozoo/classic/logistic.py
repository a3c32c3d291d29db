"""Logistic regression, binary (sigmoid) and multinomial (softmax), by full-batch gradient descent with L2.

Reference: Bishop, *Pattern Recognition and Machine Learning*, sections 4.3.2 (binary) and 4.3.4
(multiclass). Objective: the mean cross-entropy plus (alpha / 2) ||W||^2 (the intercept is not penalised).
scikit-learn's `LogisticRegression(C=...)` minimises C * sum(cross-entropy) + ||W||^2 / 2, the same
problem at alpha = 1 / (C N); it solves it with L-BFGS, we take plain gradient steps.

Gradients (P = predicted probabilities, Y = one-hot targets, both (N, K)):
    dL/dW = X^T (P - Y) / N + alpha W,   dL/db = sum_n (P - Y) / N
the same formula for the sigmoid (K = 1 column, P = sigma(z), Y = y). The loss is convex and its gradient
is L-Lipschitz with L <= ||[X 1]||_2^2 / (4N) + alpha (sigmoid) or ||[X 1]||_2^2 / (2N) + alpha (softmax),
so any step lr <= 1 / L makes the loss decrease at every iteration (`max_stable_lr`).
"""

from __future__ import annotations

import logging

import numpy as np

from nanozoo.classic.base import check_fitted, check_X, check_Xy

log = logging.getLogger(__name__)


def softmax(Z: np.ndarray) -> np.ndarray:
    Z = Z - Z.max(axis=1, keepdims=True)  # subtract the row max: exp never overflows
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)), without overflow for large |z|


def max_stable_lr(X, n_classes: int, alpha: float = 0.0) -> float:
    """1 / L for the loss above: a step no larger than this never increases it."""
    X = check_X(X)
    X1 = np.hstack([X, np.ones((len(X), 1))])
    spectral = np.linalg.norm(X1, 2) ** 2 / len(X)
    return 1.0 / (spectral / (4.0 if n_classes == 2 else 2.0) + alpha)


# ---------------------------------------------------------------------------------------------------


class LogisticRegression:
    """`coef_` (D,) and scalar `intercept_` for two classes, (K, D) and (K,) for K > 2, as in scikit-learn."""

    def __init__(self, alpha: float = 1e-4, lr: float = 0.5, max_iter: int = 2000, tol: float = 1e-6):
        if alpha < 0:
            raise ValueError(f"alpha={alpha} must be >= 0")
        if lr <= 0 or max_iter < 1:
            raise ValueError(f"lr={lr} must be > 0 and max_iter={max_iter} >= 1")
        self.alpha, self.lr, self.max_iter, self.tol = alpha, lr, max_iter, tol
        self.classes_: np.ndarray | None = None
        self.coef_: np.ndarray | None = None
        self.intercept_: np.ndarray | float | None = None
        self.loss_history_: list[float] = []

    @property
    def binary(self) -> bool:
        return len(self.classes_) == 2

    def fit(self, X, y) -> LogisticRegression:
        X, y = check_Xy(X, y, numeric_y=False)
        self.classes_, idx = np.unique(y, return_inverse=True)
        K, (N, D) = len(self.classes_), X.shape
        if K < 2:
            raise ValueError(
                f"y has a single class ({self.classes_[0]!r}); logistic regression needs two or more"
            )
        Y = idx[:, None].astype(np.float64) if K == 2 else np.eye(K)[idx]  # (N, 1) or (N, K) targets
        W, b = np.zeros((D, Y.shape[1])), np.zeros(Y.shape[1])
        self.loss_history_ = []
        for it in range(self.max_iter):
            P, loss = self._forward(X, W, b, Y)  # (N, K') probabilities
            if not np.isfinite(loss) or loss > 1e100:
                raise ValueError(f"gradient descent diverged at iteration {it}: lr={self.lr} is too large")
            self.loss_history_.append(loss)
            ### BEGIN SOLUTION
            G = (P - Y) / N  # (N, K') dL/dlogits
            gW, gb = X.T @ G + self.alpha * W, G.sum(axis=0)
            W, b = W - self.lr * gW, b - self.lr * gb
            ### END SOLUTION
            if max(np.abs(gW).max(), np.abs(gb).max()) < self.tol:
                break
        else:
            log.info(
                "logistic regression: max_iter=%d reached, gradient above tol=%g", self.max_iter, self.tol
            )
        self.coef_, self.intercept_ = (W[:, 0], float(b[0])) if K == 2 else (W.T, b)
        return self

    def _forward(self, X, W, b, Y) -> tuple[np.ndarray, float]:
        Z = X @ W + b  # (N, K') logits
        if Z.shape[1] == 1:  # binary: log(1 + e^z) - y z, computed as logaddexp(0, z)
            ce = np.mean(np.logaddexp(0.0, Z[:, 0]) - Y[:, 0] * Z[:, 0])
            P = sigmoid(Z)
        else:  # softmax: logsumexp(z) - z_y
            m = Z.max(axis=1, keepdims=True)
            lse = m[:, 0] + np.log(np.exp(Z - m).sum(axis=1))
            ce = np.mean(lse - (Z * Y).sum(axis=1))
            P = softmax(Z)
        return P, float(ce + 0.5 * self.alpha * np.sum(W * W))

    def decision_function(self, X) -> np.ndarray:
        check_fitted(self, "coef_")
        X = check_X(X, n_features=self.coef_.shape[-1])
        return X @ self.coef_.T + self.intercept_  # (N,) or (N, K)

    def predict_proba(self, X) -> np.ndarray:
        Z = self.decision_function(X)
        if Z.ndim == 1:
            p = sigmoid(Z)
            return np.stack([1.0 - p, p], axis=1)  # (N, 2)
        return softmax(Z)  # (N, K)

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def score(self, X, y) -> float:
        """Accuracy."""
        return float(np.mean(self.predict(X) == np.asarray(y)))
