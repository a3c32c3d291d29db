"""The same all-MiniLM-L6-v2 fine-tune on SST-2 through our BERT and through HF transformers'
BertForSequenceClassification: same start (HF's classifier gets our initial one), same batches, same AdamW,
dropout off so that the two runs should take the same steps. Prints dev accuracy and training examples/s,
ours vs HF, measured in this run, and the ratio.

    NANOZOO_DATA=../shared/datasets .venv/bin/python benchmarks/bench_bert.py [--steps 60] [--dev 872]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time

import torch

from nanozoo.experiments.bert import SentimentData, encode, load_sentiment, minilm_path
from nanozoo.models.bert import BertForSequenceClassification, pad_batch
from nanozoo.tokenizers.wordpiece import WordPieceTokenizer


def batches(ids, labels, steps, B, seed=0):
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        ix = torch.randint(len(ids), (B,), generator=g).tolist()
        idx, mask = pad_batch([ids[i] for i in ix])
        yield idx, mask, torch.tensor([labels[i] for i in ix])


def train(model, forward, args, train_ids, train_y):
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01)
    t0, n, losses = time.perf_counter(), 0, []
    for idx, mask, y in batches(train_ids, train_y, args.steps, args.batch):
        loss = forward(model, idx, mask, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        n += len(y)
        losses.append(loss.item())
    return n / (time.perf_counter() - t0), losses


@torch.no_grad()
def accuracy(model, logits_of, ids, y):
    model.eval()
    correct = 0
    for s in range(0, len(ids), 128):
        idx, mask = pad_batch(ids[s : s + 128])
        correct += int((logits_of(model, idx, mask).argmax(-1) == torch.tensor(y[s : s + 128])).sum())
    return correct / len(ids)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--train", type=int, default=5000, help="a fixed subsample of the training phrases")
    ap.add_argument("--dev", type=int, default=872, help="dev sentences scored (872: all)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    import transformers

    path = minilm_path()
    tok = WordPieceTokenizer.from_file(path / "vocab.txt")
    data = load_sentiment(SentimentData(train_size=args.train, val_size=args.dev), None)
    (tr_x, tr_y), (dv_x, dv_y) = data["train"], data["val"]
    tr_ids, dv_ids = [encode(tok, t, 64) for t in tr_x], [encode(tok, t, 64) for t in dv_x]

    torch.manual_seed(0)
    ours = BertForSequenceClassification.from_pretrained(path, n_labels=2, dropout=0.0)
    hf = transformers.BertForSequenceClassification.from_pretrained(
        path, num_labels=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
    )
    with torch.no_grad():  # the same fresh head in both
        hf.classifier.weight.copy_(ours.classifier.weight)
        hf.classifier.bias.copy_(ours.classifier.bias)
    for m in (ours.bert.wte, hf.bert.embeddings.word_embeddings):  # bert-sentiment's data.freeze_wte
        m.weight.requires_grad_(False)

    runs = {
        "ours": (ours, lambda m, i, k, y: m(i, None, k, y)[1], lambda m, i, k: m(i, None, k)[0]),
        "HF": (hf, lambda m, i, k, y: m(input_ids=i, attention_mask=k, labels=y).loss,
               lambda m, i, k: m(input_ids=i, attention_mask=k).logits),
    }  # fmt: skip
    res = {}
    for name, (model, fwd, logits_of) in runs.items():
        speed, losses = train(model, fwd, args, tr_ids, tr_y)
        res[name] = (speed, losses, accuracy(model, logits_of, dv_ids, dv_y))
    load = os.getloadavg()
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    cpu = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if "Model name" in line), "?")
    print(f"{time.strftime('%Y-%m-%d %H:%M')} UTC  {cpu}  load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(
        f"MiniLM fine-tune on SST-2: {args.steps} steps of {args.batch} from {len(tr_ids)} training phrases, "
        f"lr {args.lr}, threads {args.threads}; dev accuracy on {len(dv_ids)} sentences"
    )
    print(f"{'':6s} {'examples/s':>11s} {'dev acc':>8s} {'last loss':>10s}")
    for name, (speed, losses, acc) in res.items():
        print(f"{name:6s} {speed:11.1f} {acc:8.4f} {losses[-1]:10.4f}")
    gap = max(abs(a - b) for a, b in zip(res["ours"][1], res["HF"][1], strict=True))
    print(f"ours/HF: speed {res['ours'][0] / res['HF'][0]:.2f}x; largest training-loss difference {gap:.2e}")


if __name__ == "__main__":
    main()
