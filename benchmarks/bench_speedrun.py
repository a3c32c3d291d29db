"""The CPU speedrun's ablation: shakespeare-char-cpu (the baseline), the baseline with each of the speedrun's
changes alone, and all of them (shakespeare-char-speedrun), trained one after another in this process at the
same shape and step budget. Prints, as each run ends, its final val loss, its training seconds and both
against the baseline's; the issue's goal is val <= 1.60 within 120 s of training on 2 cores.

The load of the machine moves the seconds (not the losses: same seeds, same steps): the load average is
printed with every row; compare seconds only between rows measured under the same load.

    python benchmarks/bench_speedrun.py [--threads 2] [--only all,train.optimizer] [--set train.max_iters=700]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from nanozoo.core.runlog import read_metrics
from nanozoo.experiments import runner
from nanozoo.experiments.shakespeare import SPEEDRUN


def train(name: str, overrides: list[str]) -> tuple[float, float]:
    """(final val loss, seconds of training as the run logged them)."""
    run_dir, final = runner.train(name, overrides, runs_root=tempfile.mkdtemp(prefix="speedrun-"))
    return final["val_loss"], max(r["elapsed_s"] for r in read_metrics(run_dir))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated SPEEDRUN keys (or 'all') to run; default all")
    ap.add_argument("--set", action="append", default=[], help="an override for every run")
    args = ap.parse_args()
    common = [f"train.threads={args.threads}", "train.progress=false", *args.set]
    rows = [("baseline (shakespeare-char-cpu)", "shakespeare-char-cpu", [])]
    rows += [("all (shakespeare-char-speedrun)", "shakespeare-char-speedrun", [])]
    rows += [(f"+ {k}={v}", "shakespeare-char-cpu", [f"{k}={v}"]) for k, v in SPEEDRUN.items()]
    keep = set(args.only.split(",")) - {""}
    print(f"| change | val loss | vs base | train s | vs base | load avg (1 min) |  threads {args.threads}")
    print("|---|---:|---:|---:|---:|---:|")
    base = None
    for label, name, extra in rows:
        key = extra[0].split("=")[0] if extra else ("all" if "speedrun" in name else "baseline")
        if keep and key not in keep and key != "baseline":
            continue
        t0 = time.time()
        val, secs = train(name, common + extra)
        base = base or (val, secs)
        load = os.getloadavg()[0]
        print(
            f"| {label} | {val:.4f} | {val - base[0]:+.4f} | {secs:.0f} | {secs / base[1]:.2f}x "
            f"| {load:.1f} |"
            f"  (wall {time.time() - t0:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
