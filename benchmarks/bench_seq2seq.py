"""Our encoder-decoder transformer vs torch.nn.Transformer: same data, tokenizer, size, batches and budget.

Both models get the same shared BPE of Multi30k (`translate-multi30k`'s data setup), the same embedding
(tied, scaled by sqrt(d_model), sinusoidal positions), the same layers (pre-LN or post-LN as the config
says), Adam(0.9, 0.98) with the paper's warmup schedule, label smoothing 0.1 and the same batches from one
seed. Only the encoder and decoder stacks differ: ours (models/seq2seq.py) or `nn.Transformer`'s (which adds
a final LayerNorm to each stack even in post-LN, two more norms than ours; in pre-LN both have them).
`nn.TransformerDecoder` has no KV cache, so its BLEU is decoded by the cache-less path (the same tokens for
the same weights, tests/models/test_seq2seq.py). Training tokens/s are measured in rounds that
alternate between the two, so load from other processes falls on both alike (median round). With `--steps N`
each then trains N more steps and is scored by sacrebleu on test2016, decoded by the same greedy search.

    NANOZOO_DATA=... python benchmarks/bench_seq2seq.py [--rounds 5] [--round-steps 10] [--steps 0]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from nanozoo.core.config import TrainConfig
from nanozoo.core.trainer import lr_at
from nanozoo.experiments import seq2seq as track
from nanozoo.models.seq2seq import PAD, Seq2Seq, Seq2SeqConfig, causal_mask, sinusoidal


class TorchTransformer(nn.Module):
    """nn.Transformer between our embedding and tied output; decodes with our greedy and beam search, without
    a KV cache (nn.TransformerDecoder has none): `translate(..., use_cache=False)`."""

    greedy, beam_search, _max_len = Seq2Seq.greedy, Seq2Seq.beam_search, Seq2Seq._max_len
    _next_logits = Seq2Seq._next_logits

    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        self.config, C = cfg, cfg.n_embd
        self.embed = nn.Embedding(cfg.vocab_size, C, padding_idx=PAD)
        nn.init.normal_(self.embed.weight, std=C**-0.5)
        self.register_buffer("pos", sinusoidal(cfg.block_size, C), persistent=False)
        self.drop = nn.Dropout(cfg.dropout)
        self.core = nn.Transformer(
            C,
            cfg.n_head,
            cfg.n_layer,
            cfg.n_layer,
            cfg.ff_mult * C,
            cfg.dropout,
            batch_first=True,
            norm_first=cfg.norm_first,
        )

    def _embed(self, ids):
        return self.drop(self.embed(ids) * math.sqrt(self.config.n_embd) + self.pos[: ids.size(1)])

    def encode(self, src):
        return self.core.encoder(self._embed(src), src_key_padding_mask=src == PAD)

    def decode(self, tgt, memory, src):
        y = self.core.decoder(
            self._embed(tgt),
            memory,
            tgt_mask=~causal_mask(tgt.size(1), tgt.device),
            tgt_key_padding_mask=tgt == PAD,
            memory_key_padding_mask=src == PAD,
        )
        return y @ self.embed.weight.t()

    def forward(self, src, tgt_in, tgt_out):
        logits = self.decode(tgt_in, self.encode(src), src)
        loss = F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=PAD, label_smoothing=0.1)
        return logits, loss


def trainer(model: nn.Module, cfg: TrainConfig):
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.98))
    state = {"step": 0}

    def step(batch) -> None:
        for g in opt.param_groups:
            g["lr"] = lr_at(state["step"], cfg)
        loss = model(*batch)[1]
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        state["step"] += 1

    return step


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--round-steps", type=int, default=10)
    ap.add_argument("--steps", type=int, default=0, help="then train each this many steps and score BLEU")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], help="translate-multi30k overrides (model.*)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from nanozoo.core.config import apply_overrides

    cfg = apply_overrides(track.multi30k_cpu(), args.set)
    task = track.translation_setup(cfg, None)  # trains the BPE; cfg.model.vocab_size is filled in
    torch.manual_seed(0)
    models = {"nanozoo Seq2Seq": task.model, "torch nn.Transformer": TorchTransformer(cfg.model)}
    steps = {name: trainer(m.train(), cfg.train) for name, m in models.items()}
    gen = torch.Generator().manual_seed(0)
    batches = [task.get_batch("train", cfg.train.batch_size, gen) for _ in range(args.round_steps)]
    tokens = sum(track.real_tokens(b) for b in batches)
    times: dict[str, list[float]] = {k: [] for k in steps}
    for step in steps.values():  # warm up
        step(batches[0])
    for _ in range(args.rounds):
        for name, step in steps.items():
            t0 = time.perf_counter()
            for b in batches:
                step(b)
            times[name].append(time.perf_counter() - t0)
    params = {k: sum(p.numel() for p in m.parameters()) for k, m in models.items()}
    print(
        f"{cfg.model.n_layer}+{cfg.model.n_layer} layers, d_model {cfg.model.n_embd}, vocab "
        f"{cfg.model.vocab_size}, batch {cfg.train.batch_size} pairs, {args.threads} thread(s)"
    )
    tps = {k: tokens / statistics.median(v) for k, v in times.items()}
    for k in models:
        print(f"{k:24s} {params[k]:>11,} params  {tps[k]:>9,.0f} tokens/s (median of {args.rounds})")
    ours, theirs = tps.values()
    print(f"ratio ours / torch: {ours / theirs:.2f}x")
    if args.steps:
        src, ref = zip(*task.extra["pairs"]["test"], strict=True)
        scores = []
        for name, m in models.items():
            torch.manual_seed(1)
            g = torch.Generator().manual_seed(1)  # the same batches for both
            took, seen = 0.0, 0
            for _ in range(args.steps):
                batch = task.get_batch("train", cfg.train.batch_size, g)
                t0 = time.perf_counter()
                steps[name](batch)
                took, seen = took + time.perf_counter() - t0, seen + track.real_tokens(batch)
            hyp = track.translate(m.eval(), task.extra["codec"], list(src), use_cache=m is task.model)
            scores.append(track.bleu(hyp, list(ref)))
            print(
                f"{name:24s} BLEU {scores[-1]:.2f} on test2016 (greedy) after {args.steps} more steps "
                f"({took:.0f} s of training, {seen / took:,.0f} tokens/s)"
            )
        print(f"BLEU ours - torch: {scores[0] - scores[1]:+.2f}")


if __name__ == "__main__":
    main()
