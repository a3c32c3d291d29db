"""The makemore results table: each names-* model's exact losses next to the published figure.

It trains nothing: it reads from disk the newest finished run of every names-* experiment under --runs
(train them first, one at a time: `nanozoo train names-mlp`, ...), recomputes the exact train/val/test
losses of that run's saved model over the whole of each split, and prints a markdown table with the
training wall time from that run's metrics.jsonl and the run folder it read. A missing run is listed as
"not trained here"; so `make bench` stays fast, and the table says which figures came from which run.

    NANOZOO_DATA=/work/shared/datasets .venv/bin/python benchmarks/bench_makemore.py [--runs runs]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from nanozoo.core.runlog import read_config, read_metrics
from nanozoo.experiments import get
from nanozoo.experiments.makemore import exact_losses
from nanozoo.experiments.registry import load_model

ORDER = [
    "names-bigram-count",
    "names-bigram",
    "names-mlp",
    "names-mlp-bn",
    "names-backprop",
    "names-wavenet",
    "names-rnn",
    "names-gru",
    "names-lstm",
    "names-bow",
    "names-transformer",
]


def newest_finished(runs: Path, name: str) -> Path | None:
    for run in sorted((runs / name).glob("*/"), reverse=True):
        try:
            train = read_config(run)["config"].get("train")
        except (FileNotFoundError, ValueError):
            continue
        steps = [r["step"] for r in read_metrics(run)]
        if train is None or (steps and max(steps) >= train["max_iters"]):
            return run
    return None


def row(runs: Path, name: str) -> str:
    ref = get(name).reference
    if ref is not None and ref.source.startswith("no published figure"):
        ref = None  # the reference is our own measurement: nothing to compare with
    published = f"{ref.metric} {ref.value:g}" if ref else "-"
    run = newest_finished(runs, name)
    if run is None:
        return f"| {name} | not trained here | | | | {published} | | | no finished run in {runs / name} |"
    recs = read_metrics(run)
    wall = max(r.get("elapsed_s", 0.0) for r in recs)
    if name == "names-bigram-count":
        m = recs[-1]
        losses = {"train_loss": m["train_eval_loss"], "val_loss": m["val_loss"], "test_loss": m["test_loss"]}
        params, extra = "729 counts", f" (all names: {m['all_loss']:.4f})"
        ours = m["all_loss"]
    else:
        losses = exact_losses(run)
        model, cfg = load_model(run)
        params, extra = f"{sum(p.numel() for p in model.parameters()):,}", ""
        ours = losses.get(ref.metric, math.nan) if ref else math.nan
        extra = f" ({cfg.train.max_iters} steps x {cfg.train.batch_size})"
    gap = f"{ours - ref.value:+.4f}" if ref and math.isfinite(ours) else "-"
    return (
        f"| {name} | {params} | {losses['train_loss']:.4f} | {losses['val_loss']:.4f} | "
        f"{losses['test_loss']:.4f} | {published} | {gap} | {wall:.0f} s{extra} | {run} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, default=Path("runs"))
    args = ap.parse_args()
    print(f"Read from disk, nothing trained: the newest finished run of each experiment under {args.runs}/\n")
    cols = ["experiment", "params", "train", "val", "test", "published", "ours - published", "training time"]
    print("| " + " | ".join([*cols, "run read"]) + " |")
    print("|---|---:|---:|---:|---:|---|---:|---|---|")
    for name in ORDER:
        print(row(args.runs, name))


if __name__ == "__main__":
    main()
