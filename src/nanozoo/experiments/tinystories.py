"""Llama on TinyStories, llama2.c's recipe: its stories260K and stories15M configurations, the archive's
stories pretokenized once into uint16 shards (data/tinystories.py), with Llama 2's SentencePiece vocabulary
or a small one of our own trained on the stories. Published references (llama2.c README): stories260K val
loss 1.297, stories15M 1.072. The full data set is 1.6 GB and is not in the mirror; the tests run the
whole pipeline on a small archive of the same format."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

import torch

from nanozoo.core.config import ConfigError, TrainConfig
from nanozoo.core.task import Task
from nanozoo.data import path, tinystories
from nanozoo.experiments.llama import int8_cost
from nanozoo.experiments.lm import build, sample_text, stream_pieces
from nanozoo.models.llama import LlamaConfig
from nanozoo.tokenizers import sentencepiece
from nanozoo.tokenizers.sentencepiece import SentencePieceBPE


@dataclass
class StoriesData:
    dataset: str = "tinystories"
    # "llama2": Llama 2's 32000-piece SentencePiece (data set llama2_tokenizer); "custom": a SentencePiece
    # BPE of our own with vocab_size pieces, trained on the first vocab_stories training stories
    tokenizer: str = "llama2"
    vocab_size: int = 512
    vocab_stories: int = 20_000
    # the pretokenizer's encoder: "sentencepiece" (the C++ library: the same ids, tests/tokenizers), "ours"
    # (pure Python, ~7x slower), or "auto" (the library where it is installed)
    encoder: str = "auto"
    workers: int = 0  # pretokenizing processes; 0: one per CPU
    sample_tokens: int = 256

    def __post_init__(self):
        if self.tokenizer not in ("llama2", "custom"):
            raise ConfigError(f"data.tokenizer={self.tokenizer!r}; expected 'llama2' or 'custom'")
        if self.encoder not in ("auto", "sentencepiece", "ours"):
            raise ConfigError(f"data.encoder={self.encoder!r}; expected auto, sentencepiece or ours")
        if not 260 <= self.vocab_size <= 2**16:
            raise ConfigError(f"data.vocab_size={self.vocab_size} must be in [260, 65536] (uint16 shards)")


@dataclass
class StoriesConfig:
    model: LlamaConfig = field(default_factory=LlamaConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: StoriesData = field(default_factory=StoriesData)


class StoryEncoder:
    """A story -> BOS + its ids (llama2.c's `enc.encode(text, bos=True, eos=False)`); picklable, so that
    pretokenizing workers each get one."""

    def __init__(self, tok: SentencePieceBPE, library: bool):
        self.tok, self.library, self._sp = tok, library, None

    def __call__(self, text: str) -> list[int]:
        if not self.library:
            return self.tok.encode(text, bos=True)
        if self._sp is None:
            import sentencepiece

            self._sp = sentencepiece.SentencePieceProcessor(model_proto=self.tok.to_bytes())
        return self._sp.encode(text, add_bos=True)

    def __getstate__(self) -> dict:
        return {"tok": self.tok, "library": self.library, "_sp": None}


def stories_tokenizer(d: StoriesData, archive: Path, data_dir: Path | None) -> tuple[SentencePieceBPE, str]:
    """The run's SentencePiece model and the name of its pretokenized cache."""
    if d.tokenizer == "llama2":
        return sentencepiece.load(path("llama2_tokenizer", "tokenizer.model", data_dir)), "llama2"
    tag = f"custom{d.vocab_size}-{d.vocab_stories}"
    saved = tinystories.token_dir(tag) / "sentencepiece.model"
    if not saved.is_file():
        text = "\n".join(tinystories.sample_stories(archive, d.vocab_stories))
        sentencepiece.train(text, d.vocab_size, character_coverage=1.0).save(saved)  # llama2.c's coverage
    return sentencepiece.load(saved), tag


def setup(cfg: StoriesConfig, data_dir: Path | None) -> Task:
    d, T = cfg.data, cfg.model.block_size
    archive = tinystories.archive_path(data_dir)
    tok, tag = stories_tokenizer(d, archive, data_dir)
    cfg.model.vocab_size = tok.vocab_size
    library = d.encoder == "sentencepiece" or (d.encoder == "auto" and find_spec("sentencepiece") is not None)
    workers = d.workers or os.cpu_count() or 1
    files = tinystories.pretokenize(archive, StoryEncoder(tok, library), tinystories.token_dir(tag), workers)
    splits = tinystories.splits(files, T)

    def sample(m) -> str:
        device = next(m.parameters()).device
        g = torch.Generator(device=device).manual_seed(cfg.train.seed)
        prompt = torch.tensor([[tok.bos_id]], device=device)
        return "".join(stream_pieces(tok, m.stream(prompt, d.sample_tokens, generator=g)))

    return Task(
        model=build(cfg),
        get_batch=lambda split, B, gen: splits[split].windows(B, T, gen),
        sample=sample,
        save=lambda run_dir: tok.save(run_dir / "sentencepiece.model"),
        finish=lambda m, run_dir: int8_cost(
            m, lambda B, g: splits["val"].windows(B, T, g), cfg.train.eval_iters, cfg.train.batch_size
        ),
    )


def stories_260k() -> StoriesConfig:
    """llama2.c's stories260K (README: val loss 1.297): dim 64, 5 layers, 8 heads over 4 key/value heads,
    context 512, tied embeddings, a 512-piece vocabulary trained on the stories; its training command:
    batch 128, lr 1e-3, dropout 0.05, weight decay 0.01, beta2 0.99, 1000 warmup steps, 100,000 steps."""
    return StoriesConfig(
        model=LlamaConfig(
            block_size=512, n_layer=5, n_head=8, n_kv_head=4, n_embd=64, multiple_of=4,
            tie_embeddings=True, dropout=0.05,
        ),
        train=TrainConfig(
            max_iters=100_000, batch_size=128, lr=1e-3, min_lr=0.0, warmup_iters=1000, weight_decay=0.01,
            beta2=0.99, eval_interval=2000, eval_iters=100,
        ),
        data=StoriesData(tokenizer="custom", vocab_size=512),
    )  # fmt: skip


def stories_15m() -> StoriesConfig:
    """llama2.c's stories15M (README: val loss 1.072), train.py's defaults: dim 288, 6 layers, 6 heads,
    context 256, tied embeddings, Llama 2's 32000-piece vocabulary; batch 128 x 4 accumulated, lr 5e-4 to 0
    (cosine), 1000 warmup steps, weight decay 0.1, beta2 0.95, 100,000 steps: sized for a GPU."""
    return StoriesConfig(
        model=LlamaConfig(block_size=256, n_layer=6, n_head=6, n_embd=288, tie_embeddings=True),
        train=TrainConfig(
            max_iters=100_000, batch_size=128, grad_accum=4, lr=5e-4, min_lr=0.0, warmup_iters=1000,
            weight_decay=0.1, beta2=0.95, eval_interval=2000, eval_iters=100,
        ),
        data=StoriesData(tokenizer="llama2"),
    )  # fmt: skip


__all__ = ["StoriesConfig", "StoriesData", "build", "sample_text", "setup", "stories_15m", "stories_260k"]
