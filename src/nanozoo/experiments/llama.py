"""Llama 2 on Tiny Shakespeare: the character-level recipe of experiments/shakespeare.py with the GPT
swapped for a Llama of the same width, depth, context, data and training budget, so the two validation
losses compare the architectures (benchmarks/RESULTS.md, "Llama vs GPT")."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from nanozoo.core.config import TrainConfig
from nanozoo.core.task import Task
from nanozoo.data.text import random_windows
from nanozoo.experiments import shakespeare
from nanozoo.experiments.lm import build, sample_text
from nanozoo.experiments.shakespeare import TextData
from nanozoo.experiments.shakespeare import cpu as gpt_cpu
from nanozoo.models.llama import LlamaConfig, quantize_int8


@dataclass
class CharLlamaConfig:
    model: LlamaConfig = field(default_factory=LlamaConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: TextData = field(default_factory=TextData)


def setup(cfg: CharLlamaConfig, data_dir: Path | None) -> Task:
    """shakespeare's task, and at the end the quality cost of int8 (`int8_cost`) on the val split."""
    task = shakespeare.setup(cfg, data_dir)
    if cfg.data.tokenizer == "char":
        splits, T = task.extra["splits"], cfg.model.block_size
        windows = lambda B, g: random_windows(splits["val"], B, T, g)  # noqa: E731
        task.finish = lambda m, run_dir: int8_cost(m, windows, cfg.train.eval_iters, cfg.train.batch_size)
    return task


@torch.no_grad()
def int8_cost(model, windows, batches: int, batch_size: int) -> dict[str, float]:
    """What int8 dynamic quantization of the linear layers costs in quality: the mean loss of the model and
    of its quantized copy (on the CPU) over the same `batches` val batches (`windows(B, generator)`; the
    experiments pass eval_iters and batch_size, the size of the trainer's own val_loss)."""
    gen = torch.Generator().manual_seed(0)
    batches = min(batches, 20)  # a bounded cost at the end of a GPU-sized run (both copies run on the CPU)
    fixed = [windows(batch_size, gen) for _ in range(batches)]
    device = next(model.parameters()).device
    fp32 = sum(model(x.to(device), y.to(device))[1].item() for x, y in fixed) / batches
    int8 = quantize_int8(model)
    return {"val_loss_fp32": fp32, "val_loss_int8": sum(int8(x, y)[1].item() for x, y in fixed) / batches}


def cpu() -> CharLlamaConfig:
    """shakespeare-char-cpu's shape (4 layers, 4 heads, 128 wide, context 64) and training, as a Llama with 2
    key/value heads; its SwiGLU width follows Llama's rule (2/3 of 4x, a multiple of 32: 352)."""
    gpt = gpt_cpu()
    m = gpt.model
    model = LlamaConfig(
        block_size=m.block_size, n_layer=m.n_layer, n_head=m.n_head, n_kv_head=2, n_embd=m.n_embd
    )
    return CharLlamaConfig(model=model, train=gpt.train, data=gpt.data)


__all__ = ["CharLlamaConfig", "build", "cpu", "int8_cost", "sample_text", "setup"]
