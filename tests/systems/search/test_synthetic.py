"""The synthetic Zipfian corpus of the scaling benchmark."""

from collections import Counter

import numpy as np

from nanozoo.systems.search import synthetic


def test_word_frequencies_follow_zipfs_law():
    docs = synthetic.corpus(2000, vocab_size=5000, mean_len=50, s=1.1, seed=0)
    assert abs(np.mean([len(d) for d in docs]) - 50) < 1
    counts = Counter(w for d in docs for w in d)
    ranks = np.arange(1, 201)
    freq = np.array([counts[f"w{r - 1}"] for r in ranks], np.float64)
    slope = np.polyfit(np.log(ranks), np.log(freq), 1)[0]  # log f = -s log r + c
    assert abs(slope + 1.1) < 0.1
    assert synthetic.corpus(10, seed=3) == synthetic.corpus(10, seed=3)
    qs = synthetic.queries(50, vocab_size=5000, skip_head=100)
    assert all(len(q) == 4 and all(int(w[1:]) >= 100 for w in q) for q in qs)
