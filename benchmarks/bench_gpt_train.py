"""Training throughput of our GPT, through our own trainer, vs HF transformers' GPT2LMHeadModel.

Shape: the CPU recipe (shakespeare-char-cpu: 4 layers, 4 heads, 128 wide, context 64, vocab 65), at batch
12 (nanoGPT's recipe) and 32 (ours). Contenders, each taking full training steps on the same batches of Tiny
Shakespeare (real text, so that gradients and clipping behave as in training; NANOZOO_DATA):

- "nanozoo, the recipe": `Trainer.train_step` on shakespeare-char-cpu's model config with our trainer's
  optimizer (fused AdamW) and clipping: what `nanozoo train` runs.
- "nanozoo, GPT-2's function": the same trainer on GPT-2's config (biases, tanh GELU): the function HF
  computes, logits equal to 1e-5 (tests/models/test_gpt.py).
- "HF GPT2LMHeadModel": HF's model (its attention implementation pinned and printed) with torch's fused
  AdamW, what HF's Trainer uses by default (`adamw_torch_fused` on torch >= 2.8), and the same clipping.
- "HF GPT2LMHeadModel, eager, <precision> matmuls": the same at the recipe's train.matmul_precision, when
  that is not float32 math ("medium": bf16 inside the matmuls), with eager attention (HF's SDPA path runs
  torch's fused CPU kernel, 3-8x slower under bf16 math): HF given the recipe's speed setting at its best.
  "vs best HF" divides by the faster HF.

Rounds alternate between the contenders so that load from other processes falls on all alike; the median
round is reported. The trainer sets glibc's memory thresholds for the whole process (core/speed.py), so HF
runs with them too.

    python benchmarks/bench_gpt_train.py [--batch 12 32] [--rounds 7] [--steps 20] [--threads 2]
    python benchmarks/bench_gpt_train.py --profile [--batch 12]   # where each step spends its time
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time

import torch
import transformers

from nanozoo.core.config import TrainConfig
from nanozoo.core.speed import cpu_name, matmul_precision
from nanozoo.core.task import Task
from nanozoo.core.trainer import Trainer
from nanozoo.data.text import random_windows
from nanozoo.experiments.shakespeare import cpu, text_corpus
from nanozoo.models.gpt import GPT, GPTConfig


def hf_model(cfg: GPTConfig, attn: str) -> transformers.GPT2LMHeadModel:
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
        attn_implementation=attn,
    )
    model = transformers.GPT2LMHeadModel(hf_cfg)
    if model.config._attn_implementation != attn:
        raise RuntimeError(f"HF chose attention {model.config._attn_implementation!r}, asked {attn!r}")
    return model


def ours_step(cfg: GPTConfig, train: TrainConfig, batches: list, run_dir: str):
    """Our trainer's own step (optimizer, clipping, schedule) on a task that hands out `batches` in turn."""
    torch.manual_seed(0)
    turn = itertools.cycle(batches)
    task = Task(model=GPT(cfg), get_batch=lambda split, B, gen: next(turn))
    trainer = Trainer(task, train, run_dir)
    return trainer.train_step


def hf_step(model, batches: list, train: TrainConfig, precision: str = "highest"):
    opt = torch.optim.AdamW(model.parameters(), lr=train.lr, betas=(train.beta1, train.beta2), fused=True)
    turn = itertools.cycle(batches)

    def step():
        x, _ = next(turn)
        with matmul_precision(precision):
            loss = model(input_ids=x, labels=x).loss  # HF shifts the labels inside
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip)
            opt.step()
            opt.zero_grad(set_to_none=True)

    return step


def describe(cfg: GPTConfig, train: TrainConfig) -> str:
    return f"{'biases' if cfg.bias else 'no bias'}, {cfg.activation}, {train.matmul_precision}"


def measure(steps: dict, n: int, rounds: int) -> dict[str, float]:
    """Median seconds per step of each contender, rounds alternating."""
    for step in steps.values():  # warm up: allocator, kernels
        for _ in range(3):
            step()
    times: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            t0 = time.perf_counter()
            for _ in range(n):
                step()
            times[name].append((time.perf_counter() - t0) / n)
    return {k: statistics.median(v) for k, v in times.items()}


# torch.profiler's operator names by what they do; the rest is "other" (views, autograd bookkeeping, ...)
KINDS = {
    "matmul": ("aten::mm", "aten::addmm", "aten::bmm"),
    "attention": ("aten::_scaled_dot_product",),
    "GELU": ("aten::gelu",),
    "elementwise": ("aten::mul", "aten::add", "aten::pow", "aten::tanh", "aten::div", "aten::sub"),
    "LayerNorm": ("aten::native_layer_norm",),
    "optimizer": ("aten::_fused_adamw", "aten::_foreach", "Optimizer.step", "aten::lerp", "aten::addcdiv"),
    "copies, fills": ("aten::copy_", "aten::_to_copy", "aten::clone", "aten::fill_", "aten::zero_"),
    "loss": ("aten::_log_softmax", "aten::nll_loss", "aten::cross_entropy"),
}


def profile(steps: dict, n: int = 10) -> None:
    """Each contender's milliseconds per step by kind of operator (self time), from torch.profiler."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as profiler

    print(f"{'ms per step (self time)':<24}" + "".join(f"{k[:22]:>24}" for k in steps))
    table: dict[str, list[float]] = {}
    for col, step in enumerate(steps.values()):
        for _ in range(3):
            step()
        with profiler(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(n):
                step()
        for e in prof.key_averages():
            kind = next((k for k, names in KINDS.items() if e.key.startswith(names)), "other")
            table.setdefault(kind, [0.0] * len(steps))[col] += e.self_cpu_time_total / n / 1e3
    for kind in [*KINDS, "other"]:
        print(f"{kind:<24}" + "".join(f"{v:>24.2f}" for v in table.get(kind, [0.0] * len(steps))))
    print(f"{'total':<24}" + "".join(f"{sum(c):>24.2f}" for c in zip(*table.values(), strict=True)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, nargs="+", default=[12, 32])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--hf-attn", choices=["sdpa", "eager"], default="sdpa")
    ap.add_argument("--profile", action="store_true", help="where the time goes, instead of tokens/s")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    recipe = cpu()
    tok, splits = text_corpus(recipe.data, None)
    recipe.model.vocab_size = len(tok)
    gpt2 = GPTConfig(**{**vars(recipe.model), "bias": True, "activation": "gelu_new"})
    train = TrainConfig(**{**vars(recipe.train), "dtype": "float32", "warmup_iters": 0, "progress": False})
    T = recipe.model.block_size
    print(
        f"{cpu_name()}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"transformers {transformers.__version__}, "
        f"attn_implementation={args.hf_attn!r}; {recipe.model.n_layer}x{recipe.model.n_embd}, context {T}; "
        f"median of {args.rounds} rounds of {args.steps} steps"
    )
    for B in args.batch:
        g = torch.Generator().manual_seed(0)
        batches = [random_windows(splits["train"], B, T, g) for _ in range(64)]
        with tempfile.TemporaryDirectory() as tmp:
            steps = {
                f"nanozoo, the recipe ({describe(recipe.model, train)})": ours_step(
                    recipe.model, train, batches, f"{tmp}/a"
                ),
                "nanozoo, GPT-2's function": ours_step(gpt2, train, batches, f"{tmp}/b"),
                "HF GPT2LMHeadModel": hf_step(hf_model(gpt2, args.hf_attn).train(), batches, train),
            }
            if train.matmul_precision != "highest":
                steps[f"HF GPT2LMHeadModel, eager, {train.matmul_precision} matmuls"] = hf_step(
                    hf_model(gpt2, "eager").train(), batches, train, train.matmul_precision
                )
            if args.profile:
                print(f"\nbatch {B}x{T}")
                profile(steps)
                continue
            seconds = measure(steps, args.steps, args.rounds)
        hf = seconds["HF GPT2LMHeadModel"]
        best = min(s for name, s in seconds.items() if name.startswith("HF"))
        print(
            f"\nbatch {B}x{T}\n{'contender':<50}{'tokens/s':>10}{'ms/step':>10}{'vs HF':>8}{'vs best HF':>12}"
        )
        for name, s in seconds.items():
            print(f"{name:<50}{B * T / s:>10,.0f}{1e3 * s:>10.2f}{hf / s:>7.2f}x{best / s:>11.2f}x")


if __name__ == "__main__":
    main()
