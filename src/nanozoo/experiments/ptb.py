"""A GPT language model on the Penn Treebank (Mikolov's version, the one LM papers use): on words
(`ptb-word`: 10,000 ids, the train split's 9,999 word types, `<unk>` among them, and `<eos>`) and on
subword tokens of our own BPE trained on the train split (`ptb-bpe`).

Perplexity is exact, over a whole split. Each split's stream starts with an end of sentence (`<eos>`; for
BPE the `" \\n"` that ends every line), so every word of the split and every `<eos>` is predicted exactly
once. Windows of block_size tokens slide by half a window and each target is scored in the first window
that gives it at least half a window of context (`scored_windows`): windows cut flush would give the first
tokens of each window no context and report a worse perplexity than the model's. A BPE model's
perplexity per word divides the same total nats by the same count, the words and `<eos>` of the split
(82,430 for test): `exp(nats / words)`, comparable with ptb-word's and with the LSTMs of Zaremba et al.
2014 (82.7 medium / 78.4 large test perplexity), which carry their state across the whole split.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

import torch

from nanozoo.core.atomic import atomic_write
from nanozoo.core.config import ConfigError, TrainConfig
from nanozoo.core.task import Task
from nanozoo.data import read_text
from nanozoo.data.text import ptb_words, random_windows
from nanozoo.experiments.lm import (
    build,
    generator,
    load_tokenizer,
    refuse_names_options,
    split_loss,
    stream_text,
)
from nanozoo.experiments.registry import ExperimentError, SampleOptions, load_model
from nanozoo.models.gpt import GPTConfig
from nanozoo.tokenizers.regex import RegexTokenizer

log = logging.getLogger(__name__)

SPLITS = {"train": "train", "val": "valid", "test": "test"}  # our split names -> the files'
EOS, UNK = "<eos>", "<unk>"


@dataclass
class PTBData:
    tokenizer: Literal["word", "bpe"] = "word"
    vocab_size: int = 2048  # tokenizer="bpe": the 256 bytes and vocab_size - 256 merges
    train_lines: int = 0  # train on the first N sentences of the train split (a fast test); 0: all
    eval_lines: int = 0  # score the first N sentences of valid and test (a fast test); 0: whole splits
    sample_tokens: int = 200  # length of samples.txt, in tokens

    def __post_init__(self):
        if self.tokenizer not in ("word", "bpe"):
            raise ConfigError(f"data.tokenizer={self.tokenizer!r}; expected 'word' or 'bpe'")
        if self.vocab_size < 256:
            raise ConfigError(f"data.vocab_size={self.vocab_size} must be >= 256 (the bytes come first)")
        for name in ("train_lines", "eval_lines"):
            if getattr(self, name) < 0:
                raise ConfigError(f"data.{name}={getattr(self, name)} must be >= 0")


@dataclass
class PTBConfig:
    model: GPTConfig = field(default_factory=GPTConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: PTBData = field(default_factory=PTBData)


# ---------------------------------------------------------------------------------------------------
# Exact perplexity


def scored_windows(stream: torch.Tensor, T: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows x (K, T) of the stream at offsets 0, S, 2S, ... (S = T // 2) and their targets y, x shifted by
    one, with -1 (ignored) where an earlier window already scored the target: window 0 scores all T of
    its targets, every later one its last S, so each of the len(stream) - 1 targets is scored once, with
    at least T - S tokens of context after the first window. The last window is padded (inputs 0,
    targets -1); padding comes after every scored position, so causal attention never sees it."""
    S, n = max(T // 2, 1), len(stream) - 1
    K = 1 + max(0, -(-(n - T) // S))  # windows until the last target is covered
    L = (K - 1) * S + T
    x = torch.zeros(L, dtype=torch.long)
    y = torch.full((L,), -1, dtype=torch.long)
    x[:n], y[:n] = stream[:n], stream[1:]  # L >= n: the last window reaches the last target
    idx = torch.arange(K)[:, None] * S + torch.arange(T)  # (K, T)
    X, Y = x[idx], y[idx]  # (K, T) each
    Y[1:, : T - S] = -1
    return X, Y


def total_nats(model, X: torch.Tensor, Y: torch.Tensor) -> float:
    """Summed cross-entropy (nats) over every scored target of `scored_windows`."""
    chunk = max(1, 2**22 // (X.shape[1] * model.config.vocab_size))  # windows per forward: ~16 MB logits
    return split_loss(model, X, Y, chunk) * int((Y != -1).sum())


# ---------------------------------------------------------------------------------------------------
# Data: words or our BPE


def word_corpus(d: PTBData, data_dir: Path | None) -> tuple[list[str], dict[str, torch.Tensor]]:
    """The word vocabulary (most frequent first; ties alphabetical) and the id stream of each split, each
    starting with <eos>. A word outside the vocabulary (only when training on a slice) becomes <unk>."""
    words = {k: _first_lines(ptb_words(f, data_dir), _lines(d, k)) for k, f in SPLITS.items()}
    counts = Counter(words["train"]) + Counter([EOS, UNK])  # a slice may lack one of the two
    itos = sorted(counts, key=lambda w: (-counts[w], w))
    stoi = {w: i for i, w in enumerate(itos)}
    unk = stoi[UNK]
    streams = {k: torch.tensor([stoi[EOS]] + [stoi.get(w, unk) for w in ws]) for k, ws in words.items()}
    return itos, streams


def _lines(d: PTBData, split: str) -> int:
    return d.train_lines if split == "train" else d.eval_lines


def _first_lines(words: list[str], n: int) -> list[str]:
    """The words of the first n sentences (n = 0: all)."""
    ends = [i for i, w in enumerate(words) if w == EOS]
    return words[: ends[min(n, len(ends)) - 1] + 1] if n else words


def bpe_corpus(d: PTBData, data_dir: Path | None) -> tuple[RegexTokenizer, dict[str, torch.Tensor], dict]:
    """Our BPE (GPT-4 split) trained on the train text, the token stream of each split (each starting with
    the " \\n" that ends a line, the BPE's <eos>), and each split's words counting <eos>."""
    texts = {k: read_text("ptb", f"ptb.{f}.txt", data_dir=data_dir) for k, f in SPLITS.items()}
    texts = {k: "".join(t.splitlines(keepends=True)[: _lines(d, k) or None]) for k, t in texts.items()}
    tok = RegexTokenizer("gpt4")
    tok.train(texts["train"], d.vocab_size)
    streams = {k: torch.tensor(tok.encode(" \n" + t)) for k, t in texts.items()}
    words = {k: len(t.split()) + t.count("\n") for k, t in texts.items()}
    return tok, streams, words


# ---------------------------------------------------------------------------------------------------
# The task


def setup(cfg: PTBConfig, data_dir: Path | None) -> Task:
    if cfg.data.tokenizer == "word":
        itos, streams = word_corpus(cfg.data, data_dir)
        tok, words = None, {k: len(s) - 1 for k, s in streams.items()}  # a token is a word, after <eos>
        cfg.model.vocab_size = len(itos)
    else:
        tok, streams, words = bpe_corpus(cfg.data, data_dir)
        cfg.model.vocab_size = tok.vocab_size
    T = cfg.model.block_size
    # the tokens of the leading end of sentence give context, not targets: <eos> is one, BPE's " \n" may be
    # more than one, and a target inside it is not a word of the split
    prefix = 1 if tok is None else len(tok.encode(" \n"))
    exact = {k: scored_windows(streams[k], T) for k in ("val", "test")}
    for _, Y in exact.values():
        Y[0, : prefix - 1] = -1
    log.info("ptb %s: %s tokens", cfg.data.tokenizer, {k: len(s) for k, s in streams.items()})

    def perplexities(m, split: str) -> tuple[float, dict[str, float]]:
        """The exact loss over a split (nats per token) and its perplexity; per word too for BPE."""
        n = len(streams[split]) - prefix
        nats = total_nats(m, *exact[split])
        out = {f"{split}_ppl": math.exp(nats / n)}
        if tok is not None:  # per word: the same nats over the split's words and <eos>
            out[f"{split}_ppl_word"] = math.exp(nats / words[split])
        return nats / n, out

    def finish(m, run_dir: Path) -> dict[str, float]:
        loss, out = perplexities(m, "test")
        return {"test_loss": loss, **out}

    def sample(m) -> str:
        g = torch.Generator().manual_seed(cfg.train.seed)
        start = torch.tensor([streams["val"][:1].tolist()])  # (1, 1): the end of a sentence
        tokens = m.stream(start, cfg.data.sample_tokens, generator=g)
        return "".join(stream_text(tok, tokens) if tok is not None else stream_words(itos, tokens))

    def save(run_dir: Path) -> None:
        if tok is not None:
            tok.save(run_dir / "tokenizer")
        else:
            atomic_write(run_dir / "words.txt", "\n".join(itos) + "\n")

    return Task(
        model=build(cfg),
        get_batch=lambda split, B, gen: random_windows(streams[split], B, T, gen),
        evaluate=lambda m: perplexities(m, "val")[1],
        sample=sample,
        save=save,
        finish=finish,
    )


# ---------------------------------------------------------------------------------------------------
# Sampling a run


def stream_words(itos: list[str], tokens: Iterator[torch.Tensor]) -> Iterator[str]:
    """Text of (1,) word ids as they come, laid out as the PTB files are: " word" each, a line per <eos>."""
    for t in tokens:
        w = itos[int(t)]
        yield "\n" if w == EOS else " " + w


def sample(run_dir: str | Path, opts: SampleOptions) -> Iterator[str]:
    """`nanozoo sample RUN` for ptb-word (words) and ptb-bpe (our BPE): the prompt, then what the model
    writes after it, the prompt read as the start of a sentence (after an end of sentence, as every line of
    the training text). A word run reads the prompt as PTB's words (lower case, numbers as N, rare words as
    <unk>) and refuses a word outside its vocabulary, naming it."""
    refuse_names_options(run_dir, opts)
    run_dir = Path(run_dir)
    words = run_dir / "words.txt"
    if words.is_file():
        itos = words.read_text().split("\n")[:-1]
        stoi = {w: i for i, w in enumerate(itos)}
        unknown = [w for w in opts.prompt.split() if w not in stoi]
        if unknown:
            raise ExperimentError(
                f"{run_dir}: {' '.join(unknown[:5])!r} not among the run's {len(itos)} words (PTB is lower "
                f"case, numbers are N, rare words {UNK})"
            )
        ids = [stoi[EOS]] + [stoi[w] for w in opts.prompt.split()]
        prompt, decode = " ".join(opts.prompt.split()), partial(stream_words, itos)
    else:
        tok = load_tokenizer(run_dir)  # the BPE's end of sentence is the " \n" that ends each line
        ids = tok.encode(" \n" + (" " + opts.prompt.strip() if opts.prompt.strip() else ""))
        prompt, decode = opts.prompt.strip(), partial(stream_text, tok)
    model, _ = load_model(run_dir)
    gen = generator(opts.seed)
    x = torch.tensor([ids], device=next(model.parameters()).device)
    sampling = dict(temperature=opts.temperature, top_k=opts.top_k, top_p=opts.top_p, generator=gen)
    for k in range(opts.num):
        yield ("\n" + "-" * 40 + "\n" if k else "") + prompt
        yield from decode(model.stream(x, opts.max_new_tokens, **sampling))


# ---------------------------------------------------------------------------------------------------
# The experiments


def word() -> PTBConfig:
    """A 4-layer, 128-wide GPT on PTB words, sized for ~10 minutes on one thread.

    NOTE: the 10,000-way head costs most of a step (at 128 wide it is 1.3M of the model's 2.1M weights):
    on one shared thread the full run (batch 16 x 64, 800 steps, 0.9 epoch of 930k words) trained ~2,500
    tokens/s and took 6m39s in all, test perplexity 220.6 (benchmarks/RESULTS.md); ptb-bpe's 2,048-way head
    trains ~6,800 tokens/s (1.55 tokens a word)."""
    return PTBConfig(
        # under one epoch in the budget: nothing to regularise yet, so no dropout
        model=GPTConfig(block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0),
        train=TrainConfig(
            max_iters=800,
            batch_size=16,
            lr=2e-3,
            min_lr=2e-4,
            warmup_iters=50,
            beta2=0.99,
            eval_interval=400,  # each evaluation scores the whole val split: ~20 s on one thread
            eval_iters=20,
            threads=1,
        ),
    )


def bpe() -> PTBConfig:
    """ptb-word's model and budget on our 2048-token BPE of the train split."""
    cfg = word()
    cfg.data = PTBData(tokenizer="bpe", vocab_size=2048)
    cfg.train.max_iters, cfg.train.eval_interval = 2400, 800  # a step costs ~1/4 of ptb-word's
    cfg.model.dropout = 0.1  # ~1.7 epochs of its 1.45M train tokens
    return cfg


__all__ = [
    "PTBConfig",
    "PTBData",
    "bpe",
    "build",
    "sample",
    "scored_windows",
    "setup",
    "stream_words",
    "word",
]
