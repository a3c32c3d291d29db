"""The throughput ladder that GPT-2 replications publish: training tokens/s after each optimisation in turn,
as a bar chart.

Rungs, cumulative, in the order of Karpathy's "Let's reproduce GPT-2 (124M)": float32 with attention written
out (our `manual_attention`) and for-each AdamW; matmul precision "high" (TF32 on a GPU; on a CPU it changes
nothing: the CPU's counterpart is "medium", bf16 inside float32 matmuls, which the 4x128 CPU recipe takes
through the trainer: benchmarks/bench_gpt_train.py); bf16 autocast;
torch.compile; SDPA's fused attention; the vocabulary padded to a multiple of 64 (50257 -> 50304, 65 -> 128);
fused AdamW. Every rung is a fresh model from the same seed, stepping on the same batch.

    python benchmarks/bench_gpt_ladder.py --shape char [--batch 32] [--steps 10] [--threads 2]
    python benchmarks/bench_gpt_ladder.py --shape 124m [--batch 1] [--steps 1]   # one step at 124M (CPU)
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from nanozoo.core import plots
from nanozoo.core.speed import cpu_name
from nanozoo.models.gpt import GPT, GPTConfig

SHAPES = {
    "char": GPTConfig(
        vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128, bias=False, activation="gelu"
    ),
    "124m": GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768),
}
RUNGS = [  # (label, what the rung turns on); each keeps the ones before it
    ("float32, manual attention, AdamW", {}),
    ("+ matmul precision high", {"precision": "high"}),
    ("+ bf16 autocast", {"amp": True}),
    ("+ torch.compile", {"compile": True}),
    ("+ SDPA fused attention", {"attn": "sdpa"}),
    ("+ vocab padded to a multiple of 64", {"pad": True}),
    ("+ fused AdamW", {"fused": True}),
]


def rung_step(shape: GPTConfig, on: dict, batch, device: str):
    """A full training step (forward, backward, clip, AdamW) of a fresh model with the rung's settings."""
    torch.set_float32_matmul_precision(on.get("precision", "highest"))
    vocab = (shape.vocab_size + 63) // 64 * 64 if on.get("pad") else shape.vocab_size
    cfg = GPTConfig(**{**vars(shape), "vocab_size": vocab, "attn_impl": on.get("attn", "manual")})
    torch.manual_seed(0)
    model = GPT(cfg).to(device).train()
    fwd = torch.compile(model) if on.get("compile") else model
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, fused=on.get("fused", False))
    x, y = (t.to(device) for t in batch)

    def step():
        with torch.autocast(device, dtype=torch.bfloat16, enabled=on.get("amp", False)):
            loss = fwd(x, y)[1]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()

    return step


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=list(SHAPES), default="char")
    ap.add_argument("--batch", type=int, default=0, help="default: 32 (char), 1 (124m)")
    ap.add_argument("--steps", type=int, default=0, help="timed steps per rung; default: 10 (char), 1 (124m)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default="", help="the chart (default benchmarks/ladder_SHAPE_DEVICE.png)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    shape = SHAPES[args.shape]
    B = args.batch or (32 if args.shape == "char" else 1)
    n = args.steps or (10 if args.shape == "char" else 1)
    T = shape.block_size
    xy = torch.randint(0, shape.vocab_size, (B, T + 1), generator=torch.Generator().manual_seed(0))
    batch = (xy[:, :-1].contiguous(), xy[:, 1:].contiguous())
    where = torch.cuda.get_device_name() if args.device == "cuda" else cpu_name()
    threads = torch.get_num_threads()
    print(
        f"{args.shape}: batch {B}x{T}, {args.device} ({where}), {threads} threads, torch {torch.__version__}"
    )
    on, rows = {}, []
    for label, turn in RUNGS:
        on = {**on, **turn}
        step = rung_step(shape, on, batch, args.device)
        t0 = time.perf_counter()
        for _ in range(args.warmup):
            step()
        warm = time.perf_counter() - t0
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        tps = B * T / statistics.median(times)
        rows.append((label, tps))
        gain = tps / rows[0][1]
        print(f"{label:<38}{tps:>12,.0f} tokens/s  {gain:5.2f}x  (warm-up {warm:.1f} s)", flush=True)
    out = Path(args.out or f"benchmarks/ladder_{args.shape}_{args.device}.png")
    title = f"GPT {args.shape} training throughput, {args.device}, batch {B}x{T}"
    plots.bars([r[0] for r in rows], [r[1] for r in rows], "tokens/s", title, out)
    print(f"chart: {out}")


if __name__ == "__main__":
    main()
