"""The law both systems' synthetic data draw from (search: word frequencies; recsys: item popularity and
user activity): Zipf's, the r-th commonest having probability proportional to 1 / r^s (Zipf 1949)."""

from __future__ import annotations

import numpy as np


def zipf_probabilities(n: int, s: float = 1.1) -> np.ndarray:
    """(n,) p(r) proportional to 1 / r^s for ranks r = 1..n."""
    p = 1.0 / np.arange(1, n + 1) ** s
    return p / p.sum()
