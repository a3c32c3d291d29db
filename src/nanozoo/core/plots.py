"""The standard pictures (matplotlib, Agg backend, files only): loss curves, scatter plots, histograms."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nanozoo.core.atomic import atomic_path  # noqa: E402
from nanozoo.core.runlog import read_metrics  # noqa: E402


def save(fig, path: str | Path) -> Path:
    """Save a figure atomically and close it."""
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)
    return Path(path)


def loss_curves(run_dir: str | Path, out: str | Path | None = None, title: str = "") -> Path | None:
    """loss.png: every `*_loss` metric of metrics.jsonl against step (train and val on one axis)."""
    recs = read_metrics(run_dir)
    series: dict[str, tuple[list, list]] = {}
    for r in recs:
        for k, v in r.items():
            if k.endswith("_loss") and isinstance(v, (int, float)) and not k.startswith("test_"):
                xs, ys = series.setdefault(k, ([], []))
                xs.append(r["step"])
                ys.append(v)
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for k, (xs, ys) in sorted(series.items()):
        ax.plot(xs, ys, label=k, marker="o" if len(xs) < 30 else None, markersize=3)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title or Path(run_dir).parent.name)
    ax.grid(alpha=0.3)
    ax.legend()
    return save(fig, out or Path(run_dir) / "loss.png")
