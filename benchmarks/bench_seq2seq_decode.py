"""Decoding speed of a trained translation run: the KV cache against re-reading the whole prefix.

The same model, the same test sentences (the first `--sentences` of the run's first test split, in batches
of similar length as `nanozoo translate` makes them), greedy and beam search, with `use_cache` on and off;
the outputs are checked to be the same strings in the same run. Rounds alternate between the two, so load
from other processes falls on both alike (the median round is printed).

    NANOZOO_DATA=... python benchmarks/bench_seq2seq_decode.py RUN_DIR [--sentences 200] [--beam 4]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from nanozoo.experiments import seq2seq as track
from nanozoo.experiments.registry import load_model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", help="a translate-* run folder")
    ap.add_argument("--sentences", type=int, default=200)
    ap.add_argument("--beam", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = track.translation_config(args.run)
    split = track.test_splits(cfg.data)[0]
    src = [s for s, _ in track.text_pairs(cfg.data, None)[split][: args.sentences]]
    codec, (model, _) = track.load_codec(args.run), load_model(args.run)
    m = cfg.model
    print(
        f"{args.run}: {m.n_layer}+{m.n_layer} layers, d_model {m.n_embd}, vocab {m.vocab_size}; "
        f"{len(src)} sentences of {split}, {args.threads} thread(s)"
    )
    for beam in (1, args.beam):
        times: dict[bool, list[float]] = {True: [], False: []}
        outs = {}
        for _ in range(args.rounds):
            for cached in (True, False):
                t0 = time.perf_counter()
                outs[cached] = track.translate(model, codec, src, beam_size=beam, use_cache=cached)
                times[cached].append(time.perf_counter() - t0)
        same = outs[True] == outs[False]
        fast, slow = (statistics.median(times[c]) for c in (True, False))
        name = "greedy" if beam == 1 else f"beam {beam}"
        print(
            f"{name:8s} KV cache {len(src) / fast:7.1f} sentences/s   no cache {len(src) / slow:7.1f} "
            f"sentences/s   speed-up {slow / fast:.2f}x   same output: {same}"
        )


if __name__ == "__main__":
    main()
