"""Hyperparameter search: a grid (or N random points of it) of `--set` overrides, run in parallel processes.

`run_sweep("names-mlp", {"model.n_embd": ["16", "32"], "train.lr": ["1e-3", "3e-3"]}, out_dir, jobs=2)`
trains every combination into `out_dir/<combination>/`, then writes `results.md` / `results.json` (sorted by
val loss), `sweep.png` (val loss per value of each hyperparameter) and `curves.png` (each run's val loss
against step). A finished combination leaves a `result.json`; running the sweep again skips it, and resumes
an interrupted one from its checkpoint, so a sweep stopped with Ctrl-C continues where it stopped.
`columns` adds other metrics of each run to the table and draws them side by side in `columns.png` (the
positional-encoding study's `val_loss_1x`, `_2x`, `_4x`); a metric a run did not log is "n/a", never a
number (learned positions have no table past block_size, so no `val_loss_2x`). The best run is the one
with the lowest metric unless `higher_is_better` (by default: where the metric is the experiment's reference
metric and that reference is higher-is-better, as bert-sentiment's val_acc).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import random
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from nanozoo.core.atomic import atomic_write
from nanozoo.core.config import ConfigError
from nanozoo.core.runlog import read_config, read_metrics

log = logging.getLogger(__name__)
RESULT = "result.json"
PLOT = "sweep.png"
CURVES = "curves.png"
COLUMNS = "columns.png"


# ---------------------------------------------------------------------------------------------------
# The grid


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """["model.n_embd=16,32", "train.lr=1e-3"] -> {"model.n_embd": ["16", "32"], "train.lr": ["1e-3"]}."""
    grid: dict[str, list[str]] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--grid {item!r} is not of the form section.key=v1,v2,...")
        key, values = item.split("=", 1)
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not vals:
            raise ConfigError(f"--grid {item!r} has no values")
        grid[key.strip()] = vals
    return grid


def combinations(
    grid: dict[str, list[str]], n_random: int | None = None, seed: int = 0
) -> list[dict[str, str]]:
    """Every combination of the grid, or `n_random` of them drawn without replacement (seeded)."""
    keys = list(grid)
    combos = [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*(grid[k] for k in keys))]
    if n_random is not None:
        if n_random < 1:
            raise ConfigError(f"--random {n_random} must be >= 1")
        combos = random.Random(seed).sample(combos, min(n_random, len(combos)))
    return combos


def _same_sweep(out: Path, experiment: str, overrides: list[str]) -> None:
    """A folder holds one sweep: rerunning it with other --set values would pass old results off as new."""
    spec = {"experiment": experiment, "set": overrides}
    path = out / "sweep.json"
    if path.exists() and json.loads(path.read_text()) != spec:
        raise ConfigError(
            f"{out} holds a sweep of {json.loads(path.read_text())}; this one is {spec}: "
            "give it another --out, or the same experiment and --set values"
        )
    atomic_write(path, json.dumps(spec, indent=2))


def combo_id(combo: dict[str, str]) -> str:
    """A folder name that is the combination itself: model.n_embd=16,train.lr=1e-3."""
    text = ",".join(f"{k}={v}" for k, v in combo.items()) or "default"
    return re.sub(r"[^A-Za-z0-9_.=,+-]", "_", text)


# ---------------------------------------------------------------------------------------------------
# One combination (runs in a worker process)


def _finished(run_dir: Path) -> bool:
    doc = read_config(run_dir)
    train = doc["config"].get("train")
    steps = [r["step"] for r in read_metrics(run_dir) if "step" in r]
    return train is None or (bool(steps) and max(steps) >= train["max_iters"])


def run_one(experiment: str, overrides: list[str], folder: str, data_dir: str | None, threads: int) -> dict:
    """Train one combination into `folder` (resuming an interrupted run there); returns its result row."""
    from nanozoo.experiments import runner

    folder_p = Path(folder)
    earlier = sorted(p for p in (folder_p / experiment).glob("*/") if (p / "trainer_state.json").exists())
    resume = earlier[-1] if earlier else None
    extra = ["train.progress=false"] if _has_train(experiment) else []
    if threads and extra:
        extra.append(f"train.threads={threads}")
    run_dir, _ = runner.train(
        experiment, extra + overrides, resume=resume, data_dir=data_dir, runs_root=folder_p
    )
    last: dict[str, Any] = {}
    for rec in read_metrics(run_dir):  # the last value of every metric (a resumed run returns only its own)
        last.update({k: v for k, v in rec.items() if isinstance(v, (int, float))})
    row = {"run_dir": str(run_dir), "finished": _finished(run_dir), **last}
    if row["finished"]:
        atomic_write(folder_p / RESULT, json.dumps(row, indent=2))
    return row


def _has_train(experiment: str) -> bool:
    from nanozoo.experiments import get

    return hasattr(get(experiment).default_config(), "train")


# ---------------------------------------------------------------------------------------------------
# The sweep


def run_sweep(
    experiment: str,
    grid: dict[str, list[str]],
    out_dir: str | Path,
    jobs: int = 1,
    n_random: int | None = None,
    seed: int = 0,
    overrides: list[str] = (),
    data_dir: str | Path | None = None,
    metric: str = "val_loss",
    columns: list[str] = (),
    higher_is_better: bool | None = None,
) -> list[dict[str, Any]]:
    """Run (or skip, when finished) every combination; returns the rows sorted by `metric`, best first."""
    from nanozoo.experiments import runner

    if higher_is_better is None:
        ref = runner.get(experiment).reference
        higher_is_better = ref is not None and ref.metric == metric and not ref.lower_is_better
    if jobs < 1:
        raise ConfigError(f"--jobs {jobs} must be >= 1")
    combos = combinations(grid, n_random, seed)
    for combo in combos:  # refuse a typo before any training starts
        runner.build_config(runner.get(experiment), [*overrides, *(f"{k}={v}" for k, v in combo.items())])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _same_sweep(out, experiment, list(overrides))
    todo, done = [], 0
    for combo in combos:
        folder = out / combo_id(combo)
        if (folder / RESULT).exists():
            done += 1
        else:
            todo.append((combo, folder))
    log.info(
        "sweep %s: %d combinations, %d finished earlier, %d to run on %d jobs",
        experiment,
        len(combos),
        done,
        len(todo),
        jobs,
    )
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else 0  # 0: the experiment's own setting
    args = [
        (
            experiment,
            [*overrides, *(f"{k}={v}" for k, v in c.items())],
            str(f),
            str(data_dir) if data_dir else None,
            threads,
        )
        for c, f in todo
    ]
    if jobs == 1:
        for a in args:
            row = run_one(*a)
            if not row["finished"]:  # Ctrl-C: the run checkpointed and stopped; so does the sweep
                break
            check_logged([row], metric)  # a misspelt --metric stops after one run (a column may be n/a)
    else:
        import multiprocessing

        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(run_one, *a) for a in args]
            try:
                for f in futures:
                    row = f.result()
                    if not row["finished"]:  # Ctrl-C: that run checkpointed; the sweep stops
                        break
                    check_logged([row], metric)
            finally:  # a stop, a failure or Ctrl-C: what has not started never starts
                for g in futures:
                    g.cancel()
    rows = collect(out, combos, metric, columns, higher_is_better)
    write_report(out, rows, list(grid), metric, columns, higher_is_better)
    return rows


def collect(
    out: Path, combos: list[dict[str, str]], metric: str, columns: list[str] = (), higher_is_better=False
) -> list[dict[str, Any]]:
    rows, results = [], []
    for combo in combos:
        p = out / combo_id(combo) / RESULT
        if p.exists():
            res = json.loads(p.read_text())
            values = {m: res.get(m, math.nan) for m in (metric, *columns)}  # NaN: the run did not log it
            rows.append({**combo, **values, "run_dir": res["run_dir"]})
            results.append(res)
    check_logged(results, metric, columns)
    sign = -1 if higher_is_better else 1
    return sorted(rows, key=lambda r: (math.isnan(r[metric]), sign * r[metric]))  # best first, n/a last


def check_logged(results: list[dict[str, Any]], metric: str, columns: list[str] = ()) -> None:
    """A misspelt --metric or --also is one error naming what finished runs logged; the runs are kept, and
    a rerun with the right name reuses them."""
    logged = {
        k for r in results for k, v in r.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    unknown = [m for m in (metric, *columns) if results and m not in logged]
    if unknown:
        raise ConfigError(
            f"no run of the sweep logged {', '.join(unknown)}; they logged: {', '.join(sorted(logged))}"
        )


def write_report(
    out: Path,
    rows: list[dict[str, Any]],
    keys: list[str],
    metric: str,
    columns: list[str] = (),
    higher_is_better: bool = False,
) -> None:
    """results.md (a table, best first), results.json, sweep.png (metric per value of each key),
    curves.png (each run's metric against step) and, with `columns`, columns.png (the metric and the
    columns side by side)."""
    head = ["rank", *keys, metric, *columns, "run"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, r in enumerate(rows, 1):
        values = [_cell(r[m]) for m in (metric, *columns)]
        lines.append("| " + " | ".join([str(i), *(str(r[k]) for k in keys), *values, r["run_dir"]]) + " |")
    if any(math.isnan(r[m]) for r in rows for m in (metric, *columns)):
        lines.append("\nn/a: the run did not log this metric")
    atomic_write(out / "results.md", "\n".join(lines) + "\n")
    nan_free = [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()} for r in rows
    ]
    atomic_write(out / "results.json", json.dumps(nan_free, indent=2))  # JSON has no NaN: null
    if rows and keys:
        from nanozoo.core import plots

        plots.save(strip_plot(rows, keys, metric, higher_is_better), out / PLOT)
        plots.save(curves_plot(rows, keys, metric), out / CURVES)
        if columns:
            plots.save(columns_plot(rows, keys, [metric, *columns]), out / COLUMNS)


def _cell(v: float) -> str:
    """A table cell: NaN is a metric the run did not log; infinity a diverged run."""
    return f"{v:.4f}" if math.isfinite(v) else "n/a" if math.isnan(v) else str(v)


def strip_plot(rows: list[dict[str, Any]], keys: list[str], metric: str, higher_is_better: bool = False):
    """One panel per swept key: every run is a dot at its value of the key (x) and its `metric` (y), the
    value's mean a bar, the best run a star; a diverged run is counted under its value. A few runs read
    better as dots than as a histogram of counts."""
    from nanozoo.core import plots

    fig, axes = plots.plt.subplots(
        1, len(keys), figsize=(2.5 + 3.5 * len(keys), 3.6), squeeze=False, sharey=True, layout="constrained"
    )
    finite = [r for r in rows if math.isfinite(r[metric])]
    pick = max if higher_is_better else min
    best = pick(finite, key=lambda r: r[metric]) if finite else None
    for ax, key in zip(axes[0], keys, strict=True):
        values = _sorted_values({r[key] for r in rows})
        labels = []
        for x, value in enumerate(values):
            runs = [r for r in finite if r[key] == value]
            n_bad = sum(1 for r in rows if r[key] == value) - len(runs)
            labels.append(value + (f"\n({n_bad} not finite)" if n_bad else ""))
            if not runs:
                continue
            # side by side, so that equal losses do not hide each other
            xs = [x + 0.25 * (i - (len(runs) - 1) / 2) / max(1, len(runs) - 1) for i in range(len(runs))]
            ax.scatter(xs, [r[metric] for r in runs], s=30, color="C0", zorder=2)
            ax.hlines(sum(r[metric] for r in runs) / len(runs), x - 0.2, x + 0.2, color="C1", lw=2, zorder=1)
            if best in runs:
                ax.scatter(xs[runs.index(best)], best[metric], marker="*", s=220, color="C3", zorder=3)
        ax.set_xticks(range(len(values)), labels)
        ax.set_xlim(-0.5, len(values) - 0.5)
        ax.set_xlabel(key)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel(metric.replace("_", " "))
    handles = [
        plots.plt.Line2D([], [], ls="", marker="o", color="C0", label="one run"),
        plots.plt.Line2D([], [], color="C1", lw=2, label="mean of the value"),
        plots.plt.Line2D([], [], ls="", marker="*", ms=12, color="C3", label="best run"),
    ]
    fig.legend(handles=handles, loc="outside right upper", fontsize=8)
    title = f"{metric.replace('_', ' ')} of {len(rows)} runs"
    if best is not None:
        title += f"; best {best[metric]:.4f} at " + ", ".join(f"{k}={best[k]}" for k in keys)
    fig.suptitle(title, fontsize=10)
    return fig


def _label(row: dict[str, Any], keys: list[str]) -> str:
    return ", ".join(str(row[k]) for k in keys)


def curves_plot(rows: list[dict[str, Any]], keys: list[str], metric: str):
    """Every run's `metric` against step (from its metrics.jsonl), one line per combination."""
    from nanozoo.core import plots

    fig, ax = plots.plt.subplots(figsize=(6.5, 4), layout="constrained")
    for r in rows:
        points = [(m["step"], m[metric]) for m in read_metrics(Path(r["run_dir"])) if metric in m]
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", markersize=3, label=_label(r, keys))
    ax.set_xlabel("step")
    ax.set_ylabel(metric.replace("_", " "))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title=", ".join(keys), title_fontsize=8)
    ax.set_title(f"{metric.replace('_', ' ')} during training, {len(rows)} runs", fontsize=10)
    return fig


def columns_plot(rows: list[dict[str, Any]], keys: list[str], columns: list[str]):
    """The `columns` metrics of each run as bars side by side (e.g. val loss at 1x, 2x, 4x the context),
    in the table's order; a metric the run did not log is marked n/a, not drawn as zero."""
    from nanozoo.core import plots

    fig, ax = plots.plt.subplots(figsize=(2 + 1.3 * len(rows), 4), layout="constrained")
    width = 0.8 / len(columns)
    finite = [r[c] for r in rows for c in columns if math.isfinite(r[c])]
    low, high = min(finite, default=0.0), max(finite, default=1.0)
    bottom = low - 0.1 * (high - low) - 1e-3  # bars start just under the lowest value: differences show
    for j, c in enumerate(columns):
        for x, r in enumerate(rows):
            at = x - 0.4 + width * (j + 0.5)
            if math.isfinite(r[c]):
                ax.bar(at, r[c] - bottom, width, bottom=bottom, color=f"C{j}")
                ax.text(at, r[c], f"{r[c]:.3f}", ha="center", va="bottom", fontsize=7, rotation=90)
            else:
                ax.text(at, bottom, " n/a", ha="center", va="bottom", fontsize=8, rotation=90, color=f"C{j}")
    handles = [plots.plt.Rectangle((0, 0), 1, 1, color=f"C{j}") for j in range(len(columns))]
    ax.legend(handles, [c.replace("_", " ") for c in columns], fontsize=8)
    ax.set_xticks(range(len(rows)), [_label(r, keys) for r in rows])
    ax.set_xlabel(", ".join(keys))
    ax.set_ylim(bottom, high + 0.12 * (high - bottom))
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(", ".join(c.replace("_", " ") for c in columns) + " (n/a: not logged)", fontsize=10)
    return fig


def _sorted_values(values: set[str]) -> list[str]:
    """Numbers in numeric order ("1e-3" < "3e-3" < "0.01"), anything else alphabetically."""
    try:
        return sorted(values, key=float)
    except ValueError:
        return sorted(values)


__all__ = [
    "COLUMNS",
    "CURVES",
    "PLOT",
    "check_logged",
    "collect",
    "combinations",
    "columns_plot",
    "combo_id",
    "curves_plot",
    "parse_grid",
    "run_one",
    "run_sweep",
    "strip_plot",
    "write_report",
]
