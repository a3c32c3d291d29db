"""word2vec: skip-gram and CBOW with negative sampling and subsampling of frequent words, in numpy.

Mikolov et al. 2013, "Efficient Estimation of Word Representations in Vector Space" (skip-gram, CBOW) and
"Distributed Representations of Words and Phrases and their Compositionality" (negative sampling,
subsampling). Reference: gensim's `Word2Vec` (the C code of word2vec.c), whose parameter names, defaults
and choices we follow: the vocabulary of words seen `min_count` times, most frequent first; the input
vectors uniform in +-0.5 / vector_size, the output vectors zero; a word kept with probability
(sqrt(f / (sample N)) + 1) (sample N) / f; for each centre word a window shrunk to a random 1..window;
negatives drawn from the unigram distribution to the power 0.75; the learning rate decaying linearly from
`alpha` to `min_alpha` over training.

For one (input word i, output word o) pair and K negatives n_k, the loss is
    -log s(u_o . v_i) - sum_k log s(-u_{n_k} . v_i)        (s the logistic function)
and its gradient is g_t = label_t - s(u_t . v_i) times u_t for v_i and times v_i for u_t.
skip-gram: the input is a context word and the output the centre word; CBOW: the input is the mean of
the window's vectors, and every word of the window gets the input's gradient (word2vec.c, cbow_mean=1).

How we differ: word2vec.c and gensim update after every pair, in text order. We draw a whole epoch's pairs
and their noise words (numpy, vectorised), shuffle them, and update `batch_size` pairs at a time: each
batch's gradients are computed from the same parameters and added together (`scatter_add`). The shuffle
keeps a batch from holding the same centre word many times over. tests/classic/test_word2vec.py compares
the similarities with gensim's on the same corpus and settings (Spearman; two gensim seeds give the ceiling).

Which code runs: `_update` (numpy, the readable one) unless `backend="numba"` (the default "auto" takes it
where numba is installed): the same batched updates written as loops over the pairs of a batch and
compiled by numba (`_sg_epoch`, `_cbow_epoch`), because the numpy batch materialises a (B, 1 + K, D) gather
and a scatter per batch: in one run, numpy reached 0.50x gensim's words/s (skip-gram) and 0.29x (CBOW),
the numba loops 1.03x and 0.86x (benchmarks/RESULTS.md). Both draw the same pairs and noise words and take
the same steps: the tests check the vectors equal within 1e-5 after training.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp

try:  # the optional fast path: numba compiles the loops at the end of this file
    import numba
except ImportError:
    numba = None

log = logging.getLogger(__name__)

TABLE = 10**6  # slots of the noise table (word2vec.c: 1e8)
BACKENDS = ("auto", "numpy", "numba")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))


def scatter_add(table: np.ndarray, index: np.ndarray, coef: np.ndarray, src: np.ndarray, rows: np.ndarray):
    """table[index[j]] += coef[j] * src[rows[j]] for every j, repeated indices summed.

    As one sparse (V, B) x dense (B, D) product: 10x faster than np.add.at on rows here (measured)."""
    S = sp.csr_matrix((coef, (index, rows)), shape=(len(table), len(src)))
    table += S @ src


class Word2Vec:
    """`wv` (V, vector_size) input vectors, `index_to_key`, `key_to_index`; gensim's parameter names."""

    def __init__(
        self,
        vector_size: int = 100,
        window: int = 5,
        min_count: int = 5,
        sg: int = 1,
        negative: int = 5,
        sample: float = 1e-3,
        alpha: float = 0.025,
        min_alpha: float = 1e-4,
        epochs: int = 5,
        ns_exponent: float = 0.75,
        batch_size: int = 1024,
        seed: int = 1,
        backend: str = "auto",
    ):
        sizes = dict(vector_size=vector_size, window=window, min_count=min_count, negative=negative)
        for name, v in {**sizes, "epochs": epochs, "batch_size": batch_size}.items():
            if v < 1:
                raise ValueError(f"{name}={v} must be >= 1")
        if sg not in (0, 1):
            raise ValueError(f"sg={sg}: 1 for skip-gram, 0 for CBOW")
        if not 0 < min_alpha <= alpha:
            raise ValueError(f"need 0 < min_alpha <= alpha, got min_alpha={min_alpha}, alpha={alpha}")
        if backend not in BACKENDS:
            raise ValueError(f"backend={backend!r}: one of {', '.join(BACKENDS)}")
        self.backend = backend
        self.vector_size, self.window, self.min_count, self.sg = vector_size, window, min_count, sg
        self.negative, self.sample, self.alpha, self.min_alpha = negative, sample, alpha, min_alpha
        self.epochs, self.ns_exponent, self.batch_size, self.seed = epochs, ns_exponent, batch_size, seed

    # -----------------------------------------------------------------------------------------------
    # Vocabulary, subsampling, pairs

    def build_vocab(self, sentences: Iterable[list[str]]) -> Word2Vec:
        counts = Counter(w for s in sentences for w in s)
        # by count, ties in order of first appearance (gensim's order: its vectors line up with ours)
        kept = sorted((w for w, c in counts.items() if c >= self.min_count), key=lambda w: -counts[w])
        if not kept:
            raise ValueError(f"no word occurs min_count={self.min_count} times")
        self.index_to_key = kept
        self.key_to_index = {w: i for i, w in enumerate(kept)}
        self.counts = np.array([counts[w] for w in kept], dtype=np.float64)
        total = self.counts.sum()
        # word2vec.c's keep probability; 1 for rare words
        t = self.sample * total
        keep = (np.sqrt(self.counts / t) + 1) * t / self.counts if self.sample else np.ones(len(kept))
        self.keep_prob = np.minimum(keep, 1.0)
        # word2vec.c's unigram table: word w fills a share count^0.75 / sum of its slots, so one uniform
        # slot is one noise draw (searchsorted on the cumulative sum took a sixth of training, measured).
        # Slot i holds the first w with cdf[w] >= (i + 0.5) / TABLE: w's slots end at round(cdf[w] TABLE)
        noise = self.counts**self.ns_exponent
        ends = np.floor(np.cumsum(noise / noise.sum()) * TABLE + 0.5).astype(np.int64)
        ends[-1] = TABLE
        self.noise_table = np.repeat(np.arange(len(kept), dtype=np.int32), np.diff(ends, prepend=0))
        return self

    def _encode(self, sentences: Iterable[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Every in-vocabulary word as its index, and the number of the sentence it is in."""
        ids, sent = [], []
        for k, s in enumerate(sentences):
            row = [self.key_to_index[w] for w in s if w in self.key_to_index]
            ids += row
            sent += [k] * len(row)
        return np.array(ids, dtype=np.int64), np.array(sent, dtype=np.int64)

    def _windows(self, ids: np.ndarray, sent: np.ndarray, rng: np.random.Generator):
        """One epoch's (centre position, context position) pairs after subsampling: each centre's window is
        shrunk to a random 1..window, and never crosses a sentence."""
        keep = rng.random(len(ids)) < self.keep_prob[ids]
        ids, sent = ids[keep], sent[keep]
        reach = self.window - rng.integers(0, self.window, len(ids))  # (N,) in 1..window
        centres, contexts = [], []
        pos = np.arange(len(ids))
        for off in range(1, self.window + 1):
            for sign in (1, -1):
                other = pos + sign * off
                ok = (other >= 0) & (other < len(ids)) & (reach >= off)
                ok[ok] &= sent[other[ok]] == sent[pos[ok]]
                centres.append(pos[ok])
                contexts.append(other[ok])
        return ids, np.concatenate(centres), np.concatenate(contexts), reach

    # -----------------------------------------------------------------------------------------------
    # Training

    def fit(self, sentences: list[list[str]]) -> Word2Vec:
        """Build the vocabulary and train `epochs` passes; sentences are lists of tokens."""
        self.build_vocab(sentences)
        rng = np.random.default_rng(self.seed)
        V, D = len(self.index_to_key), self.vector_size
        self.wv = ((rng.random((V, D)) - 0.5) / D).astype(np.float32)  # input vectors
        self.syn1neg = np.zeros((V, D), dtype=np.float32)  # output vectors
        ids, sent = self._encode(sentences)
        epochs = [self._windows(ids, sent, rng) for _ in range(self.epochs)]
        units = [len(c) if self.sg else len(i) for i, c, _, _ in epochs]  # pairs (sg) or centres (cbow)
        total, done = sum(units), 0
        fast = _numba_kernels() if self.backend != "numpy" else None
        if fast is None and self.backend == "numba":
            raise ValueError("backend='numba' needs numba (pip install numba), or use backend='numpy'")
        self.words_trained_ = 0
        for (eids, centres, contexts, reach), n in zip(epochs, units, strict=True):
            order = rng.permutation(n)
            noise = self.noise_table[rng.integers(0, TABLE, (n, self.negative), dtype=np.int32)]  # (n, K)
            inputs, targets = (eids[contexts[order]], eids[centres[order]]) if self.sg else (None, None)
            if fast is not None:  # the same batches, compiled
                sg_epoch, cbow_epoch = fast
                lrs = (self.batch_size, done, total, self.alpha, self.min_alpha)
                if self.sg:
                    sg_epoch(inputs, targets, self.wv, self.syn1neg, noise, *lrs)
                else:
                    cbow_epoch(eids, order, reach, self.window, self.wv, self.syn1neg, noise, *lrs)
                done += n
            for start in range(0, n if fast is None else 0, self.batch_size):
                batch = slice(start, start + self.batch_size)
                lr = max(self.alpha - (self.alpha - self.min_alpha) * done / total, self.min_alpha)
                if self.sg:
                    self._sg_step(inputs[batch], targets[batch], noise[batch], lr)
                else:
                    self._cbow_step(eids, order[batch], reach, noise[batch], lr)
                done += len(order[batch])
            self.words_trained_ += len(eids)
        return self

    def _negatives(self, targets: np.ndarray, noise: np.ndarray) -> tuple[np.ndarray, ...]:
        """Output words (B, 1 + K): the true one, then the K noise words (B, K); labels (B, 1 + K) 1, 0, ...
        with a weight of 0 where a noise word is the true word (word2vec.c skips it)."""
        out = np.concatenate([targets[:, None], noise], axis=1)  # (B, 1 + K)
        labels = np.zeros(out.shape, dtype=np.float32)
        labels[:, 0] = 1.0
        weight = np.ones(out.shape, dtype=np.float32)
        weight[:, 1:] = noise != targets[:, None]
        return out, labels, weight

    def _update(self, h: np.ndarray, targets: np.ndarray, noise: np.ndarray, lr: float) -> np.ndarray:
        """Negative-sampling step for inputs h (B, D), true outputs (B,) and noise words (B, K): updates
        the output vectors and returns the inputs' gradient step (B, D)."""
        out, labels, weight = self._negatives(targets, noise)
        ### BEGIN SOLUTION
        u = self.syn1neg[out]  # (B, 1 + K, D)
        score = np.matmul(u, h[:, :, None])[:, :, 0]  # (B, 1 + K): u_t . h
        g = (labels - _sigmoid(score)) * weight * lr  # (B, 1 + K): the step along each output's gradient
        step_h = np.matmul(g[:, None, :], u)[:, 0]  # (B, D): sum_t g_t u_t
        scatter_add(self.syn1neg, out.ravel(), g.ravel(), h, np.repeat(np.arange(len(h)), out.shape[1]))
        ### END SOLUTION
        return step_h

    def _sg_step(self, inputs: np.ndarray, targets: np.ndarray, noise: np.ndarray, lr: float) -> None:
        step = self._update(self.wv[inputs], targets, noise, lr)
        scatter_add(self.wv, inputs, np.ones(len(inputs), np.float32), step, np.arange(len(inputs)))

    def _cbow_step(self, ids, centres: np.ndarray, reach: np.ndarray, noise: np.ndarray, lr: float) -> None:
        """The window's mean vector predicts the centre word; each window word gets the mean's step."""
        W, N = self.window, len(ids)
        offsets = np.concatenate([np.arange(-W, 0), np.arange(1, W + 1)])  # (2W,)
        ctx = centres[:, None] + offsets  # (B, 2W) positions
        inside = (ctx >= 0) & (ctx < N) & (np.abs(offsets) <= reach[centres][:, None])
        ctx_ids = ids[np.clip(ctx, 0, N - 1)]  # (B, 2W)
        n = inside.sum(1)
        has = n > 0
        # NOTE: CBOW windows may cross sentences here (skip-gram's do not): the sentences of the corpora
        # we train on are paragraphs, and a window rarely reaches past one
        n32 = np.maximum(n, 1).astype(np.float32)[:, None]  # (B, 1); an int64 divisor made h float64
        h = (self.wv[ctx_ids] * inside[:, :, None]).sum(1) / n32  # (B, D)
        step = self._update(h[has], ids[centres[has]], noise[has], lr)  # (B', D)
        m = inside[has]
        rows = np.repeat(np.arange(len(step)), m.sum(1))  # the window word -> its window's step
        scatter_add(self.wv, ctx_ids[has][m], np.ones(len(rows), np.float32), step, rows)

    # -----------------------------------------------------------------------------------------------
    # Queries

    def _unit(self) -> np.ndarray:
        return self.wv / np.maximum(np.linalg.norm(self.wv, axis=1, keepdims=True), 1e-12)

    def _index(self, word: str) -> int:
        if word not in self.key_to_index:
            raise KeyError(f"word {word!r} is not in the vocabulary ({len(self.index_to_key)} words)")
        return self.key_to_index[word]

    def similarity(self, a: str, b: str) -> float:
        U = self._unit()
        return float(U[self._index(a)] @ U[self._index(b)])

    def most_similar(self, word: str, topn: int = 10) -> list[tuple[str, float]]:
        U = self._unit()
        sims = U @ U[self._index(word)]
        sims[self._index(word)] = -np.inf
        best = np.argsort(-sims)[:topn]
        return [(self.index_to_key[i], float(sims[i])) for i in best]


# ---------------------------------------------------------------------------------------------------
# The fast path: `_update`'s batches as loops over their pairs, compiled by numba. Loops over the D
# coordinates are written out: numba then keeps them in registers instead of allocating a row per step.


def _jit(f):
    """numba.njit(cache=True) (compiled at the first call) where numba is installed; else f, unused."""
    return numba.njit(cache=True, fastmath=True)(f) if numba is not None else f


@_jit
def _gradients(syn1, v, out_true, noise_j, lr, g, step):
    """One pair: g[k] = (label_k - s(u_k . v)) lr for the true word and the K noise words (0 where a noise
    word is the true word), and step = sum_k g[k] u_k, from syn1 as it is."""
    D = len(v)
    step[:] = 0.0
    for k in range(len(g)):
        t = out_true if k == 0 else noise_j[k - 1]
        g[k] = 0.0
        if k > 0 and t == out_true:
            continue
        f = np.float32(0.0)
        for d in range(D):
            f += syn1[t, d] * v[d]
        f = min(max(f, np.float32(-30.0)), np.float32(30.0))
        gk = (np.float32(k == 0) - np.float32(1.0) / (np.float32(1.0) + np.exp(-f))) * lr
        g[k] = gk
        for d in range(D):
            step[d] += gk * syn1[t, d]


@_jit
def _sg_epoch(inputs, targets, wv, syn1, noise, B, done, total, alpha, min_alpha):
    """One epoch of skip-gram batches: pair j trains input inputs[j] on output targets[j] and noise[j];
    every gradient of a batch from the parameters before it, as `_sg_step`."""
    n, K, D = len(inputs), noise.shape[1], wv.shape[1]
    g = np.zeros((B, K + 1), np.float32)
    step = np.zeros((B, D), np.float32)
    for start in range(0, n, B):
        stop = min(start + B, n)
        lr = np.float32(max(alpha - (alpha - min_alpha) * (done + start) / total, min_alpha))
        for j in range(start, stop):  # 1. the gradients, the output vectors as they were
            _gradients(syn1, wv[inputs[j]], targets[j], noise[j], lr, g[j - start], step[j - start])
        for j in range(start, stop):  # 2. the output vectors, the inputs as they were
            i = inputs[j]
            for k in range(K + 1):
                t, gk = targets[j] if k == 0 else noise[j, k - 1], g[j - start, k]
                for d in range(D):
                    syn1[t, d] += gk * wv[i, d]
        for j in range(start, stop):  # 3. the inputs
            i, r = inputs[j], j - start
            for d in range(D):
                wv[i, d] += step[r, d]


@_jit
def _cbow_epoch(ids, order, reach, W, wv, syn1, noise, B, done, total, alpha, min_alpha):
    """One epoch of CBOW batches over the centre positions `order`, as `_cbow_step`."""
    N, n, K, D = len(ids), len(order), noise.shape[1], wv.shape[1]
    g = np.zeros((B, K + 1), np.float32)
    h = np.zeros((B, D), np.float32)
    step = np.zeros((B, D), np.float32)
    count = np.zeros(B, np.int64)
    for start in range(0, n, B):
        stop = min(start + B, n)
        lr = np.float32(max(alpha - (alpha - min_alpha) * (done + start) / total, min_alpha))
        for j in range(start, stop):  # 1. the window means and the gradients
            r, c = j - start, order[j]
            h[r] = 0.0
            count[r] = 0
            for off in range(-W, W + 1):
                if off != 0 and 0 <= c + off < N and abs(off) <= reach[c]:
                    w = ids[c + off]
                    for d in range(D):
                        h[r, d] += wv[w, d]
                    count[r] += 1
            if count[r] > 0:
                for d in range(D):
                    h[r, d] /= np.float32(count[r])
                _gradients(syn1, h[r], ids[c], noise[j], lr, g[r], step[r])
        for j in range(start, stop):  # 2. the output vectors
            r, c = j - start, order[j]
            for k in range(K + 1 if count[r] > 0 else 0):
                t, gk = ids[c] if k == 0 else noise[j, k - 1], g[r, k]
                for d in range(D):
                    syn1[t, d] += gk * h[r, d]
        for j in range(start, stop):  # 3. every word of the window gets its mean's step
            r, c = j - start, order[j]
            for off in range(-W, W + 1):
                if count[r] > 0 and off != 0 and 0 <= c + off < N and abs(off) <= reach[c]:
                    w = ids[c + off]
                    for d in range(D):
                        wv[w, d] += step[r, d]


@functools.cache
def _numba_kernels():
    """The two epoch loops, compiled (cached on disk by numba); None, with one warning, without numba."""
    if numba is None:
        log.warning("numba is not installed: word2vec trains with numpy batches (2-5x slower, measured)")
        return None
    return _sg_epoch, _cbow_epoch


def similarity_matrix(vectors: np.ndarray) -> np.ndarray:
    """Cosine similarities (N, N) of the rows."""
    U = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return U @ U.T


__all__ = ["Word2Vec", "similarity_matrix"]
