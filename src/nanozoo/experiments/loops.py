"""Plumbing for experiments with their own loop (micrograd, numpy): config checks and the run folder's logs.

`finish` is the last step of every such loop: the history one record per step, the final figures as one
more record, the picture saved (config.json and loss.png are the runner's).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from nanozoo.core import plots
from nanozoo.core.config import ConfigError
from nanozoo.core.runlog import MetricsLog


def positive(section: str, obj: Any, *names: str) -> None:
    """Refuse a config field <= 0, naming it as `section.field=value`."""
    for n in names:
        if getattr(obj, n) <= 0:
            raise ConfigError(f"{section}.{n}={getattr(obj, n)} must be > 0")


def one_blas_thread():
    """Small matrices: a second BLAS thread only spins on a busy machine (24 s instead of 0.3 s measured)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def finish(
    run_dir: Path,
    t0: float,
    history: list[dict[str, float]],
    final: dict[str, float],
    fig: Any = None,
    picture: str = "",
) -> dict[str, float]:
    """Log `history` (one record per step) and `final` (one record after it), save `fig` as RUN/picture."""
    log = MetricsLog(run_dir)
    elapsed = time.perf_counter() - t0
    for k, rec in enumerate(history):
        log.write(k, rec.pop("elapsed_s", elapsed), **rec)
    log.write(len(history), time.perf_counter() - t0, **final)
    if fig is not None:
        plots.save(fig, run_dir / picture)
    return final
