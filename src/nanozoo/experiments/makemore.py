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
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nanozoo.core.atomic import atomic_write
from nanozoo.core.checkpoint import save_tensors
from nanozoo.core.config import ConfigError, TrainConfig
from nanozoo.core.runlog import MetricsLog
from nanozoo.core.task import Task
from nanozoo.data.names import (
    START,
    CharVocab,
    context_windows,
    load_names,
    random_rows,
    split_names,
    split_tensors,
)
from nanozoo.experiments.lm import (
    build,
    generator,
    load_tokenizer,
    reads_window,
    save_vocab,
    split_loss,
)
from nanozoo.experiments.registry import SampleOptions, load_model, load_run
from nanozoo.models.backprop import BackpropConfig
from nanozoo.models.bigram import BigramConfig, BigramCounts
from nanozoo.models.bow import BoWConfig
from nanozoo.models.gpt import GPTConfig
from nanozoo.models.mlp_lm import MLPConfig
from nanozoo.models.rnn import RNNConfig
from nanozoo.models.sampling import next_tokens
from nanozoo.models.wavenet import WaveNetConfig

SPLITS = ("train", "val", "test")


@dataclass
class NamesData:
    split_seed: int = 42  # random.seed(42) shuffle, then 80/10/10
    sample_num: int = 20  # names in samples.txt


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
    layout = "window" if reads_window(cfg.model) else "sequence"
    return split_tensors(
        str(data_dir) if data_dir else None, cfg.data.split_seed, layout, cfg.model.block_size
    )


def generate_names(
    model: nn.Module, vocab: CharVocab, n: int, prompt: str = "", **sampling: Any
) -> list[str]:
    """n names sampled character by character until '.', all in one batch, each starting with `prompt`.
    `sampling`: temperature, top_k, top_p, generator (as `sample_next`)."""
    window, T = reads_window(model.config), model.config.block_size
    if START in prompt:
        raise ConfigError(f"--prompt {prompt!r}: {START!r} ends a name, so a prompt cannot hold it")
    if not window and len(prompt) >= T - 1:
        raise ConfigError(f"--prompt {prompt!r} is longer than a name this model reads ({T - 2} characters)")
    start = [0] * T if window else [0]
    ctx = torch.tensor([start + vocab.encode(prompt)] * n, device=next(model.parameters()).device)  # (n, L)
    max_new = 30 if window else T - 1 - len(prompt)
    new = list(next_tokens(model, ctx, max_new, stop=0, **sampling))
    rows = torch.cat([ctx, *(t[:, None] for t in new)], dim=1)[:, len(start) :].tolist()
    return [vocab.decode(row[: row.index(0)] if 0 in row else row) for row in rows]


def mark_names(names: list[str], train: set[str] | None) -> str:
    """One name per line; with the training set given, names found in it are marked."""
    if train is None:
        return "".join(f"{w}\n" for w in names)
    return "".join(f"{w}  [in train]\n" if w in train else f"{w}\n" for w in names)


MAX_DRAWS = 100  # --exclude-train gives up after drawing this many times --num names


def sample_names(model: nn.Module, vocab: CharVocab, split_seed: int, opts: SampleOptions) -> Iterator[str]:
    """`nanozoo sample RUN` for a names run: `opts.num` names, one per line, the prompt starting each. With
    `exclude_train`, draws batches of `num` until that many are not training names (or refuses after
    `MAX_DRAWS` batches); with `mark_train`, marks those that are."""
    train = (
        set(split_names(load_names(), split_seed)["train"]) if opts.exclude_train or opts.mark_train else None
    )
    sampling = dict(temperature=opts.temperature, top_k=opts.top_k, top_p=opts.top_p)
    gen = generator(opts.seed)
    names = []
    for _ in range(MAX_DRAWS if opts.exclude_train else 1):
        drawn = generate_names(model, vocab, opts.num, opts.prompt, generator=gen, **sampling)
        names += [w for w in drawn if not opts.exclude_train or w not in train][: opts.num - len(names)]
        if len(names) == opts.num:
            break
    else:
        raise ConfigError(
            f"--exclude-train: of {MAX_DRAWS * opts.num} names drawn, {len(names)} were not in the training "
            f"set ({opts.num} asked for); raise --temperature, or change --prompt"
        )
    yield mark_names(names, train if opts.mark_train else None).rstrip("\n")


# ---------------------------------------------------------------------------------------------------
# Torch experiments: setup and sampling


def setup(cfg: Any, data_dir: Path | None) -> Task:
    vocab, _, tensors = names_tensors(cfg, data_dir)
    cfg.model.vocab_size = len(vocab)
    model = build(cfg)

    def sample(m: nn.Module) -> str:
        g = torch.Generator().manual_seed(cfg.train.seed)
        return mark_names(generate_names(m, vocab, cfg.data.sample_num, generator=g), None)

    return Task(
        model=model,
        get_batch=lambda split, B, gen: random_rows(*tensors[split], B, gen),
        evaluate=lambda m: {"val_loss": split_loss(m, *tensors["val"])},  # exact, replaces the estimate
        sample=sample,
        save=lambda run_dir: save_vocab(vocab, run_dir),
        final_splits=("test",),
    )


def exact_losses(run_dir: str | Path, data_dir: Path | None = None) -> dict[str, float]:
    """Exact train/val/test loss of a trained run over the whole of each split."""
    model, cfg = load_model(run_dir)
    _, _, tensors = names_tensors(cfg, data_dir)
    return {f"{s}_loss": split_loss(model, *tensors[s]) for s in SPLITS}


def sample_run(run_dir: Path, opts: SampleOptions) -> Iterator[str]:
    model, cfg = load_model(run_dir)
    return sample_names(model, load_tokenizer(run_dir), cfg.data.split_seed, opts)


# ---------------------------------------------------------------------------------------------------
# The counting bigram: its own loop (no gradient descent)


def count_bigram(cfg: Any, run_dir: Path, data_dir: Path | None) -> dict[str, float]:
    """Fit counts on train and score every split; `all_loss` is the lecture's protocol: fit and score on all
    names (the published 2.4544 figure; exact in float64: 2.4546)."""
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
    save_vocab(vocab, run_dir)
    g = torch.Generator().manual_seed(0)
    atomic_write(
        run_dir / "samples.txt",
        mark_names(generate_names(model.as_model(), vocab, cfg.data.sample_num, generator=g), None),
    )
    return metrics


def sample_counts(run_dir: Path, opts: SampleOptions) -> Iterator[str]:
    """As `sample_run`, from the counts (as the neural bigram with W = log P)."""
    from safetensors.torch import load_file

    _, cfg = load_run(run_dir)
    model = BigramCounts(1, cfg.model.smoothing)
    model.counts = load_file(str(run_dir / "counts.safetensors"))["counts"]
    return sample_names(model.as_model(), load_tokenizer(run_dir), cfg.data.split_seed, opts)


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


# The default config of each experiment (its table: experiments/tables/makemore.py)

bigram = _cfg(
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
)
mlp = _cfg(MLPConfig(), max_iters=40000, batch_size=256, lr=1e-2, min_lr=5e-4)
mlp_bn = _cfg(MLPConfig(batchnorm=True), max_iters=80000, batch_size=256, lr=1e-2, min_lr=5e-4)
backprop = _cfg(BackpropConfig(), max_iters=80000, batch_size=256, lr=1e-2, min_lr=5e-4)
wavenet = _cfg(WaveNetConfig(), max_iters=40000, batch_size=128, lr=5e-3, min_lr=2e-4)


def _sequence(model: Any):
    """The sequence models' shared train section."""
    return _cfg(
        model,
        max_iters=20000 if isinstance(model, GPTConfig) else 10000,
        batch_size=64,
        lr=3e-3,
        min_lr=1e-4,
        warmup_iters=200,
        # NOTE: the transformer overfits our 80% split (val 1.998 at train 1.78 with 0.01 and no dropout)
        weight_decay=0.1 if isinstance(model, GPTConfig) else 0.01,
        eval_interval=1000,
        eval_iters=20,
        log_interval=100,
    )


rnn = _sequence(RNNConfig(cell="rnn"))
gru = _sequence(RNNConfig(cell="gru"))
lstm = _sequence(RNNConfig(cell="lstm"))
bow = _sequence(BoWConfig())
transformer = _sequence(GPTConfig(vocab_size=27, block_size=16, n_layer=4, n_head=4, n_embd=64, dropout=0.1))


def bigram_count() -> Any:
    return config_class(BigramConfig, train=False)()
