"""The standard pictures (matplotlib, Agg backend, files only): loss curves, scatter plots, histograms."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nanozoo.core.atomic import atomic_path  # noqa: E402
from nanozoo.core.runlog import RunError, read_config, read_metrics  # noqa: E402


def save(fig, path: str | Path) -> Path:
    """Save a figure atomically and close it."""
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)
    return Path(path)


# The loss series of metrics.jsonl: legend label and line style. The noisy batch loss is thin and faint,
# at the back; val is wide, and the train evaluation a thin dashed line over it, so where the two agree
# both stay visible.
LOSS_STYLES = {
    "train_loss": ("train (batch)", {"color": "C0", "alpha": 0.45, "linewidth": 1.0, "zorder": 1}),
    "val_loss": ("val", {"color": "C1", "marker": "s", "linewidth": 3.0, "alpha": 0.8, "zorder": 2}),
    "train_eval_loss": ("train (eval)", {"color": "C0", "linestyle": "--", "marker": "o", "zorder": 3}),
}


def loss_curves(run_dir: str | Path, out: str | Path | None = None, title: str = "") -> Path | None:
    """loss.png: every `*_loss` metric of metrics.jsonl against step (train and val on one axis).

    The title names the experiment (or `title`), the run id and the `--set` overrides from config.json."""
    run_dir = Path(run_dir)
    series: dict[str, tuple[list, list]] = {}
    for r in read_metrics(run_dir):
        for k, v in r.items():
            if k.endswith("_loss") and isinstance(v, (int, float)) and not k.startswith("test_"):
                xs, ys = series.setdefault(k, ([], []))
                xs.append(r["step"])
                ys.append(v)
    if not series:
        return None
    try:
        doc = read_config(run_dir)
    except RunError:  # a picture of a folder without a (readable) config: no title details
        doc = {}
    fig, ax = plt.subplots(figsize=(6, 4))
    order = [k for k in LOSS_STYLES if k in series] + sorted(k for k in series if k not in LOSS_STYLES)
    for k in order:
        xs, ys = series[k]
        label, style = LOSS_STYLES.get(k, (k.removesuffix("_loss").replace("_", " "), {}))
        if len(xs) >= 30:
            style = {**style, "marker": None}
        ax.plot(xs, ys, label=label, markersize=3, **style)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    head = f"{title or doc.get('experiment') or run_dir.parent.name}  ({run_dir.name})"
    overrides = "  ".join(doc.get("overrides", []))
    ax.set_title(head + ("\n" + textwrap.fill(overrides, 90) if overrides else ""), fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    return save(fig, out or run_dir / "loss.png")


def metric_panels(
    run_dir: str | Path, panels: dict[str, list[str]], out: str | Path, title: str = ""
) -> Path:
    """Side-by-side panels of metrics.jsonl series against step: {"loss": ["val_mlm_loss", ...], ...}
    (the panel's title and y label, then its metrics; a metric never logged is left out)."""
    records = read_metrics(run_dir)
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8), squeeze=False)
    for ax, (ylabel, names) in zip(axes[0], panels.items(), strict=True):
        for name in names:
            pts = [(r["step"], r[name]) for r in records if isinstance(r.get(name), (int, float))]
            if pts:
                ax.plot(*zip(*pts, strict=True), label=name, marker="o" if len(pts) < 30 else None, ms=3)
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{title}  ({Path(run_dir).name})", fontsize=9)
    return save(fig, out)


# ---------------------------------------------------------------------------------------------------
# Classifier pictures (arrays in, a figure out; `save` writes it)


def confusion_matrix(cm, classes: list[str], title: str = ""):
    """The K x K counts (row: the true class, column: the predicted one), each cell written in it."""
    import numpy as np

    cm = np.asarray(cm)
    K = len(classes)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * K, 0.8 + 0.5 * K))
    ax.imshow(cm, cmap="Blues")
    for i in range(K):
        for j in range(K):
            if cm[i, j]:
                dark = cm[i, j] > cm.max() / 2
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=7,
                        color="w" if dark else "k")  # fmt: skip
    ax.set_xticks(range(K), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(K), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    return fig


def image_grid(
    images, titles: list[str], title: str = "", ncols: int = 8, cmap: str = "gray_r", symmetric: bool = False
):
    """Images (N, H, W) grey or (N, 3, H, W) colour, each scaled to its own range, with a title each.

    symmetric: grey images scaled to their own +-max|x| instead, so 0 is the middle of `cmap` (filters)."""
    import numpy as np

    images = np.asarray(images, dtype=float)
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.6 * ncols, 1.8 * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= n:
            continue
        img = images[k]
        if img.ndim == 3:  # (C, H, W) -> (H, W, C)
            img = img.transpose(1, 2, 0) if img.shape[0] == 3 else img[0]
        if symmetric and img.ndim == 2:
            m = np.abs(img).max() or 1.0
            ax.imshow(img, cmap=cmap, vmin=-m, vmax=m)
        else:
            ax.imshow((img - img.min()) / (np.ptp(img) or 1.0), cmap=None if img.ndim == 3 else cmap)
        ax.set_title(titles[k], fontsize=7)
    fig.suptitle(title, fontsize=9, y=1.0 + 0.25 / nrows)
    return fig


def bars(labels: list[str], values: list[float], xlabel: str, title: str, out: str | Path) -> Path:
    """A horizontal bar per label, top to bottom in the given order, each with its value and its ratio to
    the first: a ladder of optimisations, the baseline on top."""
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(labels) + 1.2))
    ys = range(len(labels))[::-1]
    ax.barh(list(ys), values, color="C0")
    for y, v in zip(ys, values, strict=True):
        ax.text(v, y, f" {v:,.0f}  ({v / values[0]:.2f}x)", va="center", fontsize=8)
    ax.set_yticks(list(ys), labels, fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_xlim(0, max(values) * 1.3)
    ax.set_title(title, fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    return save(fig, out)
