"""Generation throughput: our GPT with its KV cache, without it, and HF transformers' `generate`.

Shape: the char-level Shakespeare GPT (6 layers, 6 heads, 384 wide, context 256, vocab 65: 10.8M
parameters). HF's model gets our weights through `save_pretrained`, so all three decode the same greedy
tokens (checked and printed). A fourth row is ours with the weights (and so the KV cache) in bf16, an
opt-in (`model.to(torch.bfloat16)`) whose greedy tokens need not be float32's: the last column says
whether they were. Each round generates 200 new tokens after a 16-token prompt, at batch 1 and batch 8; the
contenders alternate within a round so that load from other processes falls on all alike, and the median
round is reported. HF's attention implementation is pinned (`--hf-attn`) and printed.

`--profile` adds where the time of one generation goes (torch.profiler, per new token): matrix
multiplies, attention, the other operators, and what is left of the wall time (Python and dispatch).

    python benchmarks/bench_generate.py [--rounds 3] [--new 200] [--threads 0] [--hf-attn sdpa] [--profile]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time

import torch
import transformers

from nanozoo.models.gpt import GPT, GPTConfig


def make_models(cfg: GPTConfig, hf_attn: str):
    torch.manual_seed(0)
    ours = GPT(cfg).eval()
    with tempfile.TemporaryDirectory() as d:
        ours.save_pretrained(d)
        theirs = transformers.GPT2LMHeadModel.from_pretrained(d, attn_implementation=hf_attn).eval()
    if theirs.config._attn_implementation != hf_attn:
        raise RuntimeError(f"HF chose attention {theirs.config._attn_implementation!r}, asked {hf_attn!r}")
    return ours, theirs


def generators(ours: GPT, theirs, new: int):
    def hf(x):
        out = theirs.generate(  # an explicit mask: HF would take every token 0 of a prompt for padding
            x, attention_mask=torch.ones_like(x), max_new_tokens=new, min_new_tokens=new, do_sample=False,
            pad_token_id=0, eos_token_id=None,
        )  # fmt: skip
        return out[:, x.size(1) :]

    bf16 = copy.deepcopy(ours).to(torch.bfloat16)  # opt-in: its tokens may differ (the column says)
    return {
        "nanozoo, KV cache": lambda x: ours.generate(x, new, temperature=0)[:, x.size(1) :],
        "nanozoo, no cache": lambda x: ours.generate(x, new, temperature=0, use_cache=False)[:, x.size(1) :],
        "nanozoo, cache, bf16": lambda x: bf16.generate(x, new, temperature=0)[:, x.size(1) :],
        "HF generate": hf,
    }


# operator name fragments -> the group a profile reports them in, first match wins
GROUPS = {
    "matmul": ("addmm", "aten::mm", "linear", "matmul", "bmm"),
    "attention": ("scaled_dot_product",),
    "norm, activation": ("layer_norm", "gelu", "tanh", "pow", "mul"),
    "cache, copies": ("copy_", "cat", "index", "select", "slice", "narrow"),
}


def breakdown(generate, x) -> dict[str, float]:
    """Milliseconds per step of one `generate(x)` by operator group (self CPU time, as the profiler sees
    it), and the rest of the wall time: Python and dispatch between the operators."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        steps = generate(x).size(1)
        wall = time.perf_counter() - t0
    out = dict.fromkeys([*GROUPS, "other operators"], 0.0)
    for e in prof.key_averages():
        group = next((g for g, names in GROUPS.items() if any(n in e.key for n in names)), "other operators")
        out[group] += e.self_cpu_time_total / 1e3  # us -> ms
    out["Python, dispatch"] = wall * 1e3 - sum(out.values())
    return {k: v / steps for k, v in out.items()}


@torch.no_grad()
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--new", type=int, default=200)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--hf-attn", choices=["sdpa", "eager"], default="sdpa")
    ap.add_argument("--profile", action="store_true", help="also where one generation's time goes")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = GPTConfig(vocab_size=65, block_size=256, n_layer=6, n_head=6, n_embd=384, dropout=0.0)
    ours, theirs = make_models(cfg, args.hf_attn)
    gens = generators(ours, theirs, args.new)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {cfg.n_layer}x{cfg.n_embd} context "
        f"{cfg.block_size} ({ours.num_params(non_embedding=False) / 1e6:.1f}M), {args.new} new tokens, "
        f"median of {args.rounds} rounds; HF transformers {transformers.__version__}, "
        f"attn_implementation={theirs.config._attn_implementation!r}"
    )
    print(f"{'batch':>5}  {'generate':<20}{'tokens/s':>10}{'s/round':>9}  same tokens")
    for B in (1, 8):
        x = torch.randint(0, cfg.vocab_size, (B, 16), generator=torch.Generator().manual_seed(B))
        for gen in generators(ours, theirs, 5).values():  # warm up (allocator, kernels) on 5 tokens
            gen(x)
        times: dict[str, list[float]] = {k: [] for k in gens}
        outputs: dict[str, torch.Tensor] = {}
        for _ in range(args.rounds):
            for name, gen in gens.items():
                t0 = time.perf_counter()
                outputs[name] = gen(x)
                times[name].append(time.perf_counter() - t0)
        tps = {k: B * args.new / statistics.median(v) for k, v in times.items()}
        for k, v in tps.items():
            same = torch.equal(outputs[k], outputs["HF generate"])
            print(f"{B:>5}  {k:<20}{v:>10,.0f}{B * args.new / v:>9.2f}  {same}")
        print(
            f"{B:>5}  ratio cached / HF: {tps['nanozoo, KV cache'] / tps['HF generate']:.2f}x, "
            f"cached / no cache: {tps['nanozoo, KV cache'] / tps['nanozoo, no cache']:.2f}x, "
            f"bf16 cached / HF: {tps['nanozoo, cache, bf16'] / tps['HF generate']:.2f}x"
        )
        if args.profile:
            for name in ("nanozoo, KV cache", "HF generate"):
                parts = breakdown(gens[name], x)
                print(f"{B:>5}  {name}, ms per step: {sum(parts.values()):.2f} = ", end="")
                print(" + ".join(f"{v:.2f} {k}" for k, v in parts.items()))


if __name__ == "__main__":
    main()
