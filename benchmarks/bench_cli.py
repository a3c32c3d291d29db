"""How fast the command line starts: whole-process wall time of the commands a user types most.

Each command runs `--repeat` times as a fresh process (`nanozoo ...` from this interpreter's bin folder,
or `--nanozoo PATH`); the table shows the best and the median, against the 0.3 s goal of issue 9.
`python -c "import torch"` is the yardstick: a command that imports torch cannot start faster than it.

    python benchmarks/bench_cli.py [--repeat 7] [--nanozoo .venv/bin/nanozoo]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL_S = 0.3
COMMANDS = [
    ["--help"],
    ["list"],
    ["data", "list"],
    ["tokenizer", "encode", "--name", "gpt2", "hello world"],
]


def wall(cmd: list[str], repeat: int) -> list[float]:
    env = {**os.environ, "COLUMNS": "80"}
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--nanozoo", default=str(Path(sys.executable).with_name("nanozoo")))
    args = ap.parse_args()
    rows = [("python -c 'import torch'", wall([sys.executable, "-c", "import torch"], args.repeat))]
    for c in COMMANDS:
        rows.append(("nanozoo " + " ".join(c), wall([args.nanozoo, *c], args.repeat)))
    load = os.getloadavg()[0]
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {args.nanozoo}; load average {load:.1f}")
    print(f"{'command':48s} {'best s':>7s} {'median s':>9s}  goal {GOAL_S} s")
    for name, t in rows:
        ok = "" if name.startswith("python") else ("ok" if min(t) < GOAL_S else "SLOW")
        print(f"{name:48s} {min(t):7.3f} {statistics.median(t):9.3f}  {ok}")


if __name__ == "__main__":
    main()
