"""What the trainer does to run fast on the machine it finds: the autocast dtype, chosen by measuring it on
the run's own model where the hardware makes it a question; the matmul peak that MFU is counted against;
and glibc's memory thresholds.

Every choice here is a measurement (benchmarks/RESULTS.md, "Training throughput"), not a rule of thumb:
on a Xeon with AMX, bf16 autocast trains nanoGPT's 6x384 shape 2.3x faster than float32 but the 4x128 CPU
recipe 0.9x as fast (the casts cost more than the small matmuls save), so `train.dtype=auto` times both
on the run's model and batch before the first step and keeps the faster.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import logging
import time
from collections.abc import Callable

import torch

log = logging.getLogger(__name__)

DTYPES = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}
# bf16 must win by this much to be chosen: well above the timing's noise on a busy machine (5-10%, more
# under load), and far below the gains worth having (2.3x at 6x384)
BF16_MARGIN = 1.3
# a float32 step shorter than this is not worth a second dtype: bf16's casts outweigh its matmuls at such
# sizes (the 4x128 recipe, ~35 ms at batch 12 on 2 cores: 0.9x), and a run of such steps stays float32,
# every time, whatever the load of the machine
MIN_STEP_S = 0.05


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AMX or AVX512-BF16), as oneDNN reports it."""
    return torch.backends.mkldnn.is_available() and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def autocast_dtype(name: str, device: torch.device, measure: Callable[[torch.dtype], float] | None = None):
    """The autocast dtype for `train.dtype=name` (None: plain float32).

    auto: bf16 on a GPU that has it; on a CPU with native bf16, bf16 if `measure(dtype)` (seconds per
    training step in that dtype) finds it BF16_MARGIN times faster than float32; else float32."""
    if name != "auto":
        return DTYPES[name]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device.type != "cpu" or measure is None or not cpu_has_bf16():
        return None
    fp32 = measure(None)
    if fp32 < MIN_STEP_S:
        return None
    bf16 = measure(torch.bfloat16)
    fp32 = min(fp32, measure(None))  # again, after bf16: a disturbance of the first does not decide
    choice = torch.bfloat16 if fp32 > BF16_MARGIN * bf16 else None
    log.info(
        "train.dtype=auto: a step takes %.1f ms in float32, %.1f ms under bf16 autocast (%.2fx): %s",
        1e3 * fp32,
        1e3 * bf16,
        fp32 / bf16,
        "bfloat16" if choice else "float32",
    )
    return choice


@contextlib.contextmanager
def matmul_precision(name: str):
    """Float32 matmuls at torch's precision `name` inside (train.matmul_precision), the process's own after:
    a run never leaves its setting behind for other code in the process."""
    outer = torch.get_float32_matmul_precision()
    if name == outer:
        yield
        return
    torch.set_float32_matmul_precision(name)
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(outer)


def time_step(step: Callable[[], None], repeats: int = 2) -> float:
    """Seconds of one call of `step` (a forward and backward pass), after one call to warm up; the best of
    `repeats`, the least disturbed by other processes."""
    step()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
    return best


@contextlib.contextmanager
def untouched(model: torch.nn.Module):
    """Run trial steps without leaving a trace: the global RNG (dropout), the buffers (BatchNorm's running
    statistics) and the gradients are as they were."""
    rng = torch.get_rng_state()
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    try:
        yield
    finally:
        torch.set_rng_state(rng)
        with torch.no_grad():
            for k, v in model.named_buffers():
                v.copy_(buffers[k])
        model.zero_grad(set_to_none=True)


def cpu_name() -> str:
    """The CPU's model name, as `lscpu` prints it (every recorded figure names its CPU)."""
    import platform

    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ---------------------------------------------------------------------------------------------------
# MFU: model FLOPs per second over the device's peak

# dense bf16 tensor-core peaks (FLOP/s) of common GPUs, from their data sheets; others are measured
GPU_PEAK_BF16 = {"A100": 312e12, "H100": 989e12, "H200": 989e12, "L4": 121e12, "A10": 125e12, "4090": 165e12}


@functools.cache
def peak_flops(
    device_type: str, dtype: torch.dtype | None, threads: int, precision: str = "highest"
) -> tuple[float, str]:
    """(FLOP/s, where it comes from) that MFU divides by. A GPU in GPU_PEAK_BF16: its data sheet. Otherwise
    (every CPU: no data sheet says what its vector units reach under this torch) the best of a few
    1024^3 matmuls in the training dtype and matmul precision, measured now: MFU against what this device
    really multiplies."""
    if device_type == "cuda":
        name = torch.cuda.get_device_name()
        for key, flops in GPU_PEAK_BF16.items():
            if key in name and dtype in (torch.bfloat16, torch.float16):
                return flops, f"{name} data sheet"
    n = 1024
    a = torch.full((n, n), 0.5, device=device_type, dtype=dtype or torch.float32)  # the global RNG untouched

    def matmul():
        a @ a
        if device_type == "cuda":
            torch.cuda.synchronize()

    with matmul_precision(precision):
        seconds = time_step(matmul, repeats=3)
    return 2 * n**3 / seconds, f"measured {n}^3 matmul, {threads} threads, precision {precision}"


# ---------------------------------------------------------------------------------------------------
# Memory

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


@functools.cache
def keep_freed_memory() -> bool:
    """Ask glibc to keep freed blocks instead of returning them to the OS.

    NOTE: by default glibc serves blocks over its mmap threshold with fresh pages and trims the heap top
    once 128 KB of it is free; either way each training step's activations (1.5 MB each at the CPU recipe's
    batch) then fault in zeroed pages again, step after step (measured: a 768 x 512 copy 0.54 -> 0.23 ms
    with the thresholds raised). Memory is kept at its peak instead, as every caching allocator does.
    Linux/glibc only; elsewhere a no-op. Returns whether it applied."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        ok = libc.mallopt(M_MMAP_THRESHOLD, 32 << 20) and libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
    except (OSError, AttributeError, TypeError):  # no libc by that name, or one without mallopt (musl, macOS)
        return False
    return bool(ok)


# ---------------------------------------------------------------------------------------------------
# torch.compile


def compile_unsupported(device: torch.device) -> str | None:
    """Why torch.compile cannot run here, or None: TorchDynamo's platform check, and on a CPU the C++
    compiler that Inductor writes its kernels for."""
    import torch._dynamo

    if not torch._dynamo.is_dynamo_supported():
        return f"torch.compile does not support this platform or Python (torch {torch.__version__})"
    if device.type == "cpu":
        import shutil

        from torch._inductor import cpp_builder

        try:
            cxx = cpp_builder.get_cpp_compiler()
        except (RuntimeError, OSError) as e:
            return f"Inductor found no C++ compiler ({e})"
        if shutil.which(cxx) is None:
            return f"Inductor's C++ compiler {cxx!r} is not installed"
    if device.type == "mps":
        return "Inductor does not train on Apple's MPS with this torch"
    return None
