"""The baselines every recommender is measured against, from scratch in numpy: popularity (global and
recent), item-kNN, matrix factorisation by ALS (Hu, Koren & Volinsky 2008) and by BPR (Rendle et al. 2009).

Each model has `fit(train: Interactions)` and `scores(users) -> (len(users), N)`, higher is better;
`recommend(model, train, users, k)` ranks the items a user has not interacted with yet.

- ALS is checked step for step against `implicit`'s exact (Cholesky) solver from the same factors, and
  BPR by its learning test and, on MovieLens, next to `implicit`'s BPR (tests/systems/recsys/).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from nanozoo.systems.recsys.data import Interactions


def recommend(model, train: Interactions, users: np.ndarray, k: int, batch: int = 256) -> np.ndarray:
    """(len(users), k) item indices, best first, leaving out each user's training items."""
    seen = train.matrix().tocsr()
    k = min(k, train.n_items)
    out = np.empty((len(users), k), dtype=np.int64)
    for lo in range(0, len(users), batch):  # (b, N) scores at a time: the catalogue times a batch of users
        u = users[lo : lo + batch]
        s = np.array(model.scores(u), dtype=np.float64)
        rows, cols = seen[u].nonzero()
        s[rows, cols] = -np.inf
        top = (
            np.argpartition(-s, k - 1, axis=1)[:, :k]
            if k < s.shape[1]
            else np.tile(np.arange(k), (len(u), 1))
        )
        order = np.argsort(-np.take_along_axis(s, top, 1), axis=1, kind="stable")
        out[lo : lo + batch] = np.take_along_axis(top, order, 1)
    return out


def item_users(train: Interactions) -> np.ndarray:
    """(N,) how many distinct users interacted with each item."""
    pairs = np.unique(np.stack([train.user, train.item]), axis=1)
    return np.bincount(pairs[1], minlength=train.n_items)


# ---------------------------------------------------------------------------------------------------
# Popularity and item-kNN


@dataclass
class Popularity:
    """The same list for everyone: items by how many users interacted with them; `window_days` counts only
    the last days of the training log (recent popularity, the strong H&M baseline)."""

    window_days: float | None = None

    def fit(self, train: Interactions) -> Popularity:
        if self.window_days is not None and len(train):
            train = train.subset(train.time >= train.time.max() - self.window_days * 86400)
        self.counts = item_users(train).astype(np.float64)
        return self

    def scores(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(users), len(self.counts)))


@dataclass
class ItemKNN:
    """Item-based collaborative filtering (Sarwar et al. 2001; Deshpande & Karypis 2004): cosine similarity
    of items' user columns, `score(u, j) = Σ_{i in u} sim(i, j)`. `neighbours` keeps each item's top
    neighbours only (0: all), `shrink` damps similarities resting on few co-occurrences."""

    neighbours: int = 100
    shrink: float = 0.0

    def fit(self, train: Interactions) -> ItemKNN:
        X = train.matrix().astype(np.float32)
        X.data[:] = 1.0  # binary: did the user interact with the item
        co = (X.T @ X).tocoo()  # (N, N) sparse co-occurrence counts; the diagonal is each item's user count
        norm = np.sqrt(co.diagonal())
        ### BEGIN SOLUTION
        sim = co.data / (norm[co.row] * norm[co.col] + self.shrink)
        ### END SOLUTION
        off = co.row != co.col  # an item is not its own neighbour
        S = csr_matrix((sim[off], (co.row[off], co.col[off])), shape=co.shape)
        if self.neighbours > 0:  # row i: the neighbours of item i; keep its strongest `neighbours`
            for i in range(S.shape[0]):
                row = S.data[S.indptr[i] : S.indptr[i + 1]]
                if len(row) > self.neighbours:
                    row[np.argpartition(-row, self.neighbours)[self.neighbours :]] = 0.0
            S.eliminate_zeros()
        self.sim, self.X = S, X.tocsr()
        return self

    def scores(self, users: np.ndarray) -> np.ndarray:
        return (self.X[users] @ self.sim).toarray()  # (b, N)


# ---------------------------------------------------------------------------------------------------
# Matrix factorisation: ALS and BPR


@dataclass
class ALS:
    """Weighted matrix factorisation for implicit feedback (Hu, Koren & Volinsky 2008): minimise
    Σ_{u,i} c_ui (p_ui - x_u·y_i)^2 + λ (Σ|x_u|^2 + Σ|y_i|^2) over all pairs, p_ui = 1 where u touched i
    (else 0) and confidence c_ui = α r_ui there (else 1), by alternating exact least squares:
    x_u = (YᵀY + Yᵀ(C_u - I)Y + λI)⁻¹ Yᵀ C_u p_u, which costs O(n_u F²) per user thanks to YᵀY.
    NOTE: c_ui = α r_ui, not the paper's 1 + α r_ui, is `implicit`'s convention (so that the two agree)."""

    factors: int = 64
    regularization: float = 0.05
    alpha: float = 10.0
    iterations: int = 15
    seed: int = 0

    def fit(self, train: Interactions, init: tuple[np.ndarray, np.ndarray] | None = None) -> ALS:
        """Fit from random factors (seeded), or from `init` (user, item factors: the parity test starts
        ours and implicit's from the same ones); a second fit starts afresh, never from the last one."""
        R = train.matrix()
        R.data[:] = 1.0  # r_ui: interacted or not (implicit feedback, no rating scale)
        rng = np.random.default_rng(self.seed)
        if init is not None:
            self.user_factors, self.item_factors = (a.copy() for a in init)
        else:
            self.user_factors = rng.normal(0, 0.01, (R.shape[0], self.factors))
            self.item_factors = rng.normal(0, 0.01, (R.shape[1], self.factors))
        Rt = R.T.tocsr()
        for _ in range(self.iterations):
            self.user_factors = self._solve(R, self.item_factors)
            self.item_factors = self._solve(Rt, self.user_factors)
        return self

    def _solve(self, R, Y: np.ndarray) -> np.ndarray:
        """Every row's least squares: row u of the result solves the normal equations above for X[u]."""
        F = Y.shape[1]
        YtY = Y.T @ Y  # (F, F), shared by every row
        X = np.zeros((R.shape[0], F))
        for u in range(R.shape[0]):
            idx, r = R.indices[R.indptr[u] : R.indptr[u + 1]], R.data[R.indptr[u] : R.indptr[u + 1]]
            ### BEGIN SOLUTION
            c = self.alpha * r  # (n_u,) confidence of the observed entries; p_ui = 1 there
            Yu = Y[idx]  # (n_u, F)
            A = YtY + (Yu.T * (c - 1.0)) @ Yu + self.regularization * np.eye(F)
            X[u] = np.linalg.solve(A, Yu.T @ c)
            ### END SOLUTION
        return X

    def scores(self, users: np.ndarray) -> np.ndarray:
        return self.user_factors[users] @ self.item_factors.T


@dataclass
class BPR:
    """Bayesian personalised ranking (Rendle et al. 2009): for a user u, an item i they touched and an item
    j drawn uniformly from the catalogue, maximise ln σ(x_uij) with x_uij = x_u·(y_i - y_j) + b_i - b_j,
    minus λ|θ|², by SGD on mini-batches of sampled triples (an epoch: as many triples as interactions)."""

    factors: int = 64
    lr: float = 0.05
    regularization: float = 0.01
    epochs: int = 30
    batch_size: int = 256
    seed: int = 0

    def fit(self, train: Interactions) -> BPR:
        rng = np.random.default_rng(self.seed)
        U, N = train.n_users, train.n_items
        P = self.user_factors = rng.normal(0, 0.1, (U, self.factors))
        Q = self.item_factors = rng.normal(0, 0.1, (N, self.factors))
        b = self.item_bias = np.zeros(N)
        seen = train.matrix().tocsr()
        for _ in range(self.epochs):
            for lo in range(0, len(train), self.batch_size):
                pick = rng.integers(0, len(train), min(self.batch_size, len(train) - lo))
                u, i = train.user[pick], train.item[pick]
                j = rng.integers(0, N, len(pick))
                ok = np.asarray(seen[u, j] == 0).ravel()  # a sampled "negative" the user touched: skip
                u, i, j = u[ok], i[ok], j[ok]
                ### BEGIN SOLUTION
                x = (P[u] * (Q[i] - Q[j])).sum(1) + b[i] - b[j]  # (B,) x_uij
                g = 1.0 / (1.0 + np.exp(x))  # (B,) σ(-x_uij) = d ln σ(x_uij) / d x_uij
                dP = g[:, None] * (Q[i] - Q[j]) - self.regularization * P[u]
                dQi = g[:, None] * P[u] - self.regularization * Q[i]
                dQj = -g[:, None] * P[u] - self.regularization * Q[j]
                np.add.at(P, u, self.lr * dP)  # ascent; add.at sums repeated rows of the batch
                np.add.at(Q, i, self.lr * dQi)
                np.add.at(Q, j, self.lr * dQj)
                np.add.at(b, i, self.lr * (g - self.regularization * b[i]))
                np.add.at(b, j, self.lr * (-g - self.regularization * b[j]))
                ### END SOLUTION
        return self

    def scores(self, users: np.ndarray) -> np.ndarray:
        return self.user_factors[users] @ self.item_factors.T + self.item_bias
