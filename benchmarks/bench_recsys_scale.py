"""How the recommender's cost grows with the number of users: synthetic power-law interactions
(systems/recsys/synthetic.py; items = users / 10) at 10^4, 10^5 and 10^6 users.

Each size runs in its own process (so its peak memory is its own) and measures:
1. the data: interactions generated, seconds to generate them;
2. the two-tower's training time per epoch (one pass over the interactions, batch 512, 64-wide, 50 items
   of history): steps timed after a warm-up, the epoch extrapolated from them (or run whole with
   --full-epoch), with dense Adam over every table (each step touches every row: its cost grows with the
   tables) and with sparse gradients (SparseAdam on the rows of the batch; Adam on the MLPs); the sparse
   epoch is run whole up to --full-epoch users (its vectors are then trained ones for step 3);
3. retrieval: the item tower's vectors in FAISS exact (flat), IVF (nlist 4 sqrt N) and HNSW (M 32): build
   seconds, the median latency of one user's top 100, and the approximate indexes' recall@100 against the
   exact one (queries: 500 users' vectors), with the search knob (IVF's nprobe 1, 2, 4, ...; HNSW's
   efSearch 100, 200, 400, ...) raised until the recall reaches --target, or until it is slower than
   twice the exact search: an approximate index is only as fast as the recall asked of it (at a fixed
   nprobe 8, IVF scans 2 sqrt N items: fewer than 100 at 10^3 items);
4. memory: the model's parameters, the vectors, the process's peak resident set; and the process's user
   CPU seconds (on a shared machine the wall times also count the waits for a core).

    python benchmarks/bench_recsys_scale.py [--sizes 10000,100000,1000000] [--steps 100]
        [--full-epoch 100000] [--target 0.95] [--plot benchmarks/recsys_scale.png]
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


def step_seconds(model: TwoTower, inter, steps: int, sparse: bool, warmup: int = 3) -> tuple[float, float]:
    """(wall, CPU) mean seconds per training step over `steps` steps (after `warmup`), dense Adam or sparse;
    CPU is this process's user + system time: on a shared machine the wall time also counts the waits."""
    tables = list(model.tables.parameters())
    dense = [p for n, p in model.named_parameters() if not n.startswith("tables.")]
    opts = (
        [torch.optim.SparseAdam(tables, lr=1e-2), torch.optim.Adam(dense, lr=1e-3)]
        if sparse
        else [torch.optim.Adam(model.parameters(), lr=1e-3)]
    )
    gen = np.random.default_rng(0)
    user, item = torch.as_tensor(inter.user), torch.as_tensor(inter.item)
    t0 = c0 = 0.0
    for s in range(warmup + steps):
        if s == warmup:
            t0, c0 = time.perf_counter(), time.process_time()
        rows = gen.integers(0, len(inter), BATCH)
        hist = histories(inter, model.cfg.history, model.cfg.n_items, rows)
        loss = model(user[rows], hist, item[rows])
        for o in opts:
            o.zero_grad()
        loss.backward()
        for o in opts:
            o.step()
    return (time.perf_counter() - t0) / steps, (time.process_time() - c0) / steps


def swept(index, vectors, queries, exact, knob: str, values, target: float, limit_ms: float) -> list[dict]:
    """Recall@K against `exact` and the median latency at each value of the search knob (IVF's nprobe,
    HNSW's efSearch), in order, up to the first that reaches `target` recall or takes over `limit_ms` (an
    approximate search slower than that has lost its point). Two recalls: of the exact top K's ids, and
    ann-benchmarks' (a result counts if it scores at least the exact K-th, less 1e-5): where many items
    tie at the K-th score, the exact index keeps some of them by id and an approximate one others."""
    kth = np.einsum("qc,qc->q", queries, vectors[exact[:, -1]]) - 1e-5  # (Q,) the exact K-th score
    out = []
    for v in values:
        setattr(index if knob == "nprobe" else index.hnsw, knob, v)
        top = I.search(index, queries, K)
        ids = float(np.mean([len(np.intersect1d(a, b)) / K for a, b in zip(top, exact, strict=True)]))
        scores = np.einsum("qkc,qc->qk", vectors[np.maximum(top, 0)], queries)
        recall = float(((scores >= kth[:, None]) & (top >= 0)).mean())
        ms = median_latency_ms(lambda q, index=index: I.search(index, q[None], K), queries)
        out.append({knob: v, "recall": recall, "recall_ids": ids, "ms": ms})
        if recall >= target or ms > limit_ms:
            break
    return out


def one_size(n_users: int, steps: int, full_epoch: bool, target: float = 0.95) -> dict:
    out: dict = {"users": n_users, "target": target}
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
        per_step, cpu = step_seconds(model, inter, n, sparse, warmup=3)
        name = "sparse" if sparse else "dense"
        out |= {f"{name}_epoch_s": per_step * epoch_steps, f"{name}_step_ms": per_step * 1000,
                f"{name}_epoch_cpu_s": cpu * epoch_steps, f"{name}_steps": n}  # fmt: skip
    out["sparse_full_epoch"] = full_epoch
    out["params_mb"] = sum(p.numel() * 4 for p in model.parameters()) / 1e6
    model.eval()
    with torch.no_grad():
        vectors = model.all_item_vectors().numpy()
        users = np.random.default_rng(1).choice(n_users, 500, replace=False)
        queries = user_vectors_of(model, inter, users)
    index = I.build(vectors, "exact")
    exact = I.search(index, queries, K)
    out["exact_ms"] = median_latency_ms(lambda q, index=index: I.search(index, q[None], K), queries)
    for kind, knob, values in (("ivf", "nprobe", [2**i for i in range(20)]),
                               ("hnsw", "efSearch", [K * 2**i for i in range(12)])):  # fmt: skip
        t0 = time.perf_counter()
        index = I.build(vectors, kind)
        out[f"{kind}_build_s"] = time.perf_counter() - t0
        values = [v for v in values if v < index.nlist] + [index.nlist] if kind == "ivf" else values
        values = [v for v in values if v <= len(vectors)]
        sweep = swept(index, vectors, queries, exact, knob, values, target, 2 * out["exact_ms"])
        out[f"{kind}_sweep"] = sweep
        out |= {
            f"{kind}_ms": sweep[-1]["ms"],
            f"{kind}_recall": sweep[-1]["recall"],
            f"{kind}_knob": sweep[-1][knob],
        }
    out["distinct_vectors"] = len(np.unique(vectors, axis=0))
    out["vectors_mb"] = vectors.nbytes / 1e6
    use = resource.getrusage(resource.RUSAGE_SELF)
    out |= {"peak_rss_mb": use.ru_maxrss / 1024, "user_cpu_s": use.ru_utime}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--steps", type=int, default=100, help="timed training steps a size (and optimiser)")
    ap.add_argument("--full-epoch", type=int, default=0, help="run the sparse epoch whole up to N users")
    ap.add_argument("--target", type=float, default=0.95, help="the approximate indexes' recall@100 to reach")
    ap.add_argument("--plot", default="")
    ap.add_argument("--one", type=int, default=0, help=argparse.SUPPRESS)  # a child process: one size
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    if args.one:
        print(json.dumps(one_size(args.one, args.steps, args.one <= args.full_epoch, args.target)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    if min(sizes) < 1000:  # a tenth as many items as users: recall@100 needs 100 items or more
        ap.error(f"--sizes {args.sizes}: every size needs 1,000 users or more (100 items, for recall@100)")
    whole = f"; the sparse epoch whole up to {args.full_epoch:,} users" if args.full_epoch else ""
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {os.getloadavg()[0]:.1f}; "
          f"{torch.get_num_threads()} torch thread(s); {args.steps} timed steps a size{whole}")  # fmt: skip
    head = ["users", "items", "interactions", "generate s", "epoch s, dense Adam (ms/step; CPU s)",
            "epoch s, sparse (ms/step; CPU s)", "parameters MB", "exact ms", "IVF ms (recall@100; nprobe)",
            "HNSW ms (recall@100; efSearch)", "IVF / HNSW build s", "peak RSS MB", "user CPU s"]  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|" + "---:|" * len(head))
    rows = []
    for n in sizes:
        cmd = [sys.executable, __file__, "--one", str(n), "--steps", str(args.steps)]
        cmd += ["--full-epoch", str(args.full_epoch), "--target", str(args.target)]
        r = json.loads(
            subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout.splitlines()[-1]
        )
        rows.append(r)
        epochs = [f"{r[f'{o}_epoch_s']:,.0f} ({r[f'{o}_step_ms']:.0f}; {r[f'{o}_epoch_cpu_s']:,.0f})"
                  for o in ("dense", "sparse")]  # fmt: skip
        cells = [
            f"{n:,}", f"{r['items']:,}", f"{r['interactions']:,}", f"{r['gen_s']:.1f}", *epochs,
            f"{r['params_mb']:,.0f}", f"{r['exact_ms']:.2f}",
            f"{r['ivf_ms']:.2f} ({r['ivf_recall']:.3f}; {r['ivf_knob']})",
            f"{r['hnsw_ms']:.2f} ({r['hnsw_recall']:.3f}; {r['hnsw_knob']})",
            f"{r['ivf_build_s']:.1f} / {r['hnsw_build_s']:.1f}", f"{r['peak_rss_mb']:,.0f}",
            f"{r['user_cpu_s']:,.0f}",
        ]  # fmt: skip
        print("| " + " | ".join(cells) + " |", flush=True)
    print(
        "\nThe search knob swept (median ms, recall@100 by score (by id)), up to the target or 2x exact ms:"
    )
    for r in rows:
        for kind, knob in (("ivf", "nprobe"), ("hnsw", "efSearch")):
            steps = ", ".join(
                f"{p[knob]}: {p['ms']:.2f} ms {p['recall']:.3f} ({p['recall_ids']:.3f})"
                for p in r[f"{kind}_sweep"]
            )
            print(
                f"- {r['users']:,} users ({r['distinct_vectors']:,} distinct vectors), {kind} {knob} {steps}"
            )
    print(json.dumps(rows), file=sys.stderr)  # every figure, for a later look
    if args.plot:
        plot(rows, args.plot)


def plot(rows: list[dict], path: str) -> None:
    from nanozoo.core import plots

    plt = plots.plt
    users = [r["users"] for r in rows]
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(12, 3.4))
    a.loglog(users, [r["dense_epoch_s"] for r in rows], marker="o", label="dense Adam")
    a.loglog(users, [r["sparse_epoch_s"] for r in rows], marker="o", label="sparse (SparseAdam)")
    a.set_title("two-tower: seconds per epoch")
    b.loglog(users, [r["exact_ms"] for r in rows], marker="o", label="exact")
    for kind, knob in (("ivf", "nprobe"), ("hnsw", "efSearch")):
        b.loglog(users, [r[f"{kind}_ms"] for r in rows], marker="o", label=f"{kind} ({knob} swept)")
    b.set_title(f"FAISS: median ms, one user's top {K}")
    for key, label in (
        ("peak_rss_mb", "peak RSS"),
        ("params_mb", "parameters"),
        ("vectors_mb", "item vectors"),
    ):
        c.loglog(users, [r[key] for r in rows], marker="o", label=label)
    c.set_title("memory, MB")
    for ax in (a, b, c):
        ax.set_xlabel("users (items = users / 10)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    plots.save(fig, path)


if __name__ == "__main__":
    main()
