"""word2vec training speed: our numpy skip-gram / CBOW against gensim's C code, in the same run.

Both train on Tiny Shakespeare's speeches (experiments/nlp.py's `corpus_sentences`) with the same settings
(100 dimensions, window 5, 5 negatives, sample 1e-3, min_count 5), gensim with one worker and our numpy on
one BLAS thread, so the two use one core each. Words/s counts the words each epoch trains on after
subsampling (ours; gensim's own count differs only by its random draws), over `--epochs` epochs.

    NANOZOO_DATA=/work/shared/datasets .venv/bin/python benchmarks/bench_word2vec.py [--epochs N]
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=1, help="best of this many runs each")
    args = ap.parse_args()
    from gensim.models import Word2Vec as GensimWord2Vec

    sentences = corpus_sentences("tinyshakespeare", None)
    kw = dict(vector_size=100, window=5, min_count=5, negative=5, sample=1e-3, epochs=args.epochs)
    print(f"# {time.strftime('%a %d %b %Y %H:%M UTC', time.gmtime())}; {cpu()}; load {os.getloadavg()}")
    print("| algorithm | ours words/s | gensim words/s | ours / gensim |")
    print("|---|---:|---:|---:|")
    for sg, name in ((1, "skip-gram"), (0, "CBOW")):
        best_ours = best_gensim = 0.0
        for _ in range(args.repeats):
            with threadpool_limits(1):
                t = time.perf_counter()
                ours = Word2Vec(sg=sg, **kw).fit(sentences)
                best_ours = max(best_ours, ours.words_trained_ / (time.perf_counter() - t))
            t = time.perf_counter()
            GensimWord2Vec(sentences, sg=sg, workers=1, seed=1, **kw)
            best_gensim = max(best_gensim, ours.words_trained_ / (time.perf_counter() - t))
        print(f"| {name} | {best_ours:,.0f} | {best_gensim:,.0f} | {best_ours / best_gensim:.2f}x |")


if __name__ == "__main__":
    main()
