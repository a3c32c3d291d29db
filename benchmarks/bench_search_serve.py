"""A load test of the search API on loopback: requests/s and p50/p99 latency with concurrent clients.

It builds (or reuses) a BM25 index of Cranfield, starts `nanozoo search serve` as its own process on
127.0.0.1 (a free port), and runs --clients threads, each with its own keep-alive httpx client, sending
GET /search?q=...&k=10 with Cranfield's queries in turn, until --seconds have passed or --max-requests were
sent (bounded both ways). Any status other than 200, or a transport error, counts as an error. The server
is stopped at the end whatever happens.

    python benchmarks/bench_search_serve.py [--clients 8] [--seconds 10] [--mode bm25]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from nanozoo import data
from nanozoo.systems.search.corpus import read_queries
from nanozoo.systems.search.index import build


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with code {proc.returncode}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not answer /health within {timeout:.0f} s")


def client(url, queries, mode, deadline, budget, lock, latencies, errors):
    with httpx.Client(base_url=url, timeout=10) as c:
        i = 0
        while time.monotonic() < deadline:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            q = queries[i % len(queries)]
            i += 1
            t0 = time.perf_counter()
            try:
                ok = c.get("/search", params={"q": q, "k": 10, "mode": mode}).status_code == 200
            except httpx.TransportError:
                ok = False
            dt = time.perf_counter() - t0
            with lock:
                (latencies if ok else errors).append(dt)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--max-requests", type=int, default=20000)
    ap.add_argument("--mode", default="bm25")
    ap.add_argument(
        "--index-dir", default=os.path.join(tempfile.gettempdir(), "nanozoo-bench-search-cranfield")
    )
    args = ap.parse_args()
    build(data.path("cranfield", "cran.all.1400"), args.index_dir)
    queries = list(read_queries(data.path("cranfield", "cran.qry")).values())
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    nanozoo = str(Path(sys.executable).with_name("nanozoo"))
    dense = "--no-dense" if args.mode == "bm25" else "--dense"  # --dense embeds the corpus at start-up
    proc = subprocess.Popen(
        [nanozoo, "search", "serve", "--index", args.index_dir, "--port", str(port), dense],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_ready(url, proc, timeout=120 if args.mode == "bm25" else 3600)
        warm = {"q": "warm up", "mode": args.mode}
        httpx.get(url + "/search", params=warm, timeout=300)  # the query encoder loads on first use
        lock, latencies, errors, budget = threading.Lock(), [], [], [args.max_requests]
        t0 = time.monotonic()
        deadline = t0 + args.seconds
        threads = [
            threading.Thread(
                target=client, args=(url, queries, args.mode, deadline, budget, lock, latencies, errors)
            )
            for _ in range(args.clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - t0
    finally:
        proc.terminate()
        proc.wait(10)
    lat = sorted(latencies)
    p = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))] * 1000 if lat else float("nan")
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {os.getloadavg()[0]:.1f}; "
        f"mode {args.mode}, {args.clients} clients, {wall:.1f} s"
    )
    print(
        f"requests {len(lat) + len(errors)}, errors {len(errors)}, {len(lat) / wall:,.0f} requests/s, "
        f"p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, mean {statistics.fmean(lat) * 1000 if lat else 0:.1f} ms"
    )


if __name__ == "__main__":
    main()
