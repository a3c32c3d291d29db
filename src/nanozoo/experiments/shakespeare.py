"""GPT on Tiny Shakespeare: characters (nanoGPT's `shakespeare_char` and a CPU-sized default), subword
tokens from our own BPE (`shakespeare-bpe`, trained on the train split and saved with the run), and GPT-2
small with GPT-2's own tokenizer (`gpt2-124m`, sized for a GPU).

A BPE model's loss is in nats per token (`val_loss`, over eval_iters random batches; `val_loss_1x`, exact
over the whole validation text cut into windows of block_size); `val_bpc` (bits per character) divides the
exact loss by the text's characters, so it compares with the character model's `val_loss / ln 2`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from nanozoo.core.config import ConfigError, TrainConfig
from nanozoo.core.task import Task
from nanozoo.data import read_text
from nanozoo.data.text import char_corpus, random_windows
from nanozoo.experiments.lm import build, sample_chars, sample_text, split_loss, stream_text
from nanozoo.models.gpt import GPTConfig
from nanozoo.tokenizers.char import CharTokenizer
from nanozoo.tokenizers.regex import RegexTokenizer

TOKENIZERS = ("char", "bpe", "gpt2")


@dataclass
class TextData:
    dataset: str = "tinyshakespeare"
    val_fraction: float = 0.1
    sample_tokens: int = 500  # length of samples.txt, in tokens
    # "char"; "bpe": our byte-level BPE (GPT-4 split) trained on the train split; "gpt2": GPT-2 vocabulary
    tokenizer: str = "char"
    vocab_size: int = 1024  # tokenizer="bpe": the 256 bytes and vocab_size - 256 merges
    # also the exact val loss over windows of 1x, 2x and 4x block_size (val_loss_1x, _2x, _4x): length
    # generalisation; learned positions have no table past block_size and log only val_loss_1x (which a
    # BPE run logs always, with val_bpc)
    long_eval: bool = False

    def __post_init__(self):
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(f"data.val_fraction={self.val_fraction} must be in (0, 1)")
        if self.tokenizer not in TOKENIZERS:
            raise ConfigError(f"data.tokenizer={self.tokenizer!r}; expected one of {TOKENIZERS}")
        if self.vocab_size < 256:
            raise ConfigError(f"data.vocab_size={self.vocab_size} must be >= 256 (the bytes come first)")


@dataclass
class CharGPTConfig:
    model: GPTConfig = field(default_factory=GPTConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: TextData = field(default_factory=TextData)


def text_corpus(d: TextData, data_dir: Path | None) -> tuple[CharTokenizer, dict[str, torch.Tensor]]:
    """The data section's text as a character tokenizer and its train/val token streams."""
    chars, splits = char_corpus(d.dataset, d.val_fraction, data_dir)
    return CharTokenizer(chars), splits


def bpe_corpus(d: TextData, data_dir: Path | None) -> tuple[RegexTokenizer, dict[str, torch.Tensor], int]:
    """The data section's text as a BPE tokenizer (ours, trained on the train split, or GPT-2's), its
    train/val token streams, and the characters of the val text. The text is split by characters first,
    as for the character model, so both see the same validation text."""
    from nanozoo.tokenizers.gpt import gpt2

    text = read_text(d.dataset, data_dir=data_dir)
    n = int(len(text) * (1 - d.val_fraction))
    if d.tokenizer == "gpt2":
        tok = gpt2(data_dir)
    else:
        tok = RegexTokenizer("gpt4")
        tok.train(text[:n], d.vocab_size)
    splits = {
        k: torch.tensor(tok.encode(t), dtype=torch.long) for k, t in (("train", text[:n]), ("val", text[n:]))
    }
    return tok, splits, len(text) - n


def setup(cfg: CharGPTConfig, data_dir: Path | None) -> Task:
    if cfg.data.tokenizer != "char":
        return setup_bpe(cfg, data_dir)
    tok, splits = text_corpus(cfg.data, data_dir)
    cfg.model.vocab_size = len(tok)
    T = cfg.model.block_size

    def sample(m) -> str:
        g = torch.Generator().manual_seed(cfg.train.seed)
        return "\n" + "".join(sample_chars(m, tok, "\n", cfg.data.sample_tokens, generator=g))

    return Task(
        model=build(cfg),
        get_batch=lambda split, B, gen: random_windows(splits[split], B, T, gen),
        evaluate=(lambda m: context_losses(m, splits["val"])) if cfg.data.long_eval else None,
        sample=sample,
        save=lambda run_dir: tok.save(run_dir / "tokenizer.json"),
        extra={"splits": splits},  # for a task built on this one (experiments/llama.py)
    )


def windows(data: torch.Tensor, L: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The stream cut into whole windows of L tokens: x (N, L) and y, x shifted by one."""
    n = (len(data) - 1) // L * L
    return data[:n].view(-1, L), data[1 : n + 1].view(-1, L)


def context_losses(model, val: torch.Tensor, factors=(1, 2, 4)) -> dict[str, float]:
    """The exact val loss over windows of f x block_size tokens, for each factor f the model can read.

    Every factor scores the same targets (the stream cut to whole windows of the largest), so the losses
    differ only by the context: in a window of f x T tokens the first T targets see what they see at 1x,
    the later ones more than the model was trained on. Learned positions have no table past block_size:
    their 2x and 4x are not computed (and show as n/a), never guessed."""
    T, V = model.config.block_size, model.config.vocab_size
    longest = max(factors) * T
    if len(val) <= longest:
        raise ConfigError(
            f"the val split has {len(val)} tokens, too few for one window of {max(factors)} x block_size"
            f" = {longest} (data.long_eval=true reads 4 x block_size): use a smaller model.block_size"
        )
    val = val[: (len(val) - 1) // longest * longest + 1]
    out = {}
    for f in factors:
        if f > 1 and model.config.pos_encoding == "learned":
            continue
        X, Y = windows(val, f * T)
        out[f"val_loss_{f}x"] = split_loss(model, X, Y, chunk=max(1, 2**22 // (f * T * V)))
    return out


def setup_bpe(cfg: CharGPTConfig, data_dir: Path | None) -> Task:
    tok, splits, val_chars = bpe_corpus(cfg.data, data_dir)
    cfg.model.vocab_size = max(cfg.model.vocab_size, tok.vocab_size)  # a larger one: padding (e.g. 50304)
    T = cfg.model.block_size
    tokens_per_char = len(splits["val"]) / val_chars
    factors = (1, 2, 4) if cfg.data.long_eval else (1,)

    def evaluate(m) -> dict[str, float]:
        # the exact loss over the val text, nats per token -> bits per character: * tokens / chars / ln 2
        out = context_losses(m, splits["val"], factors)
        return {**out, "val_bpc": out["val_loss_1x"] * tokens_per_char / math.log(2)}

    def sample(m) -> str:
        g = torch.Generator().manual_seed(cfg.train.seed)
        tokens = m.stream(torch.tensor([tok.encode("\n")]), cfg.data.sample_tokens, generator=g)
        return "\n" + "".join(stream_text(tok, tokens))

    return Task(
        model=build(cfg),
        get_batch=lambda split, B, gen: random_windows(splits[split], B, T, gen),
        evaluate=evaluate,
        sample=sample,
        save=lambda run_dir: tok.save(run_dir / "tokenizer"),
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
    No biases and the exact GELU, as nanoGPT's own model: 1.12x the tokens/s of GPT-2's biases and tanh
    GELU at batch 32 on a Xeon (the tanh kernel is 3x erf's there; a bias costs addmm a copy of its
    output), and the same curve at 1,400 steps: val 1.6866 against 1.6900 (RESULTS.md, "Training
    throughput"). bf16 inside the float32 matmuls (train.matmul_precision="medium": oneDNN's bf16 kernels
    where torch finds AVX-512 or AMX, float32 math elsewhere; attention stays float32): 1.3-1.45x the
    tokens/s on a Xeon with AMX (batch 12 / 32, the same run), and the same curve at 1,400 steps (val
    1.6776 / 1.6974 against 1.6866 / 1.6886, seeds 1337 and 1), where bf16 autocast is slower here
    (0.85-0.91x: its casts outweigh the small matmuls).
    """
    return CharGPTConfig(
        model=GPTConfig(
            block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=False, activation="gelu"
        ),
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
            matmul_precision="medium",
        ),
    )


# the speedrun's changes to shakespeare-char-cpu, one `--set` each (benchmarks/bench_speedrun.py ablates them)
SPEEDRUN = {
    "train.optimizer": "muon",
    "model.pos_encoding": "rope",
    "model.qk_norm": True,
    "model.activation": "relu2",
    "model.tie_embeddings": False,
}
# tried and left out, each measured worse (RESULTS.md): Gemma 2's logit soft-capping at 15 (a 65-way head
# rarely reaches the cap: +0.009 at 400 steps, +0.008 at 1,000)
SPEEDRUN_TRIED = {"model.logit_softcap": 15.0}


def speedrun() -> CharGPTConfig:
    """shakespeare-char-cpu with modded-nanogpt's changes (SPEEDRUN): Muon on the hidden matrices
    (muon_lr 0.02, momentum 0.95, AdamW at lr 3e-3 for the rest), rotary positions, QK-norm, ReLU^2 and an
    untied head, in the speedrun's budget: 120 s of training (`train.max_seconds`, evaluations included), the
    steps that fill it on 2 cores of a Xeon with a margin for load (1,350 under the recipe's bf16 matmul math:
    val 1.5446 in 109.7 s; 1,000 took 112 s in float32 math), and one evaluation at the end (each
    evaluation is time the budget pays for)."""
    from nanozoo.core.config import apply_overrides

    cfg = apply_overrides(cpu(), SPEEDRUN)
    cfg.train.max_iters = cfg.train.eval_interval = 1350
    cfg.train.max_seconds = 120.0
    return cfg


def bpe() -> CharGPTConfig:
    """shakespeare-char-cpu's model and budget on tokens of our BPE (1024): about 3.5 characters each, so
    the 64-token context reads ~3x more text; the head grows from 65 to 1024 outputs."""
    cfg = cpu()
    cfg.data = TextData(tokenizer="bpe", vocab_size=1024)
    return cfg


def bpe_2048() -> CharGPTConfig:
    cfg = bpe()
    cfg.data.vocab_size = 2048
    return cfg


def gpt2_124m() -> CharGPTConfig:
    """GPT-2 small (12 layers, 12 heads, 768 wide, context 1024; 124,439,808 parameters tied) on GPT-2's
    tokens of Tiny Shakespeare, with nanoGPT's train_gpt2.py optimiser settings: sized for a GPU
    (`--set model.vocab_size=50304` pads the vocabulary to a multiple of 64)."""
    return CharGPTConfig(
        model=GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768, dropout=0.1),
        train=TrainConfig(
            max_iters=2000,
            batch_size=8,
            lr=6e-4,
            min_lr=6e-5,
            warmup_iters=100,
            beta2=0.95,
            eval_interval=250,
            eval_iters=20,
        ),
        data=TextData(tokenizer="gpt2"),
    )


__all__ = [
    "CharGPTConfig",
    "bpe",
    "bpe_2048",
    "bpe_corpus",
    "gpt2_124m",
    "TextData",
    "build",
    "cpu",
    "published",
    "sample_text",
    "setup",
    "speedrun",
    "text_corpus",
]
