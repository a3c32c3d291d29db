"""FlashAttention-2 as Triton kernels: the algorithm of `flash_attention.py`, one program per tile.

The structure of the Triton tutorial `06-fused-attention.py` and of Dao 2023: the forward runs one program
per (query tile, batch x head) that walks the key tiles with the online softmax and writes `O` and the
log-sum-exp; the backward runs two kernels, one program per key tile accumulating dK and dV over the query
tiles, and one per query tile accumulating dQ over the key tiles (so no program adds into another's
output and no atomics are needed; the tutorial does the same). `delta = rowsum(dO * O)` is one PyTorch op.

Differences from the tutorial: plain pointer arithmetic instead of block pointers or tensor descriptors,
one masked loop instead of separate diagonal / off-diagonal stages, no autotuning and no fp8; sequence
lengths need not be a multiple of the tile (loads and stores are masked). Exponentials are base 2
(`exp(x) = exp2(x log2 e)`, the scale folded into the scores), as in the tutorial.

On a GPU the inputs are fp16 or bf16 (the products accumulate in fp32); on the CPU the kernels run under the
Triton interpreter (`TRITON_INTERPRET=1`, read when this module is imported) in fp32, which is how the tests
check them against `F.scaled_dot_product_attention` (and fp16 against it too; bf16 cannot be checked there:
the interpreter's bf16 `tl.dot` is wrong in triton 3.9.0). Head dims are powers of two from 16 to 128.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import triton
import triton.language as tl

from nanozoo.kernels.flash_attention import check_shapes

INTERPRETED = triton.knobs.runtime.interpret  # TRITON_INTERPRET=1 when the kernels below were defined
LOG2E: tl.constexpr = tl.constexpr(1.4426950408889634)  # exp(x) = exp2(x * LOG2E)


@triton.jit
def _tile(base, offs_t, offs_d, T, D: tl.constexpr):
    """The pointers and the in-bounds mask of rows `offs_t` of one contiguous (T, D) matrix."""
    return base + offs_t[:, None] * D + offs_d[None, :], offs_t[:, None] < T


@triton.jit
def _load2(A, B, base, offs_t, offs_d, T, D: tl.constexpr):
    """Rows `offs_t` of two (T, D) matrices of one head, zeros past T."""
    a_ptrs, inside = _tile(A + base, offs_t, offs_d, T, D)
    b_ptrs, _ = _tile(B + base, offs_t, offs_d, T, D)
    return tl.load(a_ptrs, mask=inside, other=0.0), tl.load(b_ptrs, mask=inside, other=0.0)


@triton.jit
def _store(X, x, base, offs_t, offs_d, T, D: tl.constexpr):
    ptrs, inside = _tile(X + base, offs_t, offs_d, T, D)
    tl.store(ptrs, x.to(X.dtype.element_ty), mask=inside)


@triton.jit
def _keep(offs_q, offs_k, T, CAUSAL: tl.constexpr):
    """Which scores of a (query tile, key tile) count: keys before T, and not after the query if causal.
    Subtle: query rows past T are not masked; their q and dO are loaded as zeros, so they add nothing."""
    keep = offs_k[None, :] < T
    if CAUSAL:
        keep = keep & (offs_k[None, :] <= offs_q[:, None])
    return keep


@triton.jit
def _fwd(
    Q, K, V, O, LSE, T, qk_scale, CAUSAL: tl.constexpr, D: tl.constexpr, BQ: tl.constexpr, BK: tl.constexpr
):
    start_q, bh = tl.program_id(0) * BQ, tl.program_id(1)  # this program: one query tile of one head
    base = bh.to(tl.int64) * T * D
    offs_q, offs_d = start_q + tl.arange(0, BQ), tl.arange(0, D)
    q_ptrs, q_in = _tile(Q + base, offs_q, offs_d, T, D)
    q = tl.load(q_ptrs, mask=q_in, other=0.0)  # (BQ, D)
    m = tl.full([BQ], float("-inf"), tl.float32)  # running max of the base-2 scores
    l = tl.zeros([BQ], tl.float32)  # running sum of exp2(s - m)
    acc = tl.zeros([BQ, D], tl.float32)  # running sum of exp2(s - m) v
    hi = tl.minimum(start_q + BQ, T) if CAUSAL else T  # causal: no key after the tile's last query
    for start_k in range(0, hi, BK):
        offs_k = start_k + tl.arange(0, BK)
        k, v = _load2(K, V, base, offs_k, offs_d, T, D)  # (BK, D) each
        s = tl.dot(q, tl.trans(k)) * qk_scale  # (BQ, BK), log2(e) / sqrt(D) folded in
        s = tl.where(_keep(offs_q, offs_k, T, CAUSAL), s, float("-inf"))
        m_new = tl.maximum(m, tl.max(s, 1))  # finite: key 0 is in the first tile of every row
        alpha = tl.exp2(m - m_new)  # rescales what was summed under the old max
        p = tl.exp2(s - m_new[:, None])  # (BQ, BK)
        l = l * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m = m_new
    _store(O, acc / l[:, None], base, offs_q, offs_d, T, D)
    # the natural log-sum-exp, as the reference saves it: ln(sum exp(s)) = (m + log2 l) ln 2
    tl.store(LSE + bh.to(tl.int64) * T + offs_q, (m + tl.log2(l)) / LOG2E, mask=offs_q < T)


@triton.jit
def _rows(Q, DO, LSE, DELTA, bh, base, offs_q, offs_d, T, D: tl.constexpr):
    """What the backward needs of query rows `offs_q`: q, dO, the base-2 log-sum-exp and delta."""
    q, do = _load2(Q, DO, base, offs_q, offs_d, T, D)  # (BQ, D) each
    lse2 = tl.load(LSE + bh.to(tl.int64) * T + offs_q, mask=offs_q < T, other=0.0) * LOG2E
    delta = tl.load(DELTA + bh.to(tl.int64) * T + offs_q, mask=offs_q < T, other=0.0)
    return q, do, lse2, delta


@triton.jit
def _probs(q, k, lse2, offs_q, offs_k, T, qk_scale, CAUSAL: tl.constexpr):
    """The forward's probabilities of one (query tile, key tile), recomputed from the log-sum-exp."""
    p = tl.exp2(tl.dot(q, tl.trans(k)) * qk_scale - lse2[:, None])  # (BQ, BK)
    return tl.where(_keep(offs_q, offs_k, T, CAUSAL), p, 0.0)


@triton.jit
def _bwd_dkdv(
    Q, K, V, DO, LSE, DELTA, DK, DV, T, qk_scale, sm_scale,
    CAUSAL: tl.constexpr, D: tl.constexpr, BQ: tl.constexpr, BK: tl.constexpr,
):  # fmt: skip
    start_k, bh = tl.program_id(0) * BK, tl.program_id(1)  # this program: one key tile of one head
    base = bh.to(tl.int64) * T * D
    offs_k, offs_d = start_k + tl.arange(0, BK), tl.arange(0, D)
    k, v = _load2(K, V, base, offs_k, offs_d, T, D)  # (BK, D) each
    dk = tl.zeros([BK, D], tl.float32)
    dv = tl.zeros([BK, D], tl.float32)
    lo = (start_k // BQ) * BQ if CAUSAL else 0  # causal: the queries before this tile see none of it
    for start_q in range(lo, T, BQ):
        offs_q = start_q + tl.arange(0, BQ)
        q, do, lse2, delta = _rows(Q, DO, LSE, DELTA, bh, base, offs_q, offs_d, T, D)
        p = _probs(q, k, lse2, offs_q, offs_k, T, qk_scale, CAUSAL)  # (BQ, BK)
        dv += tl.dot(tl.trans(p).to(do.dtype), do)  # dV = P^T dO
        dp = tl.dot(do, tl.trans(v))  # dP = dO V^T, (BQ, BK)
        ds = p * (dp - delta[:, None])  # dS = P * (dP - rowsum(dO * O))
        dk += tl.dot(tl.trans(ds).to(q.dtype), q)  # dK = dS^T Q (the 1/sqrt(D) below)
    _store(DK, dk * sm_scale, base, offs_k, offs_d, T, D)
    _store(DV, dv, base, offs_k, offs_d, T, D)


@triton.jit
def _bwd_dq(
    Q, K, V, DO, LSE, DELTA, DQ, T, qk_scale, sm_scale,
    CAUSAL: tl.constexpr, D: tl.constexpr, BQ: tl.constexpr, BK: tl.constexpr,
):  # fmt: skip
    start_q, bh = tl.program_id(0) * BQ, tl.program_id(1)  # this program: one query tile of one head
    base = bh.to(tl.int64) * T * D
    offs_q, offs_d = start_q + tl.arange(0, BQ), tl.arange(0, D)
    q, do, lse2, delta = _rows(Q, DO, LSE, DELTA, bh, base, offs_q, offs_d, T, D)
    dq = tl.zeros([BQ, D], tl.float32)
    hi = tl.minimum(start_q + BQ, T) if CAUSAL else T
    for start_k in range(0, hi, BK):
        offs_k = start_k + tl.arange(0, BK)
        k, v = _load2(K, V, base, offs_k, offs_d, T, D)  # (BK, D) each
        p = _probs(q, k, lse2, offs_q, offs_k, T, qk_scale, CAUSAL)  # (BQ, BK)
        ds = p * (tl.dot(do, tl.trans(v)) - delta[:, None])  # dS = P * (dO V^T - delta)
        dq += tl.dot(ds.to(k.dtype), k)  # dQ = dS K (the 1/sqrt(D) below)
    _store(DQ, dq * sm_scale, base, offs_q, offs_d, T, D)


# ---------------------------------------------------------------------------------------------------
# Launching the kernels, and autograd


@dataclass(frozen=True)
class Tiles:
    """Tile sizes and launch settings. NOTE: the defaults are taken from the tutorial's configs, not tuned
    here (no GPU has run them yet); the tests pass big tiles so that the interpreter runs few programs."""

    fwd_q: int = 128
    fwd_k: int = 64
    bwd_q: int = 64
    bwd_k: int = 64
    fwd_warps: int = 8
    bwd_warps: int = 4
    num_stages: int = 3


def _check(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
    check_shapes(q, k, v)
    D = q.shape[-1]
    if D not in (16, 32, 64, 128):
        raise ValueError(f"head dim D={D}: the Triton attention supports 16, 32, 64, 128")
    if q.is_cuda and q.dtype not in (torch.float16, torch.bfloat16):
        raise TypeError(
            f"the Triton attention on a GPU takes float16 or bfloat16, not {q.dtype}: "
            "train under autocast (train.dtype=bfloat16) or use attn_impl='sdpa'"
        )


class FlashAttentionTriton(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, causal: bool, tiles: Tiles):
        _check(q, k, v)
        q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
        B, H, T, D = q.shape
        o = torch.empty_like(q)
        lse = torch.empty((B, H, T), dtype=torch.float32, device=q.device)
        qk_scale = LOG2E.value / math.sqrt(D)
        grid = (triton.cdiv(T, tiles.fwd_q), B * H)
        launch = dict(num_warps=tiles.fwd_warps, num_stages=tiles.num_stages)
        _fwd[grid](q, k, v, o, lse, T, qk_scale, causal, D, tiles.fwd_q, tiles.fwd_k, **launch)
        ctx.save_for_backward(q, k, v, o, lse)
        ctx.causal, ctx.tiles = causal, tiles
        return o

    @staticmethod
    def backward(ctx, do):
        q, k, v, o, lse = ctx.saved_tensors
        causal, tiles = ctx.causal, ctx.tiles
        B, H, T, D = q.shape
        do = do.contiguous()
        delta = (do.float() * o.float()).sum(dim=-1)  # rowsum(dO * O), (B, H, T)
        dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
        sm_scale = 1.0 / math.sqrt(D)
        inputs = (q, k, v, do, lse, delta)
        rest = (T, sm_scale * LOG2E.value, sm_scale, causal, D, tiles.bwd_q, tiles.bwd_k)
        launch = dict(num_warps=tiles.bwd_warps, num_stages=tiles.num_stages)
        _bwd_dkdv[(triton.cdiv(T, tiles.bwd_k), B * H)](*inputs, dk, dv, *rest, **launch)
        _bwd_dq[(triton.cdiv(T, tiles.bwd_q), B * H)](*inputs, dq, *rest, **launch)
        return dq, dk, dv, None, None


def flash_attention_triton(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False, tiles: Tiles | None = None
) -> torch.Tensor:
    """Exact attention `(B, H, T, D)` by the Triton kernels, differentiable in q, k and v."""
    return FlashAttentionTriton.apply(q, k, v, causal, tiles or Tiles())
