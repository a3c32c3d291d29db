"""Greedy generation speed of our Llama vs HF transformers vs llama2.c's run.c, same weights, same run.

Shape: llama2.c's 15M model (dim 288, 6 layers, 6 heads, vocab 32000, context 256), random weights; one
BOS token as the prompt, 200 new tokens, batch 1, CPU. Ours decodes with its KV cache and its Linear
weights column-major (`sampling.decoding`: each call converts them and back, and that time is in its
figure); also with int8 dynamic quantization of the linear layers, and with `--compile` torch.compile.
HF is LlamaForCausalLM loaded from our save_pretrained folder (`generate`, do_sample=False, 200 tokens
forced). run.c is compiled with `gcc -O3 -march=native -fopenmp` and run on our llama2.c export with the
real Llama 2 tokenizer.bin; its own "achieved tok/s" line is what it reports (it starts its clock after
the first token). Rounds alternate between the contenders so other load falls on all alike; the median
round is printed.

    python benchmarks/bench_llama_generate.py [--rounds 3] [--tokens 200] [--threads 2] [--compile]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import torch

from nanozoo import data
from nanozoo.models import llama2c
from nanozoo.models.llama import Llama, LlamaConfig, quantize_int8

RUN_C = Path(os.environ.get("NANOZOO_DATA", "../shared/datasets")).parent / "peers" / "llama2c" / "run.c"


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--compile", action="store_true", help="also time ours under torch.compile")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n = args.tokens
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=32000, block_size=256, n_layer=6, n_head=6, n_embd=288)
    ours = Llama(cfg).eval()
    prompt = torch.tensor([[1]])
    work = Path(tempfile.mkdtemp(prefix="bench-llama-"))

    import transformers

    ours.save_pretrained(work / "hf")
    hf = transformers.LlamaForCausalLM.from_pretrained(work / "hf", attn_implementation="sdpa").eval()
    int8 = quantize_int8(ours)  # a copy
    greedy = dict(
        do_sample=False,
        max_new_tokens=n,
        min_new_tokens=n,
        pad_token_id=0,
        attention_mask=torch.ones_like(prompt),
    )
    contenders = {
        "nanozoo Llama (KV cache)": lambda: ours.generate(prompt, n, temperature=0),
        "nanozoo Llama, int8 dynamic": lambda: int8.generate(prompt, n, temperature=0),
        "HF LlamaForCausalLM.generate": lambda: hf.generate(prompt, **greedy),
    }
    if args.compile:
        compiled = Llama(cfg).eval()
        compiled.load_state_dict(ours.state_dict())
        compiled.forward = torch.compile(compiled.forward, dynamic=True)
        contenders["nanozoo Llama, torch.compile"] = lambda: compiled.generate(prompt, n, temperature=0)
    same = torch.equal(ours.generate(prompt, n, temperature=0), hf.generate(prompt, **greedy))
    print(f"greedy tokens identical, ours vs HF: {same}")

    run_c = None
    if shutil.which("gcc") and RUN_C.is_file() and data.find("llama2_tokenizer", "tokenizer.bin"):
        run_c = work / "run"
        gcc = ["gcc", "-O3", "-march=native", "-fopenmp", "-o", str(run_c), str(RUN_C), "-lm"]
        subprocess.run(gcc, check=True)
        llama2c.export(ours, work / "model.bin")
        tok = data.find("llama2_tokenizer", "tokenizer.bin")
        cmd = [str(run_c), str(work / "model.bin"), "-z", str(tok), "-t", "0", "-n", str(n)]
        env = os.environ | {"OMP_NUM_THREADS": str(args.threads)}

        def run_c_rate() -> float:
            err = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stderr
            return float(re.search(r"achieved tok/s: ([\d.]+)", err).group(1))
    else:
        print("run.c: skipped (needs gcc, ../shared/peers/llama2c/run.c and the llama2_tokenizer data)")

    for fn in contenders.values():  # warm up
        fn()
    rates: dict[str, list[float]] = {k: [] for k in contenders} | ({"llama2.c run.c": []} if run_c else {})
    for _ in range(args.rounds):
        for name, fn in contenders.items():
            rates[name].append(n / timed(fn))
        if run_c:
            rates["llama2.c run.c"].append(run_c_rate())
    med = {k: statistics.median(v) for k, v in rates.items()}
    hf_rate = med["HF LlamaForCausalLM.generate"]
    load = os.getloadavg()[0]
    print(f"\n15M shape, {n} new tokens, batch 1, {args.threads} threads, median of {args.rounds} rounds")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, load average {load:.1f}")
    print(f"{'':34s} {'tokens/s':>9s} {'vs HF':>7s} {'vs run.c':>9s}")
    for k, v in med.items():
        vs_c = f"{v / med['llama2.c run.c']:8.2f}x" if run_c else "       -"
        print(f"{k:34s} {v:9.1f} {v / hf_rate:6.2f}x {vs_c}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
