"""Run folders and their logs: `runs/NAME/YYYYmmdd-HHMMSS/` with config.json and metrics.jsonl.

metrics.jsonl holds one JSON object per logged step: `step`, `elapsed_s` and metrics with the same names in
every experiment (`train_loss`, `val_loss`, `val_acc`, `lr`, `tokens_per_s`, ... and `test_*` only for the
final evaluation). Every file here is written atomically: a temp file beside the target, then a rename.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

from nanozoo.core.atomic import atomic_write
from nanozoo.core.errors import UserError

log = logging.getLogger(__name__)
FORMAT_VERSION = 1


class RunError(UserError, ValueError):
    """A folder given as a run folder is not one (no or a foreign config.json), or is a run of another
    experiment than the one asked for."""


def new_run_dir(name: str, root: str | Path = "runs") -> Path:
    """A fresh `root/NAME/YYYYmmdd-HHMMSS` folder (a suffix keeps two runs in one second apart)."""
    base = Path(root) / name / time.strftime("%Y%m%d-%H%M%S")
    d, i = base, 1
    while d.exists():
        d, i = base.with_name(f"{base.name}-{i}"), i + 1
    d.mkdir(parents=True)
    return d


def write_config(run_dir: Path, experiment: str, cfg: dict, overrides: list[str] = ()) -> None:
    """config.json: the full config, and the `--set` overrides it was made with (for titles and tables)."""
    from nanozoo import __version__

    doc = {"format": FORMAT_VERSION, "experiment": experiment, "nanozoo": __version__, "config": cfg}
    doc["overrides"] = list(overrides)
    atomic_write(run_dir / "config.json", json.dumps(doc, indent=2))


def read_config(run_dir: str | Path) -> dict:
    """The run's config.json as {"experiment": ..., "config": {...}}; a missing or foreign file raises."""
    p = Path(run_dir) / "config.json"
    if not p.is_file():
        raise RunError(f"{run_dir} is not a nanozoo run folder (no config.json)")
    try:
        doc = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise RunError(f"{p} is not valid JSON ({e})") from None
    if not isinstance(doc, dict) or "experiment" not in doc or "config" not in doc:
        raise RunError(f"{p} is not a nanozoo run config (no 'experiment'/'config' keys)")
    if doc.get("format", 0) > FORMAT_VERSION:
        raise RunError(f"{p} has format {doc['format']}, newer than this nanozoo reads ({FORMAT_VERSION})")
    return doc


class MetricsLog:
    """Appends one JSON line per logged step to metrics.jsonl; reads it back for plots and `list`."""

    def __init__(self, run_dir: Path, enabled: bool = True):
        self.path = Path(run_dir) / "metrics.jsonl"
        self.enabled = enabled

    def truncate_after(self, step: int) -> None:
        """On resume: drop records logged after the checkpoint's step (they will be logged again)."""
        if self.enabled and self.path.exists():
            keep = [r for r in read_metrics(self.path.parent) if r.get("step", 0) <= step]
            atomic_write(self.path, "".join(json.dumps(r) + "\n" for r in keep))

    def write(self, step: int, elapsed_s: float, **metrics: Any) -> dict:
        rec = {"step": step, "elapsed_s": round(elapsed_s, 3)}
        rec.update({k: _clean(v) for k, v in metrics.items()})
        if self.enabled:
            with open(self.path, "a") as f:
                f.write(json.dumps(rec) + "\n")
        return rec


def _clean(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def read_metrics(run_dir: str | Path) -> list[dict]:
    p = Path(run_dir) / "metrics.jsonl"
    if not p.exists():
        return []
    out = []
    for line in p.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by a crash mid-write
            log.warning("skipping a corrupt line in %s", p)
    return out


def best_metric(
    root: str | Path, name: str, metric: str, lower_is_better: bool = True, default_only: bool = False
) -> tuple[float, Path] | None:
    """The best value of `metric` over every local run of experiment `name`, and the run it came from.
    `default_only`: only runs whose config.json records no `--set` overrides."""
    best = None
    for run in sorted((Path(root) / name).glob("*/")):
        if default_only and _overrides(run) != []:
            continue
        for r in read_metrics(run):
            v = r.get(metric)
            if isinstance(v, (int, float)) and math.isfinite(v):
                if best is None or (v < best[0] if lower_is_better else v > best[0]):
                    best = (float(v), run)
    return best


def _overrides(run: Path) -> list[str] | None:
    """The overrides a run was made with; None when its config.json is missing or does not say."""
    try:
        return read_config(run).get("overrides")
    except RunError:
        return None
