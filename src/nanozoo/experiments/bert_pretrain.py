"""BERT pretraining, scaled down: masked LM + next-sentence prediction on a small corpus with a WordPiece
vocabulary learnt from it, then fine-tuned for sentiment to show that it learnt something real.

The model is `models/bert.py`'s BertForPreTraining (its MLM head runs only at the masked positions), the
pairs and masks `data/mlm.py`, the vocabulary our WordPiece trainer (`tokenizers/wordpiece.py`, most
frequent pair first: see its NOTE), saved as RUN/vocab.txt. `nanozoo train bert-sentiment --set
data.init=RUN` fine-tunes the pretrained encoder; `--set data.load_weights=false` beside it is the control,
the same model from random weights.

Corpora:
- ptb (default): Mikolov's Penn Treebank, one WSJ sentence a line in article order (`<unk>` becomes
  [UNK]). The files mark no article boundaries, so a document here is `data.doc_sentences` consecutive
  lines: IsNext pairs are consecutive sentences, NotNext ones take B from another such block. Train on
  ptb.train.txt; `val_*` on a fixed set of pairs from ptb.valid.txt, `test_*` from ptb.test.txt at the end.
- shakespeare: Tiny Shakespeare; a document is a speech (its lines, the speaker's name dropped) of two
  lines or more, a sentence one line; the first 90% of the speeches train, the next 5% val, the last test.
- sst2: the text of SST-2's training phrases, labels dropped: task-adaptive pretraining (Gururangan et al.
  2020, "Don't Stop Pretraining"), a second stage after Penn Treebank (`data.init=RUN`). The phrases come
  shuffled, with no documents to draw next sentences from, so it takes `data.nsp=false` (RoBERTa's
  masked LM alone: each sequence is [CLS] pieces [SEP], phrases packed in file order until it is full).
  A fixed 2% of the phrases (a permutation seeded with 0) are val and 2% test; SST-2's dev sentences
  are never read.

`data.init=RUN` continues from a finished bert-mini-pretrain run: its vocabulary, shape and every weight
(MLM and NSP heads included) instead of a new vocabulary and random weights. Measured (benchmarks/
RESULTS.md): 3,000 steps on sst2 after PTB raise held-out MLM accuracy on the phrases from 0.20 to 0.39,
but the fine-tuned SST-2 accuracy does not beat the random-init control (0.732 against 0.766).

Metrics at every evaluation, on the fixed held-out pairs: `val_mlm_acc` (the share of masked positions
whose argmax is the original piece, over every masked position, as Google's `masked_lm_accuracy`),
`val_nsp_acc`, and each head's loss (`val_mlm_loss`, `val_nsp_loss`; `val_loss` is their sum), with the
same losses on a fixed sample of training pairs (`train_mlm_loss`, `train_nsp_loss`). At the end the test
pairs, RUN/heads.png (both heads' losses and accuracies against step) and RUN/samples.txt (fill-in-the-
blank: a masked word of held-out sentences and the model's top guesses).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from nanozoo.core import plots
from nanozoo.core.config import ConfigError, TrainConfig
from nanozoo.core.task import Task
from nanozoo.data import mlm
from nanozoo.data.catalogue import read_text
from nanozoo.experiments.bert import SentimentData, load_sentiment, open_run
from nanozoo.models.bert import BertConfig, BertForPreTraining, pad_batch
from nanozoo.tokenizers.wordpiece import WordPieceTokenizer, train_wordpiece

# kept in the vocabulary even where the corpus lacks them (Penn Treebank has no commas): fine-tuning text has
ALPHABET = string.ascii_lowercase + string.digits + string.punctuation


@dataclass
class PretrainData:
    corpus: Literal["ptb", "shakespeare", "sst2"] = "ptb"
    nsp: bool = True  # false: the masked LM alone, on one segment a sequence (RoBERTa)
    init: str = ""  # a bert-mini-pretrain run folder to continue from (its vocabulary and weights)
    vocab_size: int = 4096  # WordPiece pieces learnt from the training split
    max_len: int = 64  # word pieces per pair, [CLS] and both [SEP] included
    mask_prob: float = 0.15
    whole_word: bool = False  # mask whole words (a piece and its "##" pieces together)
    short_prob: float = 0.1  # pairs that aim at a random shorter length (Google's short_seq_prob)
    doc_sentences: int = 32  # ptb: consecutive lines that make one document
    eval_pairs: int = 1024  # the fixed held-out pairs scored at every evaluation (and as many test pairs)
    train_sentences: int = 0  # 0: the whole training split; else its first N sentences (quick checks)

    def __post_init__(self):
        if self.init:  # a run folder, stored absolute (a resume from another folder finds it)
            self.init = str(Path(self.init).absolute())
        if self.corpus not in ("ptb", "shakespeare", "sst2"):
            raise ConfigError(f"data.corpus={self.corpus!r}; expected 'ptb', 'shakespeare' or 'sst2'")
        if self.corpus == "sst2" and self.nsp:
            raise ConfigError(
                "data.corpus=sst2 has no documents to draw next sentences from: set data.nsp=false"
            )
        if self.max_len < 8:
            raise ConfigError(f"data.max_len={self.max_len} must be >= 8")
        if not 0.0 < self.mask_prob < 1.0:
            raise ConfigError(f"data.mask_prob={self.mask_prob} must be in (0, 1)")
        if not 0.0 <= self.short_prob <= 1.0:
            raise ConfigError(f"data.short_prob={self.short_prob} must be in [0, 1]")
        for name in ("doc_sentences", "eval_pairs"):
            if getattr(self, name) < 2:
                raise ConfigError(f"data.{name}={getattr(self, name)} must be >= 2")
        if self.train_sentences < 0:
            raise ConfigError(f"data.train_sentences={self.train_sentences} must be >= 0")


def mini_bert() -> BertConfig:
    """BERT-Tiny's shape (Turc et al. 2019): 2 layers of 128, 2 heads; 0.4M weights in the blocks, 0.5M in
    the token embedding (4,096 pieces). NOTE: at a budget of minutes the small model wins. Step for step 4
    layers of 128 did no better (12.2% MLM accuracy at step 1,200 against 13.7%) at twice the cost of a
    step; 4 layers of 256 at 128 pieces reached 12.5% in 500 steps (17 min on a shared core), and its
    fine-tuned SST-2 accuracy fell below its random-init control's (0.744 against 0.763). Four times the
    compute (4 layers of 128, 16,000 steps, 19 min on 2 cores) reaches 41.0% against 33.7%, and still
    fine-tunes no better than its control (RESULTS.md, "The pretraining check, third session")."""
    return BertConfig(n_layer=2, n_head=2, n_embd=128, block_size=64, dropout=0.0)


@dataclass
class PretrainConfig:
    model: BertConfig = field(default_factory=mini_bert)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: PretrainData = field(default_factory=PretrainData)


# ---------------------------------------------------------------------------------------------------
# Data: documents of sentences of word pieces


def documents(d: PretrainData, data_dir: Path | None) -> dict[str, list[list[str]]]:
    """{"train" / "val" / "test": documents, each a list of sentences (text)}."""
    if d.corpus == "sst2":
        phrases = load_sentiment(SentimentData(), data_dir)["train"][0]  # the text, not the labels
        order = torch.randperm(len(phrases), generator=torch.Generator().manual_seed(0)).tolist()
        n = len(phrases) // 50
        held = {"val": sorted(order[:n]), "test": sorted(order[n : 2 * n]), "train": sorted(order[2 * n :])}
        return {split: _blocks([phrases[i] for i in ix], 32) for split, ix in held.items()}
    if d.corpus == "ptb":
        out = {}
        for split, file in (("train", "train"), ("val", "valid"), ("test", "test")):
            text = read_text("ptb", f"ptb.{file}.txt", data_dir=data_dir).replace("<unk>", "[UNK]")
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            out[split] = _blocks(lines, d.doc_sentences)
        return out
    speeches = []
    for block in read_text("tinyshakespeare", data_dir=data_dir).split("\n\n"):
        lines = [line.strip() for line in block.strip().splitlines()[1:] if line.strip()]
        if len(lines) >= 2:
            speeches.append(lines)
    a, b = int(0.9 * len(speeches)), int(0.95 * len(speeches))
    return {"train": speeches[:a], "val": speeches[a:b], "test": speeches[b:]}


def _blocks(lines: list[str], n: int) -> list[list[str]]:
    """Consecutive lines, n to a document (a last one of fewer dropped)."""
    return [lines[i : i + n] for i in range(0, len(lines) - n + 1, n)]


def first_sentences(docs: list[list[str]], n: int) -> list[list[str]]:
    """The documents that hold the first n sentences (the last one cut short)."""
    out = []
    for doc in docs:
        if n <= 0:
            break
        out.append(doc[:n])
        n -= len(doc)
    return out


def tokenize_documents(
    tok: WordPieceTokenizer, docs: list[list[str]], nsp: bool = True
) -> list[list[list[int]]]:
    """Sentences to word-piece ids; an empty sentence is dropped, and for NSP a document of under two."""
    out = []
    for doc in docs:
        ids = [s for s in (tok.encode(line, add_special_tokens=False) for line in doc) if s]
        if len(ids) >= (2 if nsp else 1):
            out.append(ids)
    if nsp:
        mlm.check_documents(out)
    elif not out:
        raise ValueError("the corpus has no sentence with a word piece in it")
    return out


class PairSampler:
    """Batches of masked sentence pairs from tokenized documents, every draw from the caller's generator."""

    def __init__(self, tok: WordPieceTokenizer, d: PretrainData):
        self.d, self.vocab_size = d, tok.vocab_size
        self.cls, self.sep, self.mask, self.pad = (
            tok.vocab[t] for t in ("[CLS]", "[SEP]", "[MASK]", "[PAD]")
        )
        self.continues = torch.tensor([tok.inverse[i].startswith("##") for i in range(tok.vocab_size)])

    def batch(self, docs: list[list[list[int]]], B: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        """(inputs, segments, attention mask, mlm labels, nsp labels): (B, T) x 4 and (B,); without NSP
        (data.nsp=false) one segment a sequence and the first four alone."""
        seqs, segs, nsp = [], [], []
        for _ in range(B):
            if self.d.nsp:
                a, b, label = mlm.nsp_pair(docs, self.d.max_len - 3, gen, self.d.short_prob)
                ids, seg = mlm.frame_pair(a, b, self.cls, self.sep)
                nsp.append(label)
            else:
                ids = [self.cls, *mlm.segment(docs, self.d.max_len - 2, gen, self.d.short_prob), self.sep]
                seg = [0] * len(ids)
            seqs.append(ids)
            segs.append(seg)
        idx, mask = pad_batch(seqs, self.pad)  # (B, T)
        segments, _ = pad_batch(segs, 0)
        maskable = mask.bool() & (idx != self.cls) & (idx != self.sep)
        starts = ~self.continues[idx] if self.d.whole_word else None
        inputs, labels = mlm.mask_tokens(
            idx, maskable, self.mask, self.vocab_size, gen, self.d.mask_prob, starts
        )
        return (
            (inputs, segments, mask, labels, torch.tensor(nsp)) if nsp else (inputs, segments, mask, labels)
        )


# ---------------------------------------------------------------------------------------------------
# Scoring both heads


@torch.no_grad()
def head_metrics(model: nn.Module, batches: list[tuple[torch.Tensor, ...]]) -> dict[str, float]:
    """Each head's mean loss and accuracy over fixed batches: MLM per masked position, NSP per pair (where
    the batches have NSP labels)."""
    device = next(model.parameters()).device
    mlm_loss = mlm_ok = n_masked = nsp_loss = nsp_ok = n_pairs = 0.0
    for batch in batches:
        inputs, segments, mask, labels, *nsp = (t.to(device) for t in batch)
        nsp = nsp[0] if nsp else None
        (mlm_logits, nsp_logits), _ = model(inputs, segments, mask, labels, nsp, masked_only=True)
        target = labels[labels != -100]  # (M,): the rows of mlm_logits
        mlm_loss += F.cross_entropy(mlm_logits, target, reduction="sum").item()
        mlm_ok += (mlm_logits.argmax(-1) == target).sum().item()
        n_masked += len(target)
        if nsp is not None:
            nsp_loss += F.cross_entropy(nsp_logits, nsp, reduction="sum").item()
            nsp_ok += (nsp_logits.argmax(-1) == nsp).sum().item()
            n_pairs += len(nsp)
    out = {"mlm_loss": mlm_loss / n_masked, "mlm_acc": mlm_ok / n_masked}
    if n_pairs:
        out |= {"nsp_loss": nsp_loss / n_pairs, "nsp_acc": nsp_ok / n_pairs}
    return out


@torch.no_grad()
def fill_in(model: nn.Module, tok: WordPieceTokenizer, sentences: list[str], gen: torch.Generator) -> str:
    """One random word of each sentence masked (all its pieces), and the model's top 5 for its first piece."""
    device = next(model.parameters()).device
    lines = []
    for text in sentences:
        ids = tok.encode(text)  # [CLS] ... [SEP]
        groups = mlm.word_groups([not tok.inverse[i].startswith("##") for i in ids[1:-1]])
        word = [i + 1 for i in groups[int(torch.randint(len(groups), (1,), generator=gen))]]
        masked = [tok.vocab["[MASK]"] if i in word else t for i, t in enumerate(ids)]
        (logits, _), _ = model(torch.tensor([masked], device=device))
        top = logits[0, word[0]].topk(5).indices.tolist()
        before, after = tok.decode(ids[1 : word[0]], False), tok.decode(ids[word[-1] + 1 : -1], False)
        shown = f"{before} [MASK] {after}".strip()
        truth = tok.decode([ids[i] for i in word])
        lines.append(f"{shown}\n  truth: {truth}   guesses: {', '.join(tok.inverse[t] for t in top)}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------
# The task


def build(cfg: PretrainConfig) -> BertForPreTraining:
    return BertForPreTraining(cfg.model)


def setup(cfg: PretrainConfig, data_dir: Path | None) -> Task:
    d = cfg.data
    texts = documents(d, data_dir)
    if d.train_sentences:
        texts["train"] = first_sentences(texts["train"], d.train_sentences)
    if d.init:
        tok, model, cfg.model = open_run(d.init, "data.init", BertForPreTraining)
        d.vocab_size = tok.vocab_size  # the run's own: an override of it is refused (refuse_derived)
    else:
        train_text = "\n".join(line for doc in texts["train"] for line in doc)
        tok = train_wordpiece(train_text, d.vocab_size, score="frequency", alphabet=ALPHABET)
        cfg.model.vocab_size = tok.vocab_size
        model = build(cfg)
    if d.max_len > cfg.model.block_size:
        raise ConfigError(f"data.max_len={d.max_len} is longer than model.block_size={cfg.model.block_size}")
    docs = {split: tokenize_documents(tok, t, d.nsp) for split, t in texts.items()}
    sampler = PairSampler(tok, d)

    def fixed(split: str, n: int, seed: int) -> list[tuple[torch.Tensor, ...]]:
        gen = torch.Generator().manual_seed(seed)
        return [sampler.batch(docs[split], min(64, n - s), gen) for s in range(0, n, 64)]

    held_out = {"train": fixed("train", d.eval_pairs // 2, 1), "val": fixed("val", d.eval_pairs, 2)}

    def evaluate(m: nn.Module) -> dict[str, float]:
        out = {}
        for split, batches in held_out.items():
            for k, v in head_metrics(m, batches).items():
                if split == "val" or k.endswith("loss"):
                    out[f"{split}_{k}"] = v
        out["val_loss"] = out["val_mlm_loss"] + out.get("val_nsp_loss", 0.0)  # the trainer's is one batch
        return out

    def finish(m: nn.Module, run_dir: Path) -> dict[str, float]:
        test = head_metrics(m, fixed("test", d.eval_pairs, 3))
        panels = {"masked LM loss": ["train_mlm_loss", "val_mlm_loss"],
                  "next-sentence loss": ["train_nsp_loss", "val_nsp_loss"],
                  "held-out accuracy": ["val_mlm_acc", "val_nsp_acc"]}  # fmt: skip
        if not d.nsp:
            panels = {"masked LM loss": panels["masked LM loss"], "held-out accuracy": ["val_mlm_acc"]}
        plots.metric_panels(run_dir, panels, run_dir / "heads.png", title="bert-mini-pretrain: the heads")
        return {f"test_{k}": v for k, v in test.items()}

    def sample(m: nn.Module) -> str:
        sentences = [doc[0] for doc in texts["val"][:: max(1, len(texts["val"]) // 8)][:8]]
        return fill_in(m, tok, sentences, torch.Generator().manual_seed(4))

    return Task(
        model=model,
        get_batch=lambda split, B, gen: sampler.batch(docs[split], B, gen),
        loss=lambda m, batch: m(*batch, masked_only=True)[1],
        evaluate=evaluate,
        sample=sample,
        save=lambda run_dir: tok.save(run_dir / "vocab.txt"),
        tokens=lambda batch: int(batch[2].sum()),
        splits=("val",),
        finish=finish,
    )


def pretrain() -> PretrainConfig:
    """The mini BERT on Penn Treebank: 8,000 batches of 32 pairs of up to 64 pieces (about 15M pieces, 14
    passes over ptb.train.txt), AdamW at 1e-3 (small BERTs take a larger rate than BERT-base's 1e-4; 3e-4
    learnt slower, 3e-3 no faster), warmup and cosine decay. train.dtype stays "auto" (bf16 autocast
    measured 3.7x the float32 steps/s on a Xeon with AMX; float32 where the CPU lacks native bf16)."""
    train = TrainConfig(
        max_iters=8000, batch_size=32, lr=1e-3, min_lr=1e-4, warmup_iters=60, weight_decay=0.01,
        beta2=0.98, eval_interval=1000, eval_iters=1, log_interval=50,
    )  # fmt: skip
    return PretrainConfig(train=train)


__all__ = [
    "PairSampler",
    "PretrainConfig",
    "PretrainData",
    "build",
    "documents",
    "fill_in",
    "head_metrics",
    "pretrain",
    "setup",
    "tokenize_documents",
]
