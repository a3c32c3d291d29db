"""FlashAttention-2: our Triton kernels vs torch's SDPA (its flash backend) vs naive PyTorch attention.

On a GPU: TFLOP/s of the forward and of forward+backward for batch 4, 32 heads, head dim 64 and 128,
sequence 1k-16k, causal and not, in fp16 (`--dtype bf16` too), all three measured in this run; before it is
timed, every shape is checked: our output and dQ, dK, dV against SDPA's. FLOPs are counted as the Triton
tutorial does: 4 B H T^2 D for the forward (two matmuls), half that when causal, and 2.5x the forward for
the backward (five matmuls), so forward+backward is 3.5x. Published reference: the Triton tutorial reports
~166 TFLOP/s forward at 16k (fp16, head dim 64) on a Hopper-class GPU; our goal is >= 0.9x SDPA fwd+bwd.

Without a GPU the script runs the correctness path only: small shapes on the CPU under the Triton
interpreter (fp32), and says plainly that the GPU figures are pending.

    python benchmarks/bench_flash_attention.py [--dtype fp16|bf16] [--seqs 1024,2048,4096,8192,16384]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

GPU = torch.cuda.is_available()
if not GPU:
    os.environ.setdefault("TRITON_INTERPRET", "1")  # read when the kernels are defined, on the import below

from nanozoo.kernels.flash_attention import naive_attention  # noqa: E402
from nanozoo.kernels.flash_attention_triton import flash_attention_triton  # noqa: E402

# |ours - SDPA| <= TOL + TOL * |SDPA|, elementwise, for O, dQ, dK and dV
TOL = {torch.float32: 1e-5, torch.float16: 1e-2, torch.bfloat16: 3e-2}


def ours(q, k, v, causal):
    return flash_attention_triton(q, k, v, causal)


def sdpa(q, k, v, causal):
    backend = SDPBackend.FLASH_ATTENTION if GPU else SDPBackend.MATH  # the CPU has no flash backend
    with sdpa_kernel(backend):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)


def inputs(B, H, T, D, dtype, device):
    g = torch.Generator(device).manual_seed(0)
    q, k, v, do = (torch.randn(B, H, T, D, generator=g, device=device, dtype=dtype) for _ in range(4))
    return q.requires_grad_(), k.requires_grad_(), v.requires_grad_(), do


def check(q, k, v, do, causal) -> tuple[bool, float]:
    """Whether ours equals SDPA (output and gradients) within TOL, and the largest absolute difference."""
    got, want = [], []
    for fn, out in ((ours, got), (sdpa, want)):
        o = fn(q, k, v, causal)
        out += [o.detach(), *torch.autograd.grad(o, (q, k, v), do)]
    tol = TOL[q.dtype]
    ok = all(((a - b).abs() <= tol + tol * b.abs()).all().item() for a, b in zip(got, want, strict=True))
    return ok, max((a.float() - b.float()).abs().max().item() for a, b in zip(got, want, strict=True))


def cpu_correctness() -> bool:
    print("no GPU available (torch.cuda.is_available() is False): the correctness path only, on the CPU")
    print("under the Triton interpreter (TRITON_INTERPRET=1), fp32, tolerance", TOL[torch.float32])
    print(f"{'B,H,T,D':>14} {'causal':>6} {'max |ours-SDPA|':>16} {'ok':>3} {'interp. s':>9}")
    all_ok = True
    for D in (32, 64, 128):
        for T in (100, 256):
            for causal in (False, True):
                t0 = time.perf_counter()
                ok, err = check(*inputs(1, 2, T, D, torch.float32, "cpu"), causal)
                all_ok &= ok
                s = time.perf_counter() - t0
                print(f"{f'1,2,{T},{D}':>14} {causal!s:>6} {err:>16.2e} {'yes' if ok else 'NO':>3} {s:>9.2f}")
    print("GPU figures pending: no GPU was available to this run (TFLOP/s need a CUDA GPU).")
    return all_ok


def tflops(fn, q, k, v, do, causal, backward: bool) -> float:
    import triton.testing

    B, H, T, D = q.shape
    flops = 4 * B * H * T * T * D * (0.5 if causal else 1.0) * (3.5 if backward else 1.0)
    if backward:
        run = lambda: fn(q, k, v, causal).backward(do)
    else:
        run = lambda: fn(q, k, v, causal)
    try:
        ms = triton.testing.do_bench(run, grad_to_none=[q, k, v])
    except torch.cuda.OutOfMemoryError:
        return float("nan")
    finally:
        torch.cuda.empty_cache()
    return flops / ms * 1e-9


def gpu_benchmark(dtype: torch.dtype, seqs: list[int]) -> bool:
    print(f"GPU: {torch.cuda.get_device_name()}; torch {torch.__version__}; {dtype}; B=4, H=32")
    print("TFLOP/s (nan: out of memory); ok = ours equals SDPA within", TOL[dtype])
    head = f"{'D':>4} {'T':>6} {'causal':>6} {'ok':>3} {'max err':>8}"
    for mode in ("fwd", "fwd+bwd"):
        head += f" | {mode + ' ours':>12} {'sdpa':>7} {'naive':>7} {'ours/sdpa':>9}"
    print(head)
    all_ok = True
    for D in (64, 128):
        for causal in (False, True):
            for T in seqs:
                q, k, v, do = inputs(4, 32, T, D, dtype, "cuda")
                ok, err = check(q, k, v, do, causal)
                all_ok &= ok
                line = f"{D:>4} {T:>6} {causal!s:>6} {'yes' if ok else 'NO':>3} {err:>8.1e}"
                for backward in (False, True):
                    a, b, c = (
                        tflops(fn, q, k, v, do, causal, backward) for fn in (ours, sdpa, naive_attention)
                    )
                    line += f" | {a:>12.1f} {b:>7.1f} {c:>7.1f} {a / b:>8.2f}x"
                print(line, flush=True)
                del q, k, v, do
    return all_ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", choices=["fp16", "bf16"], default="fp16")
    ap.add_argument("--seqs", default="1024,2048,4096,8192,16384")
    args = ap.parse_args()
    if GPU:
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
        ok = gpu_benchmark(dtype, [int(s) for s in args.seqs.split(",")])
    else:
        ok = cpu_correctness()
    if not ok:
        print("FAILED: ours differs from SDPA on a shape marked NO")
        sys.exit(1)


if __name__ == "__main__":
    main()
