"""BERT for named-entity recognition: CoNLL-2003 English (PER, ORG, LOC, MISC), a tag for every word.

Devlin et al. 2019 (5.3): the encoder's hidden state of each word's first word piece goes through a linear
layer to the word's tag; the later pieces of a word carry the label -100 and are not scored, in training
or at prediction. The tags are CoNLL-2003's own IOB1 (I-X inside an entity, B-X only where an entity
follows another of the same type: data/conll.py, SOURCES.md), predicted as they are. The metric is
entity-level F1, computed as seqeval computes it (`experiments/ner_metrics.py`): `val_f1` on all of
eng.testa (3,250 sentences) at every evaluation, `test_f1` on eng.testb (3,453) once at the end, with
precision, recall and each type's F1 in RUN/test_scores.json. Reference: BERT-base 92.4 test F1 (paper,
table 3, fine-tuning approach); MiniLM here is uncased, six layers of 384.

Where the run starts (MiniLM by default, random init, a run folder) and the vocabulary it keeps are
bert-sentiment's (`experiments/bert.py`). Training cuts a sentence to `data.max_len` pieces; prediction
reads up to model.block_size pieces (every CoNLL sentence fits) and tags a word beyond that "O".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from nanozoo import data
from nanozoo.core.atomic import atomic_write
from nanozoo.core.config import ConfigError, TrainConfig
from nanozoo.core.runlog import RunError
from nanozoo.core.task import Task
from nanozoo.data.conll import read_conll
from nanozoo.experiments import ner_metrics
from nanozoo.experiments.bert import (
    FineTuneData,
    fine_tune_recipe,
    run_tokenizer,
    save_vocab_labels,
    start_model,
    subsample,
)
from nanozoo.experiments.registry import load_model
from nanozoo.models.bert import BertConfig, BertForTokenClassification, pad_batch
from nanozoo.tokenizers.wordpiece import WordPieceTokenizer, pre_tokenize

NER_LABELS = ["O", "I-PER", "I-ORG", "I-LOC", "I-MISC", "B-PER", "B-ORG", "B-LOC", "B-MISC"]
IGNORE = -100  # not scored: [CLS], [SEP], padding and the later pieces of a word


@dataclass
class NerData(FineTuneData):
    max_len: int = 128  # training only: prediction reads up to model.block_size pieces
    test_size: int = 0  # 0: all of eng.testb; else its first N sentences (quick checks)

    def __post_init__(self):
        super().__post_init__()
        if self.test_size < 0:
            raise ConfigError(f"data.test_size={self.test_size} must be >= 0")


@dataclass
class NerConfig:
    model: BertConfig = field(default_factory=BertConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: NerData = field(default_factory=NerData)


Sentence = tuple[list[str], list[str]]  # words, tags


def load_ner(d: NerData, data_dir: Path | None) -> dict[str, list[Sentence]]:
    """{"train": eng.train, "val": eng.testa, "test": eng.testb}, each a list of (words, tags)."""
    out = {s: read_conll(data.path("conll2003", f"eng.{f}", data_dir)) for s, f in
           (("train", "train"), ("val", "testa"), ("test", "testb"))}  # fmt: skip
    out["train"] = [out["train"][i] for i in subsample(len(out["train"]), d.train_size)]
    if d.val_size:
        out["val"] = out["val"][: d.val_size]
    if d.test_size:
        out["test"] = out["test"][: d.test_size]
    unknown = {t for split in out.values() for _, tags in split for t in tags} - set(NER_LABELS)
    if unknown:
        raise ConfigError(f"conll2003 holds tags outside {NER_LABELS}: {sorted(unknown)}")
    return out


def align(
    tok: WordPieceTokenizer, words: list[str], tags: list[str] | None, max_len: int
) -> tuple[list[int], list[int]]:
    """[CLS] word pieces [SEP] and a label per piece: the word's tag id on its first piece, IGNORE on the
    others (and on [CLS], [SEP]); without tags, 0 marks the first pieces. Cut to max_len pieces."""
    unk = tok.vocab[tok.unk_token]
    ids, labels = [tok.vocab["[CLS]"]], [IGNORE]
    for i, word in enumerate(words):
        pieces = tok.encode(word, add_special_tokens=False) or [unk]  # a word of control characters
        ### BEGIN SOLUTION
        first = NER_LABELS.index(tags[i]) if tags is not None else 0
        labels += [first] + [IGNORE] * (len(pieces) - 1)  # only the first piece is scored
        ### END SOLUTION
        ids += pieces
    return ids[: max_len - 1] + [tok.vocab["[SEP]"]], labels[: max_len - 1] + [IGNORE]


@torch.no_grad()
def predict(
    model: nn.Module, tok: WordPieceTokenizer, sentences: list[list[str]], batch: int = 64
) -> list[list[str]]:
    """Each word's tag: the argmax at its first piece; "O" for words past model.block_size pieces."""
    device = next(model.parameters()).device
    limit = model.config.block_size
    out: list[list[str]] = [[] for _ in sentences]
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))  # similar lengths: less padding
    for s in range(0, len(order), batch):
        ix = order[s : s + batch]
        aligned = [align(tok, sentences[i], None, limit) for i in ix]
        idx, mask = pad_batch([a[0] for a in aligned], model.config.pad_id)
        logits, _ = model(idx.to(device), None, mask.to(device))  # (B, T, K)
        best = logits.argmax(-1).cpu()  # (B, T)
        for row, i in enumerate(ix):
            firsts = [t for t, lab in enumerate(aligned[row][1]) if lab != IGNORE]
            tags = [NER_LABELS[best[row, t]] for t in firsts]
            out[i] = tags + ["O"] * (len(sentences[i]) - len(tags))
    return out


# ---------------------------------------------------------------------------------------------------
# The task


def build(cfg: NerConfig) -> BertForTokenClassification:
    return BertForTokenClassification(cfg.model)


def setup(cfg: NerConfig, data_dir: Path | None) -> Task:
    splits = load_ner(cfg.data, data_dir)
    tok, model = start_model(cfg, [" ".join(words) for words, _ in splits["train"]], NER_LABELS, build)
    train = [align(tok, words, tags, cfg.data.max_len) for words, tags in splits["train"]]
    val = [align(tok, words, tags, cfg.data.max_len) for words, tags in splits["val"]]
    examples = {"train": train, "val": val}

    def get_batch(split: str, B: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        ix = torch.randint(len(examples[split]), (B,), generator=gen).tolist()
        idx, mask = pad_batch([examples[split][i][0] for i in ix], cfg.model.pad_id)
        labels, _ = pad_batch([examples[split][i][1] for i in ix], IGNORE)
        return idx, torch.zeros_like(idx), mask, labels

    def score(m: nn.Module, split: str) -> dict[str, dict[str, float]]:
        words = [w for w, _ in splits[split]]
        return ner_metrics.scores([t for _, t in splits[split]], predict(m, tok, words))

    def finish(m: nn.Module, run_dir: Path) -> dict[str, float]:
        test = score(m, "test")
        atomic_write(run_dir / "test_scores.json", json.dumps(test, indent=2))
        return {f"test_{k}": test["micro"][k] for k in ("f1", "precision", "recall")}

    return Task(
        model=model,
        get_batch=get_batch,
        evaluate=lambda m: {"val_f1": score(m, "val")["micro"]["f1"]},
        save=lambda run_dir: save_vocab_labels(run_dir, tok, NER_LABELS),
        tokens=lambda batch: int(batch[2].sum()),
        finish=finish,
    )


# ---------------------------------------------------------------------------------------------------
# A trained run at work (`nanozoo ner`)


def tag(
    run_dir: str | Path, texts: list[str]
) -> list[tuple[list[str], list[str], list[tuple[str, int, int]]]]:
    """(words, their tags, entities as (type, first word, last word)) for each text under an NER run, the
    model loaded once. A text is split into words as BERT's basic tokenizer does (whitespace, then
    punctuation apart)."""
    sentences = [pre_tokenize(text) for text in texts]
    if not sentences or not all(sentences):
        raise ConfigError("the text to tag is empty: give a sentence")
    tok, labels = run_tokenizer(Path(run_dir))
    if labels != NER_LABELS:
        raise RunError(f"{run_dir} tags {labels}, not CoNLL-2003's entities: it is not a bert-ner run")
    model, _ = load_model(run_dir)
    tags = predict(model, tok, sentences)
    return [(words, t, ner_metrics.entities(t)) for words, t in zip(sentences, tags, strict=True)]


def ner() -> NerConfig:
    """CoNLL-2003 from the MiniLM weights, the token embedding frozen: 900 steps of 32 sentences (two
    epochs of the 14,041), train.dtype "auto" (as bert-sentiment)."""
    return NerConfig(
        data=NerData(freeze_wte=True),
        train=fine_tune_recipe(max_iters=900, eval_interval=300, lr=1e-4),
    )


__all__ = [
    "NER_LABELS",
    "NerConfig",
    "NerData",
    "align",
    "build",
    "load_ner",
    "ner",
    "predict",
    "setup",
    "tag",
]
