"""Exact t-SNE: t-distributed stochastic neighbour embedding, every pair of points, in numpy.

van der Maaten & Hinton 2008, "Visualizing Data using t-SNE" (JMLR 9). Reference: scikit-learn's
`TSNE(method="exact")`, whose choices we follow so that the two reach the same KL divergence:

1. Affinities. For each point i, a Gaussian over the squared distances to the others, its precision
   beta_i found by bisection so that the perplexity 2^H(P_i) equals `perplexity`:
   p_{j|i} = exp(-beta_i d_ij^2) / sum_k exp(-beta_i d_ik^2). Then P = (P_cond + P_cond^T) / sum.
2. The map. q_ij = (1 + |y_i - y_j|^2)^-1 / sum_{k != l} (1 + |y_k - y_l|^2)^-1 (Student-t, one degree
   of freedom), and the cost KL(P || Q) = sum p_ij log(p_ij / q_ij).
3. The gradient (their equation 5): dC/dy_i = 4 sum_j (p_ij - q_ij)(y_i - y_j)(1 + |y_i - y_j|^2)^-1.
4. Optimisation: gradient descent with momentum (0.5, then 0.8) and per-coordinate gains (Jacobs
   1988: +0.2 where the gradient keeps the last step's direction, x0.8 where it turns, at least 0.01); P
   multiplied by `early_exaggeration` for the first 250 steps so that clusters form before they settle;
   scikit-learn's "auto" learning rate max(N / early_exaggeration / 4, 50) and its PCA start scaled to
   std 1e-4. It stops when the gradient norm falls under `min_grad_norm` or the KL stops improving.

O(N^2) time and memory: for a few thousand points (Barnes-Hut is scikit-learn's default for more).
"""

from __future__ import annotations

import numpy as np

from nanozoo.classic.base import check_X
from nanozoo.classic.pca import PCA

EPS = np.finfo(np.double).eps


def squared_distances(X: np.ndarray) -> np.ndarray:
    """(N, D) -> (N, N): |x_i - x_j|^2, clipped at 0 against rounding."""
    sq = (X**2).sum(1)
    return np.maximum(sq[:, None] + sq[None, :] - 2 * X @ X.T, 0.0)


def conditional_p(D: np.ndarray, perplexity: float, tol: float = 1e-5, steps: int = 100) -> np.ndarray:
    """(N, N) squared distances -> P_cond (N, N), row i the Gaussian around point i of the perplexity.

    Bisection on each row's precision beta, all rows at once, on the entropy H in nats (log perplexity)."""
    N = len(D)
    target = np.log(perplexity)
    beta, lo, hi = np.ones(N), np.zeros(N), np.full(N, np.inf)
    off = ~np.eye(N, dtype=bool)
    for _ in range(steps):
        ### BEGIN SOLUTION
        P = np.exp(-D * beta[:, None]) * off  # (N, N); p_{i|i} = 0
        sum_P = np.maximum(P.sum(1), EPS)
        H = np.log(sum_P) + beta * (D * P).sum(1) / sum_P  # entropy of row i, nats
        P /= sum_P[:, None]
        ### END SOLUTION
        diff = H - target
        if np.all(np.abs(diff) <= tol):
            break
        up = diff > 0  # too flat: raise the precision
        lo = np.where(up, beta, lo)
        hi = np.where(up, hi, beta)
        beta = np.where(up, np.where(np.isinf(hi), beta * 2, (beta + hi) / 2), (beta + lo) / 2)
    return P


def joint_p(X: np.ndarray, perplexity: float) -> np.ndarray:
    """The symmetric affinities P (N, N), summing to 1 (step 1)."""
    P = conditional_p(squared_distances(X), perplexity)
    P = P + P.T
    return np.maximum(P / np.maximum(P.sum(), EPS), EPS) * ~np.eye(len(P), dtype=bool)


def kl_and_gradient(P: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
    """KL(P || Q) of the map Y (N, 2) and its gradient (N, 2) (steps 2 and 3)."""
    ### BEGIN SOLUTION
    W = 1.0 / (1.0 + squared_distances(Y))  # (N, N) Student-t kernel
    np.fill_diagonal(W, 0.0)
    Q = np.maximum(W / W.sum(), EPS)
    off = ~np.eye(len(P), dtype=bool)
    kl = float((P[off] * np.log(np.maximum(P[off], EPS) / Q[off])).sum())
    M = (P - Q) * W  # (N, N)
    grad = 4.0 * (M.sum(1)[:, None] * Y - M @ Y)  # sum_j M_ij (y_i - y_j)
    ### END SOLUTION
    return kl, grad


class TSNE:
    """`embedding_` (N, n_components), `kl_divergence_`, `n_iter_`; scikit-learn's parameter names."""

    def __init__(
        self,
        n_components: int = 2,
        perplexity: float = 30.0,
        early_exaggeration: float = 12.0,
        learning_rate: float | str = "auto",
        max_iter: int = 1000,
        n_iter_without_progress: int = 300,
        min_grad_norm: float = 1e-7,
        init: str = "pca",
        random_state: int | None = None,
    ):
        if perplexity <= 0:
            raise ValueError(f"perplexity={perplexity} must be > 0")
        if init not in ("pca", "random"):
            raise ValueError(f"init={init!r}; allowed: 'pca', 'random'")
        if max_iter < 250:
            raise ValueError(f"max_iter={max_iter} must be >= 250 (the exaggeration phase)")
        self.n_components, self.perplexity = n_components, perplexity
        self.early_exaggeration, self.learning_rate = early_exaggeration, learning_rate
        self.max_iter, self.n_iter_without_progress = max_iter, n_iter_without_progress
        self.min_grad_norm, self.init, self.random_state = min_grad_norm, init, random_state

    def fit_transform(self, X) -> np.ndarray:
        X = check_X(X)
        N = len(X)
        if self.perplexity >= N:
            raise ValueError(f"perplexity={self.perplexity} must be less than the {N} samples")
        P = joint_p(X, self.perplexity)
        if self.init == "pca":
            Y = PCA(self.n_components).fit_transform(X)
            Y = Y / np.std(Y[:, 0]) * 1e-4
        else:
            Y = 1e-4 * np.random.default_rng(self.random_state).standard_normal((N, self.n_components))
        lr = max(N / self.early_exaggeration / 4, 50) if self.learning_rate == "auto" else self.learning_rate
        self.kl_history_: list[float] = []
        Y, it = self._descend(P * self.early_exaggeration, Y, lr, 0, 250, momentum=0.5)
        Y, it = self._descend(P, Y, lr, it, self.max_iter, momentum=0.8)
        self.embedding_, self.n_iter_ = Y, it
        self.kl_divergence_ = kl_and_gradient(P, Y)[0]
        return Y

    def fit(self, X) -> TSNE:
        self.fit_transform(X)
        return self

    def _descend(self, P, Y, lr: float, start: int, stop: int, momentum: float) -> tuple[np.ndarray, int]:
        """Steps start..stop of momentum gradient descent with gains (step 4); returns (Y, steps done)."""
        update, gains = np.zeros_like(Y), np.ones_like(Y)
        best, best_it = np.inf, start
        for it in range(start, stop):
            kl, grad = kl_and_gradient(P, Y)
            ### BEGIN SOLUTION
            onward = update * grad < 0.0  # the gradient still points the way the last step went
            gains = np.maximum(np.where(onward, gains + 0.2, gains * 0.8), 0.01)
            update = momentum * update - lr * gains * grad
            Y = Y + update
            ### END SOLUTION
            self.kl_history_.append(kl)
            if kl < best:
                best, best_it = kl, it
            elif it - best_it > self.n_iter_without_progress or np.linalg.norm(grad) < self.min_grad_norm:
                return Y, it + 1
        return Y, stop


__all__ = ["TSNE", "conditional_p", "joint_p", "kl_and_gradient", "squared_distances"]
