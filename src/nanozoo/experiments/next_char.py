"""Next-character models on Tiny Shakespeare that report accuracy: the makemore MLP and its tree form.

Issue 4 asks for an MLP next-character model on Tiny Shakespeare: a plain MLP reaches about 50% accuracy,
the goal is >= 55%. Both experiments here read a fixed window of the last `block_size` characters and
nothing else (no attention, no recurrence, no state):

- `shakespeare-mlp`: Bengio's MLP as in makemore part 3 (the window's embeddings concatenated, two tanh
  layers of 512), one prediction per random window. It overfits at about 52%: every (position, feature)
  pair of the window has its own weights, learnt from 1M characters.
- `shakespeare-wavenet`: makemore part 5's hierarchical MLP over the last 32 characters (pairs of
  characters fused, then pairs of pairs, ...), whose fusion weights are shared across the window, in its
  residual form (`model.residual`: pre-LayerNorm residual blocks with dropout 0.2; the lecture's
  Linear -> BatchNorm -> tanh tree scores about the plain MLP's 52%). It is trained as the lecture suggests a
  WaveNet should be: each level as a dilated causal convolution over a span of text, so one span trains a
  prediction after every full window in it (`data.predictions`). `WaveNet.forward_all` is exactly the tree
  on every window (tests/models/test_wavenet.py).

`val_loss` / `val_acc` are exact, over every position of the val split (the last 10% of the text) that has
a full window before it; the trainer's sampled `val_loss` estimate is replaced by them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from nanozoo.core.config import ConfigError, TrainConfig
from nanozoo.core.task import Task
from nanozoo.data.text import random_windows
from nanozoo.experiments.lm import build, sample_chars, sample_text
from nanozoo.experiments.shakespeare import TextData, text_corpus
from nanozoo.models.mlp_lm import MLPConfig
from nanozoo.models.wavenet import WaveNetConfig


@dataclass
class WindowData(TextData):
    predictions: int = 1  # next characters trained per drawn span of block_size + predictions - 1 characters


@dataclass
class NextCharMLPConfig:
    model: MLPConfig = field(
        default_factory=lambda: MLPConfig(vocab_size=65, block_size=16, n_embd=24, n_hidden=512, n_layer=2)
    )
    train: TrainConfig = field(default_factory=TrainConfig)
    data: WindowData = field(default_factory=WindowData)


@dataclass
class NextCharWaveNetConfig:
    model: WaveNetConfig = field(
        default_factory=lambda: WaveNetConfig(vocab_size=65, block_size=32, residual=True, dropout=0.2)
    )
    train: TrainConfig = field(default_factory=TrainConfig)
    data: WindowData = field(default_factory=lambda: WindowData(predictions=64))


# ---------------------------------------------------------------------------------------------------
# Metrics, the task, sampling


@torch.no_grad()
def stream_metrics(model: nn.Module, stream: torch.Tensor, T: int, chunk: int = 8192) -> dict[str, float]:
    """Exact loss and accuracy of the prediction after every full window of T characters in a stream."""
    device = next(model.parameters()).device
    loss, correct, n = 0.0, 0, 0
    for i in range(0, len(stream) - T, chunk):
        end = min(i + chunk + T - 1, len(stream) - 1)
        x, y = stream[i:end][None].to(device), stream[i + T : end + 1].to(device)  # len(y) full windows in x
        logits = model(x)[0].reshape(len(y), -1)  # (windows, V)
        loss += F.cross_entropy(logits, y, reduction="sum").item()
        correct += int((logits.argmax(-1) == y).sum())
        n += len(y)
    return {"val_loss": loss / n, "val_acc": correct / n}


def setup(cfg: NextCharMLPConfig | NextCharWaveNetConfig, data_dir: Path | None) -> Task:
    tok, splits = text_corpus(cfg.data, data_dir)
    cfg.model.vocab_size = len(tok)
    T, P = cfg.model.block_size, cfg.data.predictions
    if P < 1:
        raise ConfigError(f"data.predictions={P} must be >= 1")

    def get_batch(split: str, B: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = random_windows(splits[split], B, T + P - 1, gen)  # (B, T + P - 1) each
        return x, (y[:, T - 1 :] if P > 1 else y[:, -1])  # the character after each full window

    def sample(m: nn.Module) -> str:
        g = torch.Generator().manual_seed(cfg.train.seed)
        return "".join(sample_chars(m, tok, "\n", cfg.data.sample_tokens, generator=g))

    return Task(
        model=build(cfg),
        get_batch=get_batch,
        evaluate=lambda m: stream_metrics(m, splits["val"], T),
        sample=sample,
        save=lambda run_dir: tok.save(run_dir / "tokenizer.json"),
        tokens=lambda batch: batch[1].numel(),  # predictions trained, not characters read
    )


# ---------------------------------------------------------------------------------------------------
# The experiments


def _train(**changes) -> TrainConfig:
    """Settings both experiments share. One thread: two runs share 2 cores without slowing each other (the
    recorded runs); alone, `--set train.threads=2` trains shakespeare-wavenet 1.44x faster."""
    base = dict(
        lr=3e-3, min_lr=1e-4, warmup_iters=200, weight_decay=0.1, eval_iters=10, log_interval=100, threads=1
    )
    return TrainConfig(**{**base, **changes})


def mlp() -> NextCharMLPConfig:
    return NextCharMLPConfig(train=_train(max_iters=20000, batch_size=256, eval_interval=2000))


def wavenet() -> NextCharWaveNetConfig:
    return NextCharWaveNetConfig(train=_train(max_iters=16000, batch_size=32, eval_interval=1000))


__all__ = ["build", "mlp", "sample_text", "setup", "stream_metrics", "wavenet"]
