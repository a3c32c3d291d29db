"""Linear regression with an L2 penalty (ridge), two ways: closed form by least squares, and gradient descent.

Model `y_hat = X w + b`; objective `||y - X w - b||^2 + alpha ||w||^2` (the intercept is not penalised),
the objective of scikit-learn's `Ridge` (and of `LinearRegression` at alpha = 0). Reference: Hastie,
Tibshirani & Friedman, *The Elements of Statistical Learning*, sections 3.2 and 3.4.1.

- `method="lstsq"`: centre X and y (that solves for b exactly: b = mean(y) - mean(X) w), then solve the
  stacked system [X_c; sqrt(alpha) I] w = [y_c; 0] with `np.linalg.lstsq`: the normal equations
  (X^T X + alpha I) w = X^T y without ever forming X^T X, whose condition number is the square of X's.
- `method="gd"`: full-batch gradient descent on the mean objective (1/N)(||r||^2 + alpha ||w||^2), whose
  gradient is (2/N)(X^T r + alpha w) for w and (2/N) sum(r) for b, r = X w + b - y.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np

from nanozoo.classic.base import check_fitted, check_X, check_Xy

log = logging.getLogger(__name__)


class LinearRegression:
    """Least squares with an optional L2 penalty `alpha` (ridge). Fitted: `coef_` (D,), `intercept_`."""

    def __init__(
        self,
        alpha: float = 0.0,
        method: Literal["lstsq", "gd"] = "lstsq",
        lr: float = 0.1,
        max_iter: int = 10_000,
        tol: float = 1e-10,
    ):
        if alpha < 0:
            raise ValueError(f"alpha={alpha} must be >= 0")
        if method not in ("lstsq", "gd"):
            raise ValueError(f"method={method!r}: expected 'lstsq' or 'gd'")
        if lr <= 0 or max_iter < 1:
            raise ValueError(f"lr={lr} must be > 0 and max_iter={max_iter} >= 1")
        self.alpha, self.method, self.lr, self.max_iter, self.tol = alpha, method, lr, max_iter, tol
        self.coef_: np.ndarray | None = None
        self.intercept_ = 0.0
        self.loss_history_: list[float] = []

    def fit(self, X, y) -> LinearRegression:
        X, y = check_Xy(X, y)  # (N, D), (N,)
        if self.method == "lstsq":
            self._fit_lstsq(X, y)
        else:
            self._fit_gd(X, y)
        return self

    def _fit_lstsq(self, X: np.ndarray, y: np.ndarray) -> None:
        x_mean, y_mean = X.mean(axis=0), y.mean()
        Xc, yc = X - x_mean, y - y_mean
        if self.alpha > 0:
            D = X.shape[1]
            Xc = np.vstack([Xc, np.sqrt(self.alpha) * np.eye(D)])  # (N + D, D)
            yc = np.concatenate([yc, np.zeros(D)])  # (N + D,)
        self.coef_ = np.linalg.lstsq(Xc, yc, rcond=None)[0]  # (D,)
        self.intercept_ = float(y_mean - x_mean @ self.coef_)
        self.loss_history_ = [self.loss(X, y)]

    def _fit_gd(self, X: np.ndarray, y: np.ndarray) -> None:
        N, D = X.shape
        w, b = np.zeros(D), 0.0
        self.loss_history_ = []
        for it in range(self.max_iter):
            r = X @ w + b - y  # (N,) residuals
            loss = float((r @ r + self.alpha * w @ w) / N)
            if not np.isfinite(loss) or loss > 1e100:
                raise ValueError(f"gradient descent diverged at iteration {it}: lr={self.lr} is too large")
            self.loss_history_.append(loss)
            ### BEGIN SOLUTION
            gw = 2.0 / N * (X.T @ r + self.alpha * w)  # (D,)
            gb = 2.0 / N * r.sum()
            w, b = w - self.lr * gw, b - self.lr * gb
            ### END SOLUTION
            if max(np.abs(gw).max(), abs(gb)) < self.tol:
                break
        else:
            log.warning(
                "gradient descent stopped at max_iter=%d before the gradient fell below tol", self.max_iter
            )
        self.coef_, self.intercept_ = w, float(b)

    def predict(self, X) -> np.ndarray:
        check_fitted(self, "coef_")
        return check_X(X, n_features=len(self.coef_)) @ self.coef_ + self.intercept_  # (N,)

    def loss(self, X, y) -> float:
        """The mean objective (1/N)(||y - X w - b||^2 + alpha ||w||^2)."""
        X, y = check_Xy(X, y)
        r = self.predict(X) - y
        return float((r @ r + self.alpha * self.coef_ @ self.coef_) / len(y))

    def score(self, X, y) -> float:
        """R^2, the fraction of the variance of y explained."""
        X, y = check_Xy(X, y)
        r = y - self.predict(X)
        return float(1.0 - (r @ r) / ((y - y.mean()) @ (y - y.mean())))
