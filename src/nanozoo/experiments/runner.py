"""Running experiments: build the config, make or reopen the run folder, train, sample, plot.

The CLI's `train` and `sample` are thin wrappers over `train` and `sample` here (`list` reads
`registry.table`, which imports no torch).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from nanozoo.core import plots
from nanozoo.core.atomic import atomic_write
from nanozoo.core.config import ConfigError, apply_overrides, override_items, refuse_derived, to_dict
from nanozoo.core.runlog import new_run_dir, read_config, write_config
from nanozoo.core.trainer import Trainer, check_batches, check_device, init_distributed
from nanozoo.experiments.diagnostics import TrainingWatch
from nanozoo.experiments.registry import Experiment, SampleOptions, get, load_run

log = logging.getLogger(__name__)


def build_config(exp: Experiment, overrides: list[str] | dict[str, Any] = ()) -> Any:
    return apply_overrides(exp.default_config(), overrides)


def _shared_run_dir(name: str, runs_root: str | Path) -> Path:
    """A new run folder, made by rank 0 and told to the other ranks under torchrun."""
    env = init_distributed()
    path = [str(new_run_dir(name, runs_root)) if env.master else ""]
    if env.world > 1:
        torch.distributed.broadcast_object_list(path, src=0)
    return Path(path[0])


def train(
    name: str,
    overrides: list[str] | dict[str, Any] = (),
    resume: str | Path | None = None,
    data_dir: str | Path | None = None,
    runs_root: str | Path = "runs",
    until: int | None = None,
    diagnostics: bool = False,
) -> tuple[Path, dict[str, float]]:
    """Train experiment `name` (or resume the run folder `resume`); returns (run folder, last metrics).

    `diagnostics` (MLP experiments): activation/gradient histograms at init and the update-to-data ratio
    over training, drawn into RUN/diagnostics/."""
    exp = get(name)
    given = dict(override_items(overrides))
    if resume is not None:
        _, cfg = load_run(resume, expect=name)
        cfg = apply_overrides(cfg, overrides)
        given = {**dict(override_items(read_config(resume).get("overrides", []))), **given}  # last one wins
    else:
        cfg = build_config(exp, overrides)
    given = [f"{k}={v}" for k, v in given.items()]
    if exp.loop is not None:  # an experiment with its own loop (numpy, micrograd)
        if diagnostics:
            raise ConfigError(f"--diagnostics draws torch MLPs; {name} has its own training loop")
        run_dir = Path(resume) if resume is not None else _shared_run_dir(name, runs_root)
        write_config(run_dir, name, to_dict(cfg), given)
        metrics = exp.run(cfg, run_dir, Path(data_dir) if data_dir else None)
        plots.loss_curves(run_dir, title=name)
        return run_dir, metrics
    check_device(cfg.train.device)
    torch.manual_seed(cfg.train.seed)  # the model's init
    before = copy.deepcopy(cfg)
    task = exp.setup(cfg, Path(data_dir) if data_dir else None)  # builds the model: exp.build(cfg)
    refuse_derived(before, cfg, overrides)
    check_batches(task, cfg.train)
    if diagnostics:
        TrainingWatch.check(task.model)
    # only now, with the config and the model known to be good, is a run folder made
    run_dir = Path(resume) if resume is not None else _shared_run_dir(name, runs_root)
    trainer = Trainer(task, cfg.train, run_dir, resume=resume is not None)
    watch = TrainingWatch(trainer.raw, trainer.opt, start_step=trainer.step) if diagnostics else None
    if trainer.env.master:
        write_config(run_dir, name, to_dict(cfg), given)  # after setup: it fills in derived values
        if task.save is not None:
            task.save(run_dir)
    metrics = {**trainer.fit(until=until), "step": trainer.step, "max_iters": cfg.train.max_iters}
    metrics["finished"] = trainer.finished
    metrics["signal"] = trainer.stop_signal
    if trainer.env.master:
        if task.sample is not None and trainer.finished:
            atomic_write(run_dir / "samples.txt", task.sample(trainer.raw))
        plots.loss_curves(run_dir, title=name)
        if watch is not None:
            metrics["diagnostics"] = watch.save(run_dir / "diagnostics", title=name)
    return run_dir, metrics


def sample(run_dir: str | Path, opts: SampleOptions) -> Iterator[str]:
    """Stream text from a trained run."""
    exp, _ = load_run(run_dir)
    return exp.sample(Path(run_dir), opts)
