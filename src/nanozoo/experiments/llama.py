"""Llama 2 on Tiny Shakespeare: the character-level recipe of experiments/shakespeare.py with the GPT
swapped for a Llama of the same width, depth, context, data and training budget, so the two validation
losses compare the architectures (benchmarks/RESULTS.md, "Llama vs GPT")."""

from __future__ import annotations

from dataclasses import dataclass, field

from nanozoo.core.config import TrainConfig
from nanozoo.experiments.lm import build, sample_text
from nanozoo.experiments.shakespeare import TextData, setup
from nanozoo.experiments.shakespeare import cpu as gpt_cpu
from nanozoo.models.llama import LlamaConfig


@dataclass
class CharLlamaConfig:
    model: LlamaConfig = field(default_factory=LlamaConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: TextData = field(default_factory=TextData)


def cpu() -> CharLlamaConfig:
    """shakespeare-char-cpu's shape (4 layers, 4 heads, 128 wide, context 64) and training, as a Llama with 2
    key/value heads; its SwiGLU width follows Llama's rule (2/3 of 4x, a multiple of 32: 352)."""
    gpt = gpt_cpu()
    m = gpt.model
    model = LlamaConfig(
        block_size=m.block_size, n_layer=m.n_layer, n_head=m.n_head, n_kv_head=2, n_embd=m.n_embd
    )
    return CharLlamaConfig(model=model, train=gpt.train, data=gpt.data)


__all__ = ["CharLlamaConfig", "build", "cpu", "sample_text", "setup"]
