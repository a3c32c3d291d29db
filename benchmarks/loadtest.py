"""The load generator of the serving benchmarks (bench_search_serve.py, bench_recsys_serve.py).

`run` starts `clients` threads, each with its own keep-alive httpx client, sending the requests that
`make(client, i)` describes (method, path, httpx keyword arguments: params or json) one after another,
until `seconds` have passed or `max_requests` were sent in all (bounded both ways). A status other than
the expected one, or a transport error, counts as an error.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

Request = tuple[str, str, dict]  # method, path, httpx keyword arguments


@dataclass
class Result:
    wall_s: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: list[str] = field(default_factory=list)

    def percentile_ms(self, f: float) -> float:
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(f * len(lat)))] * 1000 if lat else float("nan")

    def summary(self) -> str:
        mean = statistics.fmean(self.latencies) * 1000 if self.latencies else float("nan")
        return (
            f"requests {len(self.latencies) + len(self.errors)}, errors {len(self.errors)}, "
            f"{len(self.latencies) / self.wall_s:,.0f} requests/s, p50 {self.percentile_ms(0.5):.1f} ms, "
            f"p99 {self.percentile_ms(0.99):.1f} ms, mean {mean:.1f} ms"
        )


def run(
    url: str,
    make: Callable[[int, int], Request],
    clients: int = 8,
    seconds: float = 10.0,
    max_requests: int = 20_000,
    expect: int = 200,
) -> Result:
    lock, budget, out = threading.Lock(), [max_requests], Result()
    deadline = time.monotonic() + seconds

    def client(c: int) -> None:
        with httpx.Client(base_url=url, timeout=10) as http:
            i = 0
            while time.monotonic() < deadline:
                with lock:
                    if budget[0] <= 0:
                        return
                    budget[0] -= 1
                method, path, kwargs = make(c, i)
                i += 1
                t0 = time.perf_counter()
                try:
                    status = http.request(method, path, **kwargs).status_code
                    error = None if status == expect else f"{method} {path}: {status}"
                except httpx.TransportError as e:
                    error = f"{method} {path}: {type(e).__name__}"
                dt = time.perf_counter() - t0
                with lock:
                    if error is None:
                        out.latencies.append(dt)
                    else:
                        out.errors.append(error)

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.wall_s = time.monotonic() - t0
    return out


def header(what: str) -> str:
    """The first line of a report: when, the load average, what ran."""
    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {os.getloadavg()[0]:.1f}; {what}"
    )
