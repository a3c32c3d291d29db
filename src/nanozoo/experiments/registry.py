"""The experiment registry: named, runnable records (model + data + config + published reference figure).

Each track's table (`experiments/tables/TRACK.py`) is plain data: a list of `Experiment`s that name their
functions inside the track's module. Listing experiments reads only
the tables; a track module (and with it torch and the models) is imported the first time one of its
experiments is configured, built or run.

A torch experiment's module gives `setup(cfg, data_dir) -> Task` and `build(cfg) -> nn.Module` and the
trainer does the rest; an experiment with its own loop (numpy, micrograd) names a
`loop(cfg, run_dir, data_dir) -> metrics` that writes the same run folder (config.json, metrics.jsonl,
loss.png, its pictures).
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nanozoo.core.config import ConfigError, from_dict
from nanozoo.core.errors import UserError
from nanozoo.core.runlog import RunError, best_metric, read_config

# The tracks, in the order `nanozoo list` shows them: nanozoo.experiments.tables.TRACK holds each table.
TRACKS = [  # one per line: each new track is a one-line change
    "shakespeare",
    "ptb",
    "llama",
    "makemore",
    "next_char",
    "micrograd",
    "classic",
    "seq2seq",
    "vision",
    "nlp",
    "recsys",
    "bert",
]


class ExperimentError(UserError, KeyError):
    """An unknown experiment name, or asking an experiment for what it does not have (a model, samples)."""


@dataclass(frozen=True)
class Reference:
    """A published figure an experiment is measured against."""

    metric: str  # a metrics.jsonl name: "val_loss", "test_loss", "train_acc", ...
    value: float
    source: str  # who published it, under what conditions
    lower_is_better: bool = True
    note: str = ""  # our own remark (why this figure, what we aim for); `nanozoo list --wide` shows it


@dataclass
class SampleOptions:
    """What `nanozoo sample` asks of a run, checked where it is built: before a run is loaded or printed."""

    prompt: str = ""
    max_new_tokens: int = 500  # text runs; a name ends on its own
    temperature: float = 1.0  # 0 is greedy
    top_k: int | None = None
    top_p: float | None = None
    num: int = 1
    seed: int | None = None
    exclude_train: bool = False  # makemore names: draw until `num` names are not in the training set
    mark_train: bool = False  # makemore names: mark the names found in the training set

    def __post_init__(self):
        from nanozoo.models.sampling import check_sampling  # torch: only `sample` builds options

        check_sampling(self.temperature, self.top_k, self.top_p)
        if self.num < 1:
            raise ConfigError(f"num={self.num} must be >= 1")
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens={self.max_new_tokens} must be >= 1")
        if self.exclude_train and self.mark_train:
            raise ConfigError("--exclude-train leaves no training name to mark: drop --mark-train")


@dataclass(frozen=True)
class Experiment:
    """One runnable experiment. It names functions of its track `module`, which is imported on first use:
    `config` (() -> the default config, a dataclass of sections model/train/data/...); for a torch
    experiment the module's `setup(cfg, data_dir) -> Task` and `build(cfg) -> nn.Module`; for one with its
    own loop, `loop(cfg, run_dir, data_dir) -> metrics`; `sampler(run_dir, SampleOptions)` -> text chunks."""

    name: str
    summary: str  # what it trains, one line
    module: str  # the track module, e.g. "nanozoo.experiments.makemore"
    config: str
    loop: str | None = None  # None: a torch experiment, trained by core.trainer
    sampler: str | None = None
    reference: Reference | None = None

    def _fn(self, attr: str) -> Any:
        return getattr(importlib.import_module(self.module), attr)

    def default_config(self) -> Any:
        return self._fn(self.config)()

    def setup(self, cfg: Any, data_dir: Path | None) -> Any:
        return self._fn("setup")(cfg, data_dir)

    def build(self, cfg: Any) -> Any:
        """The model of a config: a fresh one to train, or the shape a finished run's weights load into."""
        if self.loop is not None:
            raise ExperimentError(f"experiment {self.name!r} has its own training loop and no torch model")
        return self._fn("build")(cfg)

    def run(self, cfg: Any, run_dir: Path, data_dir: Path | None) -> dict:
        return self._fn(self.loop)(cfg, run_dir, data_dir)

    def sample(self, run_dir: Path, opts: SampleOptions):
        if self.sampler is None:
            raise ExperimentError(f"experiment {self.name!r} does not sample")
        return self._fn(self.sampler)(run_dir, opts)


# ---------------------------------------------------------------------------------------------------
# The registry: every table, read on first use


_REGISTRY: dict[str, Experiment] = {}


def all_experiments() -> dict[str, Experiment]:
    """Every experiment by name, in table order (reads the tables once; imports no model)."""
    if not _REGISTRY:
        for track in TRACKS:
            for exp in importlib.import_module(f"nanozoo.experiments.tables.{track}").EXPERIMENTS:
                if exp.name in _REGISTRY:
                    raise ValueError(f"experiment {exp.name!r} is in two tables")
                _REGISTRY[exp.name] = exp
    return _REGISTRY


def get(name: str) -> Experiment:
    exps = all_experiments()
    if name not in exps:
        close = difflib.get_close_matches(name, exps, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ExperimentError(f"unknown experiment {name!r}{hint}; run `nanozoo list` to see them all")
    return exps[name]


# ---------------------------------------------------------------------------------------------------
# Run folders


def load_run(run_dir: str | Path, expect: str | None = None) -> tuple[Experiment, Any]:
    """The experiment and config a run folder was made with."""
    doc = read_config(run_dir)
    if expect is not None and doc["experiment"] != expect:
        raise RunError(f"{run_dir} is a run of {doc['experiment']!r}, not {expect!r}")
    exp = get(doc["experiment"])
    return exp, from_dict(type(exp.default_config()), doc["config"])


def load_model(run_dir: str | Path) -> tuple[Any, Any]:
    """The trained model of any torch experiment's run folder, in eval mode, and its config."""
    from nanozoo.core.checkpoint import load_weights

    exp, cfg = load_run(run_dir)
    model = exp.build(cfg)
    load_weights(model, Path(run_dir) / "model.safetensors")
    return model.eval(), cfg


def table(runs_root: str | Path = "runs", wide: bool = False) -> list[dict[str, str]]:
    """One row per experiment (`nanozoo list`): the published figure and the best reached here by a run of
    the default config; `wide` adds what it trains, the source and our note, and the best of any config."""
    rows = []
    for exp in all_experiments().values():
        ref = exp.reference
        best = best_metric(runs_root, exp.name, ref.metric, ref.lower_is_better, True) if ref else None
        row = {
            "experiment": exp.name,
            "reference": f"{ref.metric} {ref.value:g}" if ref else "-",
            "best here": f"{best[0]:.4f}" if best else "-",
            "trains": exp.summary,
        }
        if wide:
            any_cfg = best_metric(runs_root, exp.name, ref.metric, ref.lower_is_better) if ref else None
            row["best, any config"] = f"{any_cfg[0]:.4f} ({any_cfg[1].name})" if any_cfg else "-"
            row["source"] = ref.source if ref else "-"
            row["note"] = ref.note if ref else ""
        rows.append(row)
    return rows


__all__ = [
    "TRACKS",
    "Experiment",
    "ExperimentError",
    "Reference",
    "SampleOptions",
    "get",
    "load_model",
    "load_run",
    "all_experiments",
    "table",
]
