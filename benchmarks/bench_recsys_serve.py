"""A load test of the recommender API on loopback: requests/s and p50/p99 latency with concurrent clients.

It serves a trained movielens-two-tower run (--run; default the newest under runs/) with
`nanozoo recsys serve` as its own process on 127.0.0.1 (a free port, a fresh temporary event log), and
runs three phases of --seconds each (benchmarks/loadtest.py: --clients threads with keep-alive clients,
bounded by --max-requests too):
1. GET /recommend/{user}?k=10 for users drawn uniformly from MovieLens' 610;
2. GET /similar/{item}?k=10 for items drawn uniformly from the catalogue;
3. mixed: 80% recommend, 10% similar, 10% POST /events (a random user and item: a write, committed to
   SQLite before the answer).
Any status other than 200, or a transport error, counts as an error. Beside them, the same recommendation
work called in-process (Service.recommend, one thread, no HTTP): what the HTTP layer costs.

    python benchmarks/bench_recsys_serve.py [--run RUN_DIR] [--clients 8] [--seconds 10]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import loadtest
from nanozoo.systems import serving


def newest_run(root: Path = Path("runs/movielens-two-tower")) -> Path:
    runs = sorted(p.parent for p in root.glob("*/model.safetensors"))
    if not runs:
        raise SystemExit(f"no trained run under {root}: `nanozoo train movielens-two-tower` first, or --run")
    return runs[-1]


def in_process(run: Path, events: Path, n: int, rng) -> str:
    import torch
    from threadpoolctl import threadpool_limits

    from nanozoo.experiments.recsys import service

    s = service(run, events=events)
    torch.set_num_threads(1)  # as the server runs (cli/recsys.py's NOTE)
    threadpool_limits(1)
    users = rng.choice(s.user_ids, n)
    times = []
    for u in users:
        t0 = time.perf_counter()
        s.recommend(str(u), 10)
        times.append(time.perf_counter() - t0)
    ms = np.percentile(times, [50, 99]) * 1000
    return f"{n / sum(times):,.0f} calls/s, p50 {ms[0]:.2f} ms, p99 {ms[1]:.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=None)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--max-requests", type=int, default=50000)
    args = ap.parse_args()
    run = args.run or newest_run()
    tmp = Path(tempfile.mkdtemp(prefix="nanozoo-bench-recsys-"))
    from nanozoo.systems.recsys.data import load_movielens

    inter, items = load_movielens()
    users, item_ids = [str(u) for u in inter.user_ids.tolist()], [str(i) for i in items.ids.tolist()]
    port = serving.free_port()
    url = f"http://127.0.0.1:{port}"
    nanozoo = str(Path(sys.executable).with_name("nanozoo"))
    argv = [nanozoo, "recsys", "serve", str(run), "--events", str(tmp / "events.sqlite"), "--port", str(port)]

    def pick(c: int, i: int, mix: str) -> loadtest.Request:
        rng = np.random.default_rng((c, i))
        r = rng.random() if mix == "mixed" else {"recommend": 0.0, "similar": 0.85}[mix]
        if r < 0.8:
            return "GET", f"/recommend/{users[rng.integers(len(users))]}", {"params": {"k": 10}}
        if r < 0.9:
            return "GET", f"/similar/{item_ids[rng.integers(len(item_ids))]}", {"params": {"k": 10}}
        event = {"user_id": users[rng.integers(len(users))], "item_id": item_ids[rng.integers(len(item_ids))]}
        return "POST", "/events", {"json": event}

    lines = []
    with serving.process(argv, url, stdout=subprocess.DEVNULL):
        for mix in ("recommend", "similar", "mixed"):
            make = lambda c, i, mix=mix: pick(c, i, mix)
            result = loadtest.run(url, make, args.clients, args.seconds, args.max_requests)
            lines.append(f"{mix:9s}  {result.summary()}")
            if result.errors:
                lines.append(f"           first error: {result.errors[0]}")
    direct = in_process(run, tmp / "direct.sqlite", 2000, np.random.default_rng(0))
    lines.append(f"in-process Service.recommend (no HTTP, 1 thread): {direct}")
    print(loadtest.header(f"run {run}, {args.clients} clients, {args.seconds:.0f} s a phase"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
