"""The makemore ladder on `names`: from counting bigrams to a transformer, one experiment per model family.

Reference: karpathy/makemore and the "Zero to Hero" lecture notebooks (makemore parts 1-5). Every model uses
the notebooks' 80/10/10 split (`random.seed(42)` shuffle; `nanozoo.data.names.split_names`), so the
published dev/val figures are comparable. `val_loss` in metrics.jsonl is the exact loss over the whole val
split (the `evaluate` hook replaces the trainer's sampled estimate); `test_loss` is the trainer's final
estimate over `eval_iters` batches (`exact_losses(run_dir)` gives the exact figure).

Window models (bigram, MLP, backprop, WaveNet) predict one character from the previous `block_size`; sequence
models (RNN/GRU/LSTM, BoW, transformer) read a padded name and predict every next character.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nanozoo.core.atomic import atomic_write
from nanozoo.core.checkpoint import load_weights, save_tensors
from nanozoo.core.config import TrainConfig
from nanozoo.core.runlog import MetricsLog
from nanozoo.core.task import Task
from nanozoo.data.names import (
    CharVocab,
    context_windows,
    load_names,
    padded_sequences,
    random_rows,
    split_names,
)
from nanozoo.experiments.registry import Experiment, Reference, SampleOptions, register
from nanozoo.models.backprop import BackpropConfig, ManualMLP
from nanozoo.models.bigram import Bigram, BigramConfig, BigramCounts
from nanozoo.models.bow import BoW, BoWConfig
from nanozoo.models.gpt import GPT, GPTConfig
from nanozoo.models.mlp_lm import MLPLM, MLPConfig
from nanozoo.models.rnn import RNNLM, RNNConfig
from nanozoo.models.sampling import sample_next
from nanozoo.models.wavenet import WaveNet, WaveNetConfig

SPLITS = ("train", "val", "test")


@dataclass
class NamesData:
    split_seed: int = 42  # random.seed(42) shuffle, then 80/10/10
    sample_num: int = 20  # names in samples.txt


# model config type -> (model class, "window" | "sequence")
MODELS: dict[type, tuple[type[nn.Module], str]] = {
    BigramConfig: (Bigram, "window"),
    MLPConfig: (MLPLM, "window"),
    BackpropConfig: (ManualMLP, "window"),
    WaveNetConfig: (WaveNet, "window"),
    RNNConfig: (RNNLM, "sequence"),
    BoWConfig: (BoW, "sequence"),
    GPTConfig: (GPT, "sequence"),
}
_CONFIG_CLASSES: dict[type, type] = {}


def config_class(model_cfg: type, train: bool = True) -> type:
    """The experiment config for a model config type: sections model, train, data (train left out for the
    counting bigram, which has no training loop)."""
    key = (model_cfg, train)
    if key not in _CONFIG_CLASSES:
        fields = [("model", model_cfg, field(default_factory=model_cfg))]
        if train:
            fields.append(("train", TrainConfig, field(default_factory=TrainConfig)))
        fields.append(("data", NamesData, field(default_factory=NamesData)))
        name = f"Names{model_cfg.__name__}" + ("" if train else "Counts")
        _CONFIG_CLASSES[key] = dataclasses.make_dataclass(name, fields)
    return _CONFIG_CLASSES[key]


# ---------------------------------------------------------------------------------------------------
# Data as tensors, exact losses, sampling


def names_tensors(
    cfg: Any, data_dir: Path | None
) -> tuple[CharVocab, dict[str, list[str]], dict[str, tuple]]:
    """Vocabulary, the word splits, and (X, Y) per split in the layout the model family reads."""
    _, kind = MODELS[type(cfg.model)]
    return split_tensors(str(data_dir) if data_dir else None, cfg.data.split_seed, kind, cfg.model.block_size)


@functools.lru_cache(maxsize=8)
def split_tensors(data_dir: str | None, seed: int, kind: str, T: int):
    """Cached: building the windows is a Python loop over 228k characters (read-only tensors)."""
    words = load_names(data_dir)
    vocab = CharVocab.from_words(words)
    splits = split_names(words, seed)
    if kind == "window":
        tensors = {s: context_windows(w, vocab, T) for s, w in splits.items()}
    else:
        tensors = {s: padded_sequences(w, vocab, T - 1) for s, w in splits.items()}
    return vocab, splits, tensors


@torch.no_grad()
def split_loss(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, chunk: int = 4096) -> float:
    """Mean cross-entropy over every (non-padding) target of a split, in chunks."""
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for i in range(0, len(X), chunk):
        x, y = X[i : i + chunk].to(device), Y[i : i + chunk].to(device)
        n = int((y != -1).sum())
        total += model(x, y)[1].item() * n
        count += n
    return total / count


@torch.no_grad()
def generate_names(
    model: nn.Module,
    vocab: CharVocab,
    n: int,
    generator: torch.Generator | None = None,
    prompt: str = "",
    temperature: float = 1.0,
    top_k: int | None = None,
) -> list[str]:
    """n names sampled character by character until '.', all in one batch."""
    _, kind = MODELS[type(model.config)]
    T = model.config.block_size
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    start = [0] * T if kind == "window" else [0]
    ctx = torch.tensor([start + vocab.encode(prompt)] * n, device=device)  # (n, L)
    max_new = 30 if kind == "window" else T - 1 - len(prompt)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    for _ in range(max(max_new, 0)):
        logits = model(ctx[:, -T:])[0]  # (n, V) or (n, L, V)
        logits = logits if logits.dim() == 2 else logits[:, -1, :]
        nxt = sample_next(logits, temperature, top_k, None, generator)  # (n,)
        ctx = torch.cat([ctx, nxt[:, None]], dim=1)
        done |= nxt == 0
        if done.all():
            break
    model.train(was_training)
    out = []
    for row in ctx[:, len(start) :].tolist():
        out.append(vocab.decode(row[: row.index(0)] if 0 in row else row))
    return out


def mark_names(names: list[str], train: set[str] | None) -> str:
    """One name per line; with the training set given, names found in it are marked."""
    if train is None:
        return "".join(f"{w}\n" for w in names)
    return "".join(f"{w}  [in train]\n" if w in train else f"{w}\n" for w in names)


# ---------------------------------------------------------------------------------------------------
# Torch experiments: setup and sampling


def setup(cfg: Any, data_dir: Path | None) -> Task:
    vocab, _, tensors = names_tensors(cfg, data_dir)
    cfg.model.vocab_size = len(vocab)
    model_cls, _ = MODELS[type(cfg.model)]
    model = model_cls(cfg.model)

    def sample(m: nn.Module) -> str:
        g = torch.Generator().manual_seed(cfg.train.seed)
        return mark_names(generate_names(m, vocab, cfg.data.sample_num, g), None)

    return Task(
        model=model,
        get_batch=lambda split, B, gen: random_rows(*tensors[split], B, gen),
        evaluate=lambda m: {"val_loss": split_loss(m, *tensors["val"])},  # exact, replaces the estimate
        sample=sample,
        save=lambda run_dir: atomic_write(run_dir / "vocab.json", json.dumps({"itos": vocab.itos})),
        final_splits=("test",),
    )


def _load_vocab(run_dir: Path) -> CharVocab:
    return CharVocab(json.loads((run_dir / "vocab.json").read_text())["itos"])


def load_model(run_dir: str | Path) -> tuple[nn.Module, Any]:
    """The trained model of a run folder, in eval mode, and its config."""
    from nanozoo.experiments.runner import load_run_config

    _, cfg = load_run_config(run_dir)
    model = MODELS[type(cfg.model)][0](cfg.model)
    load_weights(model, Path(run_dir) / "model.safetensors")
    return model.eval(), cfg


def exact_losses(run_dir: str | Path, data_dir: Path | None = None) -> dict[str, float]:
    """Exact train/val/test loss of a trained run over the whole of each split."""
    model, cfg = load_model(run_dir)
    _, _, tensors = names_tensors(cfg, data_dir)
    return {f"{s}_loss": split_loss(model, *tensors[s]) for s in SPLITS}


def sample_run(run_dir: Path, opts: SampleOptions) -> Iterator[str]:
    """`nanozoo sample RUN --num 20 [--exclude-train]`: one name per line (the prompt starts each name)."""
    model, cfg = load_model(run_dir)
    gen = torch.Generator().manual_seed(opts.seed) if opts.seed is not None else None
    names = generate_names(
        model, _load_vocab(run_dir), opts.num, gen, opts.prompt, opts.temperature, opts.top_k
    )
    train = set(split_names(load_names(), cfg.data.split_seed)["train"]) if opts.exclude_train else None
    yield mark_names(names, train).rstrip("\n")


# ---------------------------------------------------------------------------------------------------
# The counting bigram: its own loop (no gradient descent)


def count_bigram(cfg: Any, run_dir: Path, data_dir: Path | None) -> dict[str, float]:
    """Fit counts on train and score every split; `all_loss` is the lecture's protocol: fit and score on all
    names (the published 2.4765 figure)."""
    t0 = time.time()
    vocab, splits, pairs = names_tensors(cfg, data_dir)  # X (N, 1), Y (N,) per split
    model = BigramCounts(len(vocab), cfg.model.smoothing).fit(pairs["train"][0][:, 0], pairs["train"][1])
    metrics = {
        f"{'train_eval' if s == 'train' else s}_loss": model.nll(X[:, 0], Y) for s, (X, Y) in pairs.items()
    }
    X, Y = context_windows([w for s in SPLITS for w in splits[s]], vocab, 1)
    metrics["all_loss"] = BigramCounts(len(vocab), cfg.model.smoothing).fit(X[:, 0], Y).nll(X[:, 0], Y)
    MetricsLog(run_dir).write(0, time.time() - t0, **metrics)
    save_tensors({"counts": model.counts}, run_dir / "counts.safetensors")
    atomic_write(run_dir / "vocab.json", json.dumps({"itos": vocab.itos}))
    g = torch.Generator().manual_seed(0)
    atomic_write(
        run_dir / "samples.txt",
        mark_names([vocab.decode(s) for s in model.sample(cfg.data.sample_num, g)], None),
    )
    return metrics


def sample_counts(run_dir: Path, opts: SampleOptions) -> Iterator[str]:
    from safetensors.torch import load_file

    from nanozoo.experiments.runner import load_run_config

    _, cfg = load_run_config(run_dir)
    model = BigramCounts(1, cfg.model.smoothing)
    model.counts = load_file(str(run_dir / "counts.safetensors"))["counts"]
    vocab = _load_vocab(run_dir)
    gen = torch.Generator().manual_seed(opts.seed) if opts.seed is not None else None
    names = [vocab.decode(s) for s in model.sample(opts.num, gen)]
    train = set(split_names(load_names(), cfg.data.split_seed)["train"]) if opts.exclude_train else None
    yield mark_names(names, train).rstrip("\n")


# ---------------------------------------------------------------------------------------------------
# The experiments (train sections sized to reach each published figure on 2 CPU cores; benchmarks/RESULTS.md)


# What most of the ladder shares; each experiment below states only where it differs.
# NOTE: one thread: these models are small, and on 2 shared cores 2 threads ran 5x slower (spin-waits)
_LADDER_TRAIN = dict(
    warmup_iters=100, weight_decay=0.01, eval_interval=2500, eval_iters=20, log_interval=100, threads=1
)


def _cfg(model: Any, **train: Any):
    train = {**_LADDER_TRAIN, **train}

    def make():
        return config_class(type(model))(
            model=dataclasses.replace(model), train=TrainConfig(**train), data=NamesData()
        )

    return make


_LECTURES = "Zero to Hero lecture notebook"
_EXPERIMENTS = [
    (
        "names-bigram",
        "neural bigram: one 27x27 weight matrix, the counts' NLL by gradient descent",
        _cfg(
            BigramConfig(),
            max_iters=1000,
            batch_size=4096,
            lr=0.3,
            min_lr=0.03,
            warmup_iters=0,
            weight_decay=0.0,
            eval_interval=250,
            eval_iters=5,
            log_interval=50,
        ),
        Reference("val_loss", 2.48, f"{_LECTURES} makemore part 1 (~2.48, whole set)"),
    ),
    (
        "names-mlp",
        "Bengio 2003 MLP: context 3, embedding 10, hidden 200 (11,897 params)",
        _cfg(
            MLPConfig(),
            max_iters=40000,
            batch_size=256,
            lr=1e-2,
            min_lr=5e-4,
        ),
        Reference("val_loss", 2.1701, f"{_LECTURES} makemore part 3 (dev, before the init fixes)"),
    ),
    (
        "names-mlp-bn",
        "the MLP with a hand-written BatchNorm (context 3, embedding 10, hidden 200)",
        _cfg(
            MLPConfig(batchnorm=True),
            max_iters=80000,
            batch_size=256,
            lr=1e-2,
            min_lr=5e-4,
        ),
        Reference("val_loss", 2.1048, f"{_LECTURES} makemore part 3 (dev, with BatchNorm)"),
    ),
    (
        "names-backprop",
        "MLP + BatchNorm trained by a hand-written backward pass (hidden 200, 12,297 params)",
        _cfg(
            BackpropConfig(),
            max_iters=80000,
            batch_size=256,
            lr=1e-2,
            min_lr=5e-4,
        ),
        Reference("val_loss", 2.1099, f"{_LECTURES} makemore part 4 (val)"),
    ),
    (
        "names-wavenet",
        "WaveNet-style hierarchical MLP: context 8, embedding 24, hidden 128 (76,579 params)",
        _cfg(
            WaveNetConfig(),
            max_iters=40000,
            batch_size=128,
            lr=5e-3,
            min_lr=2e-4,
        ),
        Reference("val_loss", 1.9937, f"{_LECTURES} makemore part 5 (val)"),
    ),
]


def _measured(val: float) -> Reference:
    """No published figure: our own measured val loss (benchmarks/RESULTS.md) is the reference."""
    return Reference("val_loss", val, "no published figure; measured here 2026-11-23 (benchmarks/RESULTS.md)")


_SEQUENCE = [
    (
        "names-rnn",
        "RNN (cell from scratch), makemore's sizes 64/64",
        RNNConfig(cell="rnn"),
        _measured(2.0553),
    ),
    (
        "names-gru",
        "GRU (cell from scratch), makemore's sizes 64/64",
        RNNConfig(cell="gru"),
        _measured(2.0124),
    ),
    (
        "names-lstm",
        "LSTM (cell from scratch), makemore's sizes 64/64",
        RNNConfig(cell="lstm"),
        _measured(1.9971),
    ),
    (
        "names-bow",
        "bag of words: causal averaging + MLP block, makemore's sizes 64/64",
        BoWConfig(),
        _measured(2.1495),
    ),
    (
        "names-transformer",
        "makemore's default transformer (4 layers, 4 heads, 64 wide) = our GPT",
        GPTConfig(vocab_size=27, block_size=16, n_layer=4, n_head=4, n_embd=64, dropout=0.1),
        Reference(
            "test_loss", 1.92, "karpathy/makemore README (default transformer, its 1,000-name test split)"
        ),
    ),
]

for _name, _summary, _make, _ref in _EXPERIMENTS:
    register(
        Experiment(name=_name, summary=_summary, config=_make, setup=setup, sample=sample_run, reference=_ref)
    )
for _name, _summary, _model, _ref in _SEQUENCE:
    _make = _cfg(
        _model,
        max_iters=20000 if isinstance(_model, GPTConfig) else 10000,
        batch_size=64,
        lr=3e-3,
        min_lr=1e-4,
        warmup_iters=200,
        # NOTE: the transformer overfits our 80% split (val 1.998 at train 1.78 with 0.01 and no dropout)
        weight_decay=0.1 if isinstance(_model, GPTConfig) else 0.01,
        eval_interval=1000,
        eval_iters=20,
        log_interval=100,
    )
    register(
        Experiment(name=_name, summary=_summary, config=_make, setup=setup, sample=sample_run, reference=_ref)
    )
register(
    Experiment(
        name="names-bigram-count",
        summary="bigram by counting with add-k smoothing (no training loop)",
        config=lambda: config_class(BigramConfig, train=False)(),
        run=count_bigram,
        sample=sample_counts,
        reference=Reference(
            "all_loss", 2.4765, f"{_LECTURES} makemore part 1 (+1 smoothing, NLL over all names)"
        ),
    )
)
