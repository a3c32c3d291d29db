"""Training throughput of our GPT vs HF transformers' GPT2LMHeadModel, same config, batch and process.

Shape: the nanoGPT CPU recipe (4 layers, 4 heads, 128 wide, context 64, batch 12, vocab 65). Each model runs
the same AdamW training step on the same batches; rounds alternate between the two so that load from other
processes falls on both alike, and the median round is reported. HF's attention implementation is pinned
(`--hf-attn`, default "sdpa": the fused kernel ours calls too; "eager" is HF's explicit matmul-softmax) and
printed, so that a transformers release that changes its default cannot change the comparison silently.

    python benchmarks/bench_gpt_train.py [--rounds 7] [--steps 30] [--threads 2] [--hf-attn sdpa]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import transformers

from nanozoo.models.gpt import GPT, GPTConfig


def make_models(cfg: GPTConfig, hf_attn: str):
    torch.manual_seed(0)
    ours = GPT(cfg)
    hf_cfg = transformers.GPT2Config(
        vocab_size=cfg.vocab_size,
        n_positions=cfg.block_size,
        n_embd=cfg.n_embd,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        resid_pdrop=cfg.dropout,
        embd_pdrop=cfg.dropout,
        attn_pdrop=cfg.dropout,
        bos_token_id=0,
        eos_token_id=0,
        attn_implementation=hf_attn,
    )
    theirs = transformers.GPT2LMHeadModel(hf_cfg)
    if theirs.config._attn_implementation != hf_attn:
        raise RuntimeError(f"HF chose attention {theirs.config._attn_implementation!r}, asked {hf_attn!r}")
    return ours, theirs


def step_fn(model, hf: bool):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step(x, y):
        loss = model(input_ids=x, labels=x).loss if hf else model(x, y)[1]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    return step


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--hf-attn", choices=["sdpa", "eager"], default="sdpa")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0)
    ours, theirs = make_models(cfg, args.hf_attn)
    steps = {"nanozoo GPT": step_fn(ours.train(), False), "HF GPT2LMHeadModel": step_fn(theirs.train(), True)}
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, cfg.vocab_size, (args.batch, cfg.block_size + 1), generator=g)
    x, y = x[:, :-1].contiguous(), x[:, 1:].contiguous()
    tokens = args.batch * cfg.block_size * args.steps
    times: dict[str, list[float]] = {k: [] for k in steps}
    for step in steps.values():  # warm up (allocator, kernels)
        for _ in range(5):
            step(x, y)
    for _ in range(args.rounds):
        for name, step in steps.items():
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step(x, y)
            times[name].append(time.perf_counter() - t0)
    tps = {k: tokens / statistics.median(v) for k, v in times.items()}
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}x{cfg.block_size}, "
        f"{cfg.n_layer}x{cfg.n_embd}, median of {args.rounds} rounds of {args.steps} steps; HF "
        f"transformers {transformers.__version__}, attn_implementation={theirs.config._attn_implementation!r}"
    )
    print(f"{'model':<22}{'tokens/s':>12}{'ms/step':>10}")
    for k, v in tps.items():
        print(f"{k:<22}{v:>12,.0f}{1000 * args.batch * cfg.block_size / v:>10.2f}")
    ratio = tps["nanozoo GPT"] / tps["HF GPT2LMHeadModel"]
    print(f"ratio nanozoo / HF: {ratio:.2f}x")


if __name__ == "__main__":
    main()
