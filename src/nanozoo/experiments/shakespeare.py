"""Character-level GPT on Tiny Shakespeare: nanoGPT's `shakespeare_char` and a CPU-sized default."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

from nanozoo import data
from nanozoo.core.checkpoint import load_weights
from nanozoo.core.config import TrainConfig
from nanozoo.core.task import Task
from nanozoo.data.text import random_windows, split_stream
from nanozoo.experiments.registry import Experiment, Reference, SampleOptions, register
from nanozoo.models.gpt import GPT, GPTConfig
from nanozoo.tokenizers.char import CharTokenizer


@dataclass
class TextData:
    dataset: str = "tinyshakespeare"
    val_fraction: float = 0.1
    sample_tokens: int = 500  # length of samples.txt


@dataclass
class CharGPTConfig:
    model: GPTConfig = field(default_factory=GPTConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: TextData = field(default_factory=TextData)


def char_corpus(d: TextData, data_dir: Path | None) -> tuple[CharTokenizer, dict[str, torch.Tensor]]:
    """A text data set as a character tokenizer and its train/val token streams (nanoGPT's split)."""
    text = data.read_text(d.dataset, data_dir=data_dir)
    tok = CharTokenizer.from_text(text)
    return tok, split_stream(tok.encode(text), d.val_fraction)


def setup(cfg: CharGPTConfig, data_dir: Path | None) -> Task:
    tok, splits = char_corpus(cfg.data, data_dir)
    cfg.model.vocab_size = len(tok)
    model = GPT(cfg.model)
    T = cfg.model.block_size

    def sample(m: GPT) -> str:
        g = torch.Generator().manual_seed(cfg.train.seed)
        start = torch.tensor([tok.encode("\n")], device=next(m.parameters()).device)
        return tok.decode(m.generate(start, cfg.data.sample_tokens, generator=g)[0].tolist())

    return Task(
        model=model,
        get_batch=lambda split, B, gen: random_windows(splits[split], B, T, gen),
        sample=sample,
        save=lambda run_dir: tok.save(run_dir / "tokenizer.json"),
    )


def sample_run(run_dir: Path, opts: SampleOptions) -> Iterator[str]:
    """Stream characters from a trained run: the prompt first, then one character at a time."""
    from nanozoo.experiments.runner import load_run_config

    _, cfg = load_run_config(run_dir)
    tok = CharTokenizer.load(run_dir / "tokenizer.json")
    model = GPT(cfg.model)
    load_weights(model, run_dir / "model.safetensors")
    gen = torch.Generator().manual_seed(opts.seed) if opts.seed is not None else None
    prompt = opts.prompt or "\n"
    for n in range(opts.num):
        if n:
            yield "\n" + "-" * 40 + "\n"
        yield prompt
        idx = torch.tensor([tok.encode(prompt)])
        for nxt in model.stream(
            idx,
            opts.max_new_tokens,
            temperature=opts.temperature,
            top_k=opts.top_k,
            top_p=opts.top_p,
            generator=gen,
        ):
            yield tok.decode(nxt.tolist())


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


register(
    Experiment(
        name="shakespeare-char",
        summary="6-layer char GPT (10.7M params) on Tiny Shakespeare, nanoGPT's published config (GPU-sized)",
        config=published,
        setup=setup,
        sample=sample_run,
        reference=Reference("val_loss", 1.4697, "nanoGPT README, shakespeare_char on one A100, ~3 min"),
    )
)
register(
    Experiment(
        name="shakespeare-char-cpu",
        summary="4-layer char GPT on Tiny Shakespeare sized for ~2 minutes on 2 CPU cores (make demo)",
        config=cpu,
        setup=setup,
        sample=sample_run,
        reference=Reference(
            "val_loss", 1.88, "nanoGPT README CPU recipe (4x4x128, ctx 64, batch 12, 2000 iters)"
        ),
    )
)
