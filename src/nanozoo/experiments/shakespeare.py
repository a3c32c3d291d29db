"""Character-level GPT on Tiny Shakespeare: nanoGPT's `shakespeare_char` and a CPU-sized default."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from nanozoo.core.config import ConfigError, TrainConfig
from nanozoo.core.task import Task
from nanozoo.data.text import char_corpus, random_windows
from nanozoo.experiments.lm import build, sample_chars, sample_text
from nanozoo.models.gpt import GPTConfig
from nanozoo.tokenizers.char import CharTokenizer


@dataclass
class TextData:
    dataset: str = "tinyshakespeare"
    val_fraction: float = 0.1
    sample_tokens: int = 500  # length of samples.txt

    def __post_init__(self):
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(f"data.val_fraction={self.val_fraction} must be in (0, 1)")


@dataclass
class CharGPTConfig:
    model: GPTConfig = field(default_factory=GPTConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: TextData = field(default_factory=TextData)


def text_corpus(d: TextData, data_dir: Path | None) -> tuple[CharTokenizer, dict[str, torch.Tensor]]:
    """The data section's text as a character tokenizer and its train/val token streams."""
    chars, splits = char_corpus(d.dataset, d.val_fraction, data_dir)
    return CharTokenizer(chars), splits


def setup(cfg: CharGPTConfig, data_dir: Path | None) -> Task:
    tok, splits = text_corpus(cfg.data, data_dir)
    cfg.model.vocab_size = len(tok)
    T = cfg.model.block_size

    def sample(m) -> str:
        g = torch.Generator().manual_seed(cfg.train.seed)
        return "\n" + "".join(sample_chars(m, tok, "\n", cfg.data.sample_tokens, generator=g))

    return Task(
        model=build(cfg),
        get_batch=lambda split, B, gen: random_windows(splits[split], B, T, gen),
        sample=sample,
        save=lambda run_dir: tok.save(run_dir / "tokenizer.json"),
    )


# ---------------------------------------------------------------------------------------------------
# The experiments


def published() -> CharGPTConfig:
    """nanoGPT config/train_shakespeare_char.py: 10.65M parameters, val 1.4697 after 5000 iterations."""
    return CharGPTConfig(
        model=GPTConfig(block_size=256, n_layer=6, n_head=6, n_embd=384, dropout=0.2),
        train=TrainConfig(
            max_iters=5000,
            batch_size=64,
            lr=1e-3,
            min_lr=1e-4,
            warmup_iters=100,
            lr_decay_iters=5000,
            beta2=0.99,
            eval_interval=250,
            eval_iters=200,
            log_interval=10,
        ),
    )


def cpu() -> CharGPTConfig:
    """nanoGPT's CPU recipe (4x4x128, context 64) tuned for the lowest val loss in ~2 minutes on 2 CPU cores.

    NOTE: measured at a fixed number of steps (benchmarks/RESULTS.md, "shakespeare-char-cpu"): batch 12 at
    lr 1e-3 (the recipe) gives 1.88; lr 2e-3 gives 1.80; batch 32 at lr 3e-3 gives 1.66 after 1500 steps.
    Larger batches use the two cores better (more tokens/s), and the cosine decay must reach its floor.
    """
    return CharGPTConfig(
        model=GPTConfig(block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0),
        train=TrainConfig(
            max_iters=1400,
            batch_size=32,
            lr=3e-3,
            min_lr=3e-4,
            warmup_iters=100,
            beta2=0.99,
            eval_interval=200,
            eval_iters=20,
            log_interval=10,
        ),
    )


__all__ = ["CharGPTConfig", "TextData", "build", "cpu", "published", "sample_text", "setup", "text_corpus"]
