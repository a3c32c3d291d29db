"""word2vec training speed: our skip-gram / CBOW (numba loops, and the numpy batches) against gensim's C
code, in the same run.

All train on Tiny Shakespeare's speeches (experiments/nlp.py's `corpus_sentences`) with the same settings
(100 dimensions, window 5, 5 negatives, sample 1e-3, min_count 5), gensim with one worker and ours on one
BLAS thread (numba's loops run on one thread), so each uses one core. Words/s counts the words each epoch
trains on after subsampling (ours; gensim's own count differs only by its random draws), over `--epochs`
epochs, vocabulary building included for both. numba compiles its loops once per machine (cached on
disk); a warm-up fit on a few sentences keeps that compile out of the timing.

    NANOZOO_DATA=/work/shared/datasets .venv/bin/python benchmarks/bench_word2vec.py [--epochs N] [--numpy]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time

from threadpoolctl import threadpool_limits

from nanozoo.classic.word2vec import Word2Vec
from nanozoo.experiments.nlp import corpus_sentences


def cpu() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def ours_words_per_s(sentences, backend: str, **kw) -> tuple[float, int]:
    with threadpool_limits(1):
        t = time.perf_counter()
        model = Word2Vec(backend=backend, **kw).fit(sentences)
        return model.words_trained_ / (time.perf_counter() - t), model.words_trained_


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=1, help="best of this many runs each")
    ap.add_argument("--numpy", action="store_true", help="also time the numpy batches (several times slower)")
    args = ap.parse_args()
    from gensim.models import Word2Vec as GensimWord2Vec

    sentences = corpus_sentences("tinyshakespeare", None)
    kw = dict(vector_size=100, window=5, min_count=5, negative=5, sample=1e-3, epochs=args.epochs)
    for sg in (1, 0):  # compile numba's loops (or read them from its cache)
        Word2Vec(backend="numba", sg=sg, **{**kw, "epochs": 1}).fit(sentences[:50])
    print(f"# {time.strftime('%a %d %b %Y %H:%M UTC', time.gmtime())}; {cpu()}; load {os.getloadavg()}")
    print(f"# {args.epochs} epochs, best of {args.repeats}")
    print("| algorithm | ours (numba) words/s | ours (numpy) words/s | gensim words/s | numba / gensim |")
    print("|---|---:|---:|---:|---:|")
    for sg, name in ((1, "skip-gram"), (0, "CBOW")):
        best = {"numba": 0.0, "numpy": 0.0, "gensim": 0.0}
        for _ in range(args.repeats):
            for backend in ("numba", "numpy") if args.numpy else ("numba",):
                wps, words = ours_words_per_s(sentences, backend, sg=sg, **kw)
                best[backend] = max(best[backend], wps)
            t = time.perf_counter()
            GensimWord2Vec(sentences, sg=sg, workers=1, seed=1, **kw)
            best["gensim"] = max(best["gensim"], words / (time.perf_counter() - t))
        numpy = f"{best['numpy']:,.0f}" if args.numpy else "-"
        print(
            f"| {name} | {best['numba']:,.0f} | {numpy} | {best['gensim']:,.0f} | "
            f"{best['numba'] / best['gensim']:.2f}x |"
        )


if __name__ == "__main__":
    main()
