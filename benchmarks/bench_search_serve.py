"""A load test of the search API on loopback: requests/s and p50/p99 latency with concurrent clients.

It builds (or reuses) a BM25 index of Cranfield, starts `nanozoo search serve` as its own process on
127.0.0.1 (a free port), and runs --clients threads (benchmarks/loadtest.py), each with its own keep-alive
httpx client, sending GET /search?q=...&k=10 with Cranfield's queries in turn, until --seconds have passed or
--max-requests were sent (bounded both ways). Any status other than 200, or a transport error, counts as an
error. The server is stopped at the end whatever happens.

    python benchmarks/bench_search_serve.py [--clients 8] [--seconds 10] [--mode bm25]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

import loadtest
from nanozoo import data
from nanozoo.systems import serving
from nanozoo.systems.search.corpus import read_queries
from nanozoo.systems.search.index import build


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
    port = serving.free_port()
    url = f"http://127.0.0.1:{port}"
    nanozoo = str(Path(sys.executable).with_name("nanozoo"))
    dense = "--no-dense" if args.mode == "bm25" else "--dense"  # --dense embeds the corpus at start-up
    argv = [nanozoo, "search", "serve", "--index", args.index_dir, "--port", str(port), dense]
    timeout = 120 if args.mode == "bm25" else 3600
    with serving.process(argv, url, timeout, stdout=subprocess.DEVNULL):
        warm = {"q": "warm up", "mode": args.mode}
        httpx.get(url + "/search", params=warm, timeout=300)  # the query encoder loads on first use
        make = lambda c, i: ("GET", "/search", {"params": {"q": queries[i % len(queries)], "k": 10,
                                                           "mode": args.mode}})  # fmt: skip
        result = loadtest.run(url, make, args.clients, args.seconds, args.max_requests)
    print(loadtest.header(f"mode {args.mode}, {args.clients} clients, {result.wall_s:.1f} s"))
    print(result.summary())


if __name__ == "__main__":
    main()
