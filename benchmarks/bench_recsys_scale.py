"""How the recommender's cost grows with the number of users: synthetic power-law interactions
(systems/recsys/synthetic.py; items = users / 10) at 10^4, 10^5 and 10^6 users.

Each size runs in its own process (so its peak memory is its own) and measures:
1. the data: interactions generated, seconds to generate them;
2. the two-tower's training time per epoch (one pass over the interactions, batch 512, 64-wide, 50 items
   of history): steps timed after a warm-up, the epoch extrapolated from them (or run whole with
   --full-epoch), with dense Adam over every table (each step touches every row: its cost grows with the
   tables) and with sparse gradients (SparseAdam on the rows of the batch; Adam on the MLPs); the sparse
   epoch is run whole up to --full-epoch users (its vectors are then trained ones for step 3);
3. retrieval: the item tower's vectors in FAISS exact (flat), IVF (nlist 4 sqrt N, nprobe 8) and HNSW
   (M 32): build seconds, the median latency of one user's top 100, and the approximate indexes' recall@100
   against the exact one (queries: 500 users' vectors);
4. memory: the model's parameters, the vectors, the process's peak resident set.

    python benchmarks/bench_recsys_scale.py [--sizes 10000,100000,1000000] [--steps 100]
        [--full-epoch 100000] [--plot benchmarks/recsys_scale.png]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch

from bench_search_scale import median_latency_ms
from nanozoo.systems.recsys import index as I
from nanozoo.systems.recsys import synthetic
from nanozoo.systems.recsys.embeddings import Tables
from nanozoo.systems.recsys.two_tower import (
    TwoTower,
    TwoTowerConfig,
    fill_features,
    histories,
    sized,
    tables_of,
    user_vectors_of,
)

BATCH, K = 512, 100


def step_seconds(model: TwoTower, inter, steps: int, sparse: bool, warmup: int = 3) -> float:
    """Mean seconds per training step over `steps` steps (after `warmup`), dense Adam or sparse."""
    tables = list(model.tables.parameters())
    dense = [p for n, p in model.named_parameters() if not n.startswith("tables.")]
    opts = (
        [torch.optim.SparseAdam(tables, lr=1e-2), torch.optim.Adam(dense, lr=1e-3)]
        if sparse
        else [torch.optim.Adam(model.parameters(), lr=1e-3)]
    )
    gen = np.random.default_rng(0)
    user, item = torch.as_tensor(inter.user), torch.as_tensor(inter.item)
    t0 = 0.0
    for s in range(warmup + steps):
        if s == warmup:
            t0 = time.perf_counter()
        rows = gen.integers(0, len(inter), BATCH)
        hist = histories(inter, model.cfg.history, model.cfg.n_items, rows)
        loss = model(user[rows], hist, item[rows])
        for o in opts:
            o.zero_grad()
        loss.backward()
        for o in opts:
            o.step()
    return (time.perf_counter() - t0) / steps


def one_size(n_users: int, steps: int, full_epoch: bool) -> dict:
    out: dict = {"users": n_users}
    t0 = time.perf_counter()
    inter, items = synthetic.interactions(n_users, seed=0)
    out |= {"items": len(items), "interactions": len(inter), "gen_s": time.perf_counter() - t0}
    epoch_steps = len(inter) / BATCH
    torch.manual_seed(0)
    cfg = sized(TwoTowerConfig(n_embd=64, history=50), items, inter)
    for sparse in (False, True):
        model = TwoTower(cfg, Tables(tables_of(cfg), cfg.n_embd, sparse=sparse))
        fill_features(model, items, inter)
        n = int(np.ceil(epoch_steps)) if sparse and full_epoch else steps
        per_step = step_seconds(model, inter, n, sparse, warmup=3)
        out["sparse_epoch_s" if sparse else "dense_epoch_s"] = per_step * epoch_steps
        out["sparse_step_ms" if sparse else "dense_step_ms"] = per_step * 1000
    out["sparse_full_epoch"] = full_epoch
    out["params_mb"] = sum(p.numel() * 4 for p in model.parameters()) / 1e6
    model.eval()
    with torch.no_grad():
        vectors = model.all_item_vectors().numpy()
        users = np.random.default_rng(1).choice(n_users, 500, replace=False)
        queries = user_vectors_of(model, inter, users)
    exact = None
    for kind in ("exact", "ivf", "hnsw"):
        t0 = time.perf_counter()
        index = I.build(vectors, kind)
        out[f"{kind}_build_s"] = time.perf_counter() - t0
        top = I.search(index, queries, K)
        exact = top if kind == "exact" else exact
        out[f"{kind}_recall"] = float(
            np.mean([len(np.intersect1d(a, b)) / K for a, b in zip(top, exact, strict=True)])
        )
        out[f"{kind}_ms"] = median_latency_ms(lambda q, index=index: I.search(index, q[None], K), queries)
    out["vectors_mb"] = vectors.nbytes / 1e6
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--steps", type=int, default=100, help="timed training steps a size (and optimiser)")
    ap.add_argument("--full-epoch", type=int, default=0, help="run the sparse epoch whole up to N users")
    ap.add_argument("--plot", default="")
    ap.add_argument("--one", type=int, default=0, help=argparse.SUPPRESS)  # a child process: one size
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    if args.one:
        print(json.dumps(one_size(args.one, args.steps, args.one <= args.full_epoch)))
        return
    whole = f"; the sparse epoch whole up to {args.full_epoch:,} users" if args.full_epoch else ""
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {os.getloadavg()[0]:.1f}; "
          f"{torch.get_num_threads()} torch thread(s); {args.steps} timed steps a size{whole}")  # fmt: skip
    head = ["users", "items", "interactions", "generate s", "epoch s, dense Adam", "epoch s, sparse",
            "parameters MB", "exact ms", "IVF ms (recall@100)", "HNSW ms (recall@100)", "HNSW build s",
            "peak RSS MB"]  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--one", str(n), "--steps", str(args.steps)]
        cmd += ["--full-epoch", str(args.full_epoch)]
        r = json.loads(
            subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1]
        )
        rows.append(r)
        cells = [
            f"{n:,}", f"{r['items']:,}", f"{r['interactions']:,}", f"{r['gen_s']:.1f}",
            f"{r['dense_epoch_s']:,.0f} ({r['dense_step_ms']:.0f} ms/step)",
            f"{r['sparse_epoch_s']:,.0f} ({r['sparse_step_ms']:.0f} ms/step)", f"{r['params_mb']:,.0f}",
            f"{r['exact_ms']:.2f}", f"{r['ivf_ms']:.2f} ({r['ivf_recall']:.3f})",
            f"{r['hnsw_ms']:.2f} ({r['hnsw_recall']:.3f})", f"{r['hnsw_build_s']:.1f}",
            f"{r['peak_rss_mb']:,.0f}",
        ]  # fmt: skip
        print("| " + " | ".join(cells) + " |", flush=True)
    if args.plot:
        plot(rows, args.plot)


def plot(rows: list[dict], path: str) -> None:
    from nanozoo.core import plots

    plt = plots.plt
    users = [r["users"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.loglog(users, [r["dense_epoch_s"] for r in rows], marker="o", label="dense Adam")
    a.loglog(users, [r["sparse_epoch_s"] for r in rows], marker="o", label="sparse (SparseAdam)")
    a.set_xlabel("users (items = users / 10)")
    a.set_ylabel("seconds per epoch")
    a.set_title("two-tower training")
    for kind in ("exact", "ivf", "hnsw"):
        b.loglog(users, [r[f"{kind}_ms"] for r in rows], marker="o", label=kind)
    b.set_xlabel("users (items = users / 10)")
    b.set_ylabel("median ms, one user's top 100")
    b.set_title("retrieval (FAISS)")
    for ax in (a, b):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    plots.save(fig, path)


if __name__ == "__main__":
    main()
