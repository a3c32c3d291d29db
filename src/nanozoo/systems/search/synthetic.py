"""A synthetic corpus for measuring how the search system's cost grows: documents of words drawn from a
Zipfian vocabulary, as natural text roughly is (Zipf 1949: the r-th most frequent word has frequency
proportional to 1 / r^s, s near 1).

Words are `w0, w1, ...` by rank, already index terms (no stemming needed); document lengths are Poisson
around `mean_len`. Queries are a few words drawn from the same law restricted to ranks past the
`skip_head` commonest (a query of stop-word-like terms only would match every document).
"""

from __future__ import annotations

import numpy as np

from nanozoo.systems.synthetic import zipf_probabilities


def corpus(n_docs: int, vocab_size: int = 50_000, mean_len: int = 100, s: float = 1.1, seed: int = 0):
    """`n_docs` documents, each a list of terms."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{r}" for r in range(vocab_size)])
    lengths = np.maximum(rng.poisson(mean_len, n_docs), 1)
    ids = rng.choice(vocab_size, size=int(lengths.sum()), p=zipf_probabilities(vocab_size, s))
    cuts = np.cumsum(lengths)[:-1]
    return [words[chunk].tolist() for chunk in np.split(ids, cuts)]


def queries(
    n: int, vocab_size: int = 50_000, terms: int = 4, s: float = 1.1, skip_head: int = 100, seed: int = 1
):
    rng = np.random.default_rng(seed)
    p = zipf_probabilities(vocab_size, s)[skip_head:]
    ids = rng.choice(np.arange(skip_head, vocab_size), size=(n, terms), p=p / p.sum())
    return [[f"w{r}" for r in row] for row in ids]
