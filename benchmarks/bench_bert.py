"""The same all-MiniLM-L6-v2 fine-tune through our BERT and through HF transformers: same start (HF's head
gets our initial one), same batches, the same AdamW and schedule (the experiment's default recipe: batch,
lr, warmup, cosine decay, weight decay, clipping, the token embedding frozen), dropout off, float32 in both
(no autocast: the experiments' train.dtype=auto may pick bf16), so that the two runs take the same steps.
Prints the score and training examples/s, ours vs HF, measured in this run, and the ratio.

- `--task sentiment` (default): SST-2, BertForSequenceClassification; dev accuracy.
- `--task ner`: CoNLL-2003, BertForTokenClassification (first word piece labelled); entity F1 (seqeval's,
  `experiments/ner_metrics.py`) on eng.testb, or its first `--eval` sentences.

    NANOZOO_DATA=../shared/datasets .venv/bin/python benchmarks/bench_bert.py [--task ner] [--steps 200]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import time

import torch

from nanozoo.core.trainer import lr_at, make_optimizer
from nanozoo.experiments import ner_metrics
from nanozoo.experiments.bert import SentimentData, encode, load_sentiment, minilm_path, sentiment
from nanozoo.experiments.bert_ner import IGNORE, NER_LABELS, NerData, align, load_ner, ner
from nanozoo.models.bert import BertForSequenceClassification, BertForTokenClassification, pad_batch
from nanozoo.tokenizers.wordpiece import WordPieceTokenizer


def batches(examples, steps, B, seed=0):
    """(ids, attention mask, labels) of B random examples, `steps` times; labels are an int or a list."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        ix = torch.randint(len(examples), (B,), generator=g).tolist()
        idx, mask = pad_batch([examples[i][0] for i in ix])
        if isinstance(examples[0][1], int):
            yield idx, mask, torch.tensor([examples[i][1] for i in ix])
        else:
            yield idx, mask, pad_batch([examples[i][1] for i in ix], IGNORE)[0]


def train(model, loss_of, cfg, examples):
    """The experiment's fine-tune: the trainer's AdamW groups and LR schedule, clipping; returns
    (examples/s, losses)."""
    model.train()
    opt = make_optimizer(model, cfg, torch.device("cpu"))
    t0, n, losses = time.perf_counter(), 0, []
    for step, (idx, mask, y) in enumerate(batches(examples, cfg.max_iters, cfg.batch_size)):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        loss = loss_of(model, idx, mask, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        n += len(y)
        losses.append(loss.item())
    return n / (time.perf_counter() - t0), losses


@torch.no_grad()
def accuracy(model, logits_of, examples):
    model.eval()
    correct = 0
    for s in range(0, len(examples), 128):
        chunk = examples[s : s + 128]
        idx, mask = pad_batch([e[0] for e in chunk])
        correct += int((logits_of(model, idx, mask).argmax(-1) == torch.tensor([e[1] for e in chunk])).sum())
    return correct / len(examples)


@torch.no_grad()
def entity_f1(model, logits_of, examples, gold):
    """seqeval's entity F1 of the argmax at each word's first piece."""
    model.eval()
    pred = []
    for s in range(0, len(examples), 64):
        chunk = examples[s : s + 64]
        idx, mask = pad_batch([e[0] for e in chunk])
        best = logits_of(model, idx, mask).argmax(-1)  # (B, T)
        for row, (_, labels) in enumerate(chunk):
            pred.append([NER_LABELS[best[row, t]] for t, lab in enumerate(labels) if lab != IGNORE])
    return ner_metrics.f1(gold, pred)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", choices=["sentiment", "ner"], default="sentiment")
    ap.add_argument("--steps", type=int, default=0, help="0: the experiment's train.max_iters")
    ap.add_argument("--train", type=int, default=0, help="a fixed subsample of the training set (0: all)")
    ap.add_argument("--eval", type=int, default=0, help="sentences scored (0: all of SST-2 dev / eng.testb)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    import transformers

    path = minilm_path()
    tok = WordPieceTokenizer.from_file(path / "vocab.txt")
    recipe = sentiment() if args.task == "sentiment" else ner()  # bert-sentiment's / bert-ner's defaults
    cfg, max_len = (
        dataclasses.replace(recipe.train, max_iters=args.steps or recipe.train.max_iters),
        recipe.data.max_len,
    )
    if args.task == "sentiment":
        data = load_sentiment(SentimentData(train_size=args.train, val_size=args.eval), None)
        (tr_x, tr_y), (ev_x, ev_y) = data["train"], data["val"]
        train_set = [(encode(tok, t, max_len), y) for t, y in zip(tr_x, tr_y, strict=True)]
        eval_set = [(encode(tok, t, max_len), y) for t, y in zip(ev_x, ev_y, strict=True)]
        ours_cls, hf_cls, n_labels, what = (
            BertForSequenceClassification,
            "BertForSequenceClassification",
            2,
            "acc",
        )
        score = lambda m, logits_of: accuracy(m, logits_of, eval_set)  # noqa: E731
    else:
        data = load_ner(NerData(train_size=args.train, test_size=args.eval), None)
        train_set = [align(tok, w, t, max_len) for w, t in data["train"]]
        eval_set = [align(tok, w, t, 512) for w, t in data["test"]]
        gold = [t for _, t in data["test"]]
        ours_cls, hf_cls, n_labels, what = BertForTokenClassification, "BertForTokenClassification", 9, "F1"
        score = lambda m, logits_of: entity_f1(m, logits_of, eval_set, gold)  # noqa: E731

    torch.manual_seed(0)
    ours = ours_cls.from_pretrained(path, n_labels=n_labels, dropout=0.0)
    hf = getattr(transformers, hf_cls).from_pretrained(
        path, num_labels=n_labels, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
    )
    with torch.no_grad():  # the same fresh head in both
        hf.classifier.weight.copy_(ours.classifier.weight)
        hf.classifier.bias.copy_(ours.classifier.bias)
    for m in (ours.bert.wte, hf.bert.embeddings.word_embeddings):  # the experiments' data.freeze_wte
        m.weight.requires_grad_(False)

    runs = {
        "ours": (ours, lambda m, i, k, y: m(i, None, k, y)[1], lambda m, i, k: m(i, None, k)[0]),
        "HF": (hf, lambda m, i, k, y: m(input_ids=i, attention_mask=k, labels=y).loss,
               lambda m, i, k: m(input_ids=i, attention_mask=k).logits),
    }  # fmt: skip
    res = {}
    for name, (model, loss_of, logits_of) in runs.items():
        speed, losses = train(model, loss_of, cfg, train_set)
        res[name] = (speed, losses, score(model, logits_of))
    load = os.getloadavg()
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    cpu = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if "Model name" in line), "?")
    print(f"{time.strftime('%Y-%m-%d %H:%M')} UTC  {cpu}  load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(
        f"MiniLM fine-tune, {args.task}: {cfg.max_iters} steps of {cfg.batch_size} from {len(train_set)} "
        f"training examples, lr {cfg.lr} ({cfg.schedule}, warmup {cfg.warmup_iters}), token embedding "
        f"frozen, float32, threads {args.threads}; {what} on {len(eval_set)}"
    )
    print(f"{'':6s} {'examples/s':>11s} {what:>8s} {'last loss':>10s}")
    for name, (speed, losses, value) in res.items():
        print(f"{name:6s} {speed:11.1f} {value:8.4f} {losses[-1]:10.4f}")
    gap = max(abs(a - b) for a, b in zip(res["ours"][1], res["HF"][1], strict=True))
    print(f"ours/HF: speed {res['ours'][0] / res['HF'][0]:.2f}x; largest training-loss difference {gap:.2e}")


if __name__ == "__main__":
    main()
