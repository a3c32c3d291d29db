"""Synthetic interactions for measuring how the recommender's cost grows (benchmarks/bench_recsys_scale.py)
and for tests that need a data set without the MovieLens files.

The laws of real logs, with a structure a model can learn:
1. activity: user u makes n_u interactions, a power law (a Pareto tail of index `shape` above
   `min_per_user`, capped at `max_per_user`): most users do little, a few a lot;
2. popularity: items fall into `n_clusters` clusters (item i in cluster i mod C, the "genre" tag
   `c{i mod C}`) and within a cluster the r-th item is drawn with Zipf probability 1 / r^s, so item index
   order is popularity order;
3. taste: each user has a favourite cluster; an interaction comes from it with probability `affinity`,
   else from the whole catalogue by the same Zipf law;
4. time: each user starts at a uniform moment of the first `span_days` and acts at exponential gaps
   (mean `gap_days`). A repeated (user, item) pair keeps its first interaction only.
Everything is drawn in vectorised numpy: 10^6 users (about 10^7 interactions) take seconds.
"""

from __future__ import annotations

import numpy as np

from nanozoo.systems.recsys.data import Interactions, Items
from nanozoo.systems.synthetic import zipf_probabilities

DAY = 86_400


def interactions(
    n_users: int,
    n_items: int | None = None,
    n_clusters: int = 20,
    min_per_user: int = 5,
    shape: float = 1.5,
    max_per_user: int = 1000,
    s: float = 1.1,
    affinity: float = 0.8,
    span_days: float = 365.0,
    gap_days: float = 1.0,
    seed: int = 0,
) -> tuple[Interactions, Items]:
    """(Interactions, Items) of `n_users` users over `n_items` items (default n_users / 10, at least
    `n_clusters`, rounded down to a multiple of it); the laws are the module docstring's."""
    n_items = max(n_clusters, (n_items or n_users // 10) // n_clusters * n_clusters)
    if n_users < 1 or not 0 <= affinity <= 1 or shape <= 1:
        raise ValueError(f"n_users={n_users} (>= 1), affinity={affinity} (in [0, 1]), shape={shape} (> 1)")
    rng = np.random.default_rng(seed)
    # 1. how many interactions each user makes
    n = np.minimum(np.floor(min_per_user * (1 + rng.pareto(shape, n_users))), max_per_user).astype(np.int64)
    user = np.repeat(np.arange(n_users), n)
    E = len(user)
    # 2.-3. which item: the user's cluster, or anywhere, each by rank under Zipf's law
    favourite = rng.integers(0, n_clusters, n_users)
    per_cluster = n_items // n_clusters
    in_cluster = favourite[user] + n_clusters * rng.choice(
        per_cluster, E, p=zipf_probabilities(per_cluster, s)
    )
    anywhere = rng.choice(n_items, E, p=zipf_probabilities(n_items, s))
    item = np.where(rng.random(E) < affinity, in_cluster, anywhere)
    # 4. when: a start per user, then exponential gaps (a running sum restarted at each user)
    gaps = rng.exponential(gap_days * DAY, E)
    run = np.cumsum(gaps)
    first = np.r_[0, np.cumsum(n)[:-1]]  # (U,) position of each user's first interaction
    before = np.where(n > 0, run[np.minimum(first, E - 1)] - gaps[np.minimum(first, E - 1)], 0.0)
    time = rng.uniform(0, span_days * DAY, n_users)[user] + run - before[user]
    _, keep = np.unique(user * n_items + item, return_index=True)  # first of each (user, item) pair
    keep.sort()
    inter = Interactions(
        user[keep], item[keep], time[keep].astype(np.int64), np.ones(len(keep), np.float32),
        np.arange(n_users), n_items,
    )  # fmt: skip
    items = Items(
        np.arange(n_items),
        [f"item {i}" for i in range(n_items)],
        [[f"c{i % n_clusters}"] for i in range(n_items)],
    )
    return inter, items
