"""What a torch experiment hands the trainer: the model, a batch function, and optional eval/sample hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn


def default_loss(model: nn.Module, batch: tuple) -> torch.Tensor:
    """`model(*batch)` returns the loss, or a tuple `(logits, loss)` (the nanoGPT convention)."""
    out = model(*batch)
    return out[1] if isinstance(out, tuple) else out


@dataclass
class Task:
    """The same small interface for every torch experiment.

    get_batch(split, batch_size, generator) -> tuple of tensors on the CPU, e.g. (x, y).
      `split` is "train", "val" or "test". Draw all randomness from `generator` (never the global RNG):
      that is what makes resume exact and what lets DDP ranks take disjoint slices of one global batch.
    loss(model, batch) -> scalar tensor; `model` may be wrapped (DDP, compile): call it, do not reach in.
    evaluate(model) -> {"val_acc": ...} extra metrics at each evaluation (names as in metrics.jsonl).
    sample(model) -> text written to samples.txt at the end of training.
    save(run_dir) -> write artefacts the run needs later (a tokenizer, a vocabulary).
    tokens(batch) -> tokens in a batch, for tokens/s (default: numel of the first tensor).
    splits / final_splits: the splits evaluated at every eval / once at the end (e.g. "test").
    finish(model, run_dir) -> {"test_acc": ...} once at the end of a finished run, on rank 0, the model in
      eval mode: exact final metrics (logged with the final record) and pictures written into run_dir.
    """

    model: nn.Module
    get_batch: Callable[[str, int, torch.Generator], tuple]
    loss: Callable[[nn.Module, tuple], torch.Tensor] = default_loss
    evaluate: Callable[[nn.Module], dict[str, float]] | None = None
    sample: Callable[[nn.Module], str] | None = None
    save: Callable[[Path], None] | None = None
    tokens: Callable[[tuple], int] = lambda batch: batch[0].numel()
    splits: tuple[str, ...] = ("train", "val")  # evaluated every eval_interval
    final_splits: tuple[str, ...] = ()  # evaluated once at the end, logged as `{split}_loss` (e.g. test)
    finish: Callable[[nn.Module, Path], dict[str, float]] | None = None
    extra: dict[str, Any] | None = None
