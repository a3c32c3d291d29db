"""The experiment registry: named, runnable records (model + data + config + published reference figure).

Each experiment module calls `register(Experiment(...))` at import; `nanozoo.experiments` imports them all.
A torch experiment gives `setup(cfg, data_dir) -> Task` and the trainer does the rest; a numpy/micrograd
experiment gives `run(cfg, run_dir, data_dir) -> metrics` with its own short loop, writing the same run
folder (config.json, metrics.jsonl, loss.png, its pictures).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Reference:
    """A published figure an experiment is measured against."""

    metric: str  # a metrics.jsonl name: "val_loss", "test_loss", "train_acc", ...
    value: float
    source: str  # who published it, under what conditions
    lower_is_better: bool = True


@dataclass
class SampleOptions:
    prompt: str = ""
    max_new_tokens: int = 500
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    num: int = 1
    seed: int | None = None
    exclude_train: bool = False  # makemore: mark samples that are in the training set


@dataclass
class Experiment:
    name: str
    summary: str  # what it trains, one line
    config: Callable[[], Any]  # the default config: a dataclass of sections (model, train, ...)
    setup: Callable[[Any, Path | None], Any] | None = None  # torch: (cfg, data_dir) -> core.trainer.Task
    run: Callable[[Any, Path, Path | None], dict] | None = (
        None  # own loop: (cfg, run_dir, data_dir) -> metrics
    )
    sample: Callable[[Path, SampleOptions], Iterator[str]] | None = None  # (run_dir, opts) -> text chunks
    reference: Reference | None = None

    def __post_init__(self):
        if (self.setup is None) == (self.run is None):
            raise ValueError(
                f"experiment {self.name!r} needs exactly one of setup= (torch) or run= (own loop)"
            )


REGISTRY: dict[str, Experiment] = {}


def register(exp: Experiment) -> Experiment:
    if exp.name in REGISTRY:
        raise ValueError(f"experiment {exp.name!r} is registered twice")
    REGISTRY[exp.name] = exp
    return exp


def get(name: str) -> Experiment:
    import difflib

    if name not in REGISTRY:
        close = difflib.get_close_matches(name, REGISTRY, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise KeyError(f"unknown experiment {name!r}{hint}; run `nanozoo list` to see them all")
    return REGISTRY[name]
