"""FlashAttention-2 in plain PyTorch: exact attention, one tile of queries against one tile of keys at a time.

Dao 2023, "FlashAttention-2: Faster Attention with Better Parallelism and Work Partitioning" (Algorithms 1
and 2); Dao et al. 2022 for the first version. Attention `O = softmax(Q K^T / sqrt(D)) V` never builds the
`(T, T)` matrix of scores: each block of queries walks over the blocks of keys keeping, per query row, the
running maximum `m` of the scores seen so far and the running sum `l` of their exponentials (the online
softmax, Milakov & Gimelshein 2018). A new block with a larger maximum rescales what came before by
`exp(m_old - m_new)`; at the end `O = acc / l`. Only the log-sum-exp `L = m + log l` of each row is kept for
the backward pass, which recomputes every tile of probabilities as `P = exp(S - L)` instead of storing them.

This file is the reference a learner steps through; it loops in Python and is slow. The same algorithm runs
fast as Triton kernels in `flash_attention_triton.py` (a GPU, or the Triton interpreter on the CPU); tests
compare both against `F.scaled_dot_product_attention`, values and gradients.

Shapes: `q, k, v` are `(B, H, T, D)`; the causal mask is the top-left one (query i sees keys 0..i).
"""

from __future__ import annotations

import math
from typing import Literal

import torch

from nanozoo.core.errors import UserError

Impl = Literal["flash_ref", "flash_triton"]


class KernelUnavailable(UserError, RuntimeError):
    """A kernel asked for cannot run here (no Triton installed, or no GPU and no interpreter)."""


# ---------------------------------------------------------------------------------------------------
# The textbook attention, which materialises the (T, T) scores: what the tiled version must equal


def naive_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False) -> torch.Tensor:
    T, D = q.shape[-2:]
    s = q @ k.transpose(-2, -1) / math.sqrt(D)  # (B, H, T, T)
    if causal:
        s = s.masked_fill(torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    return torch.softmax(s, dim=-1) @ v  # (B, H, T, D)


# ---------------------------------------------------------------------------------------------------
# Forward and backward, one tile at a time


def _masked(s: torch.Tensor, rows: range, cols: range, causal: bool) -> torch.Tensor:
    """The scores of one (rows x cols) tile with the keys after each query set to -inf, when causal."""
    if not causal:
        return s
    i = torch.arange(rows.start, rows.stop, device=s.device)[:, None]
    j = torch.arange(cols.start, cols.stop, device=s.device)[None, :]
    return s.masked_fill(j > i, float("-inf"))


def flash_forward(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool = False,
    block_q: int = 64,
    block_k: int = 64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The output `(B, H, T, D)` and the log-sum-exp of each row's scores `(B, H, T)` (FA-2 Algorithm 1)."""
    T, D = q.shape[-2:]
    scale = 1.0 / math.sqrt(D)
    o = torch.empty_like(q)
    lse = torch.empty(q.shape[:-1], dtype=torch.float32, device=q.device)
    for i0 in range(0, T, block_q):
        rows = range(i0, min(i0 + block_q, T))
        qi = q[..., rows.start : rows.stop, :].float() * scale  # (B, H, bq, D)
        ### BEGIN SOLUTION
        m = torch.full(qi.shape[:-1], float("-inf"), device=q.device)  # running row max (B, H, bq)
        l = torch.zeros_like(m)  # running sum of exp(s - m)
        acc = torch.zeros_like(qi)  # running sum of exp(s - m) v, (B, H, bq, D)
        # causal: the keys after this block's last query are all masked, so the walk stops there
        for j0 in range(0, rows.stop if causal else T, block_k):
            cols = range(j0, min(j0 + block_k, T))
            kj, vj = k[..., j0 : cols.stop, :].float(), v[..., j0 : cols.stop, :].float()
            s = _masked(qi @ kj.transpose(-2, -1), rows, cols, causal)  # (B, H, bq, bk)
            m_new = torch.maximum(m, s.amax(dim=-1))  # finite: key 0 is in the first tile of every row
            alpha = torch.exp(m - m_new)  # rescales what was summed under the old max (0 at the start)
            p = torch.exp(s - m_new[..., None])  # (B, H, bq, bk)
            l = alpha * l + p.sum(dim=-1)
            acc = alpha[..., None] * acc + p @ vj
            m = m_new
        o[..., rows.start : rows.stop, :] = (acc / l[..., None]).to(q.dtype)
        lse[..., rows.start : rows.stop] = m + torch.log(l)  # log sum_j exp(s_j)
        ### END SOLUTION
    return o, lse


def flash_backward(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    o: torch.Tensor,
    lse: torch.Tensor,
    do: torch.Tensor,
    causal: bool = False,
    block_q: int = 64,
    block_k: int = 64,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """dQ, dK, dV from the saved log-sum-exp (FA-2 Algorithm 2): the outer loop over key tiles owns dK and
    dV; every query tile adds its share to dQ."""
    T, D = q.shape[-2:]
    scale = 1.0 / math.sqrt(D)
    dq = torch.zeros_like(q, dtype=torch.float32)
    dk, dv = torch.empty_like(k), torch.empty_like(v)
    # softmax backward: dS = P * (dP - rowsum(dP * P)), and rowsum(dP * P) = rowsum(dO * O)
    delta = (do.float() * o.float()).sum(dim=-1)  # (B, H, T)
    for j0 in range(0, T, block_k):
        cols = range(j0, min(j0 + block_k, T))
        kj, vj = k[..., j0 : cols.stop, :].float(), v[..., j0 : cols.stop, :].float()  # (B, H, bk, D)
        dkj, dvj = torch.zeros_like(kj), torch.zeros_like(vj)
        # causal: the queries before this tile's first key see none of it
        for i0 in range(j0 // block_q * block_q if causal else 0, T, block_q):
            rows = range(i0, min(i0 + block_q, T))
            qi, doi = q[..., i0 : rows.stop, :].float(), do[..., i0 : rows.stop, :].float()
            ### BEGIN SOLUTION
            s = _masked(qi @ kj.transpose(-2, -1) * scale, rows, cols, causal)  # (B, H, bq, bk)
            p = torch.exp(s - lse[..., i0 : rows.stop, None])  # the forward's probabilities, recomputed
            dvj += p.transpose(-2, -1) @ doi  # dV = P^T dO
            dp = doi @ vj.transpose(-2, -1)  # dP = dO V^T, (B, H, bq, bk)
            ds = p * (dp - delta[..., i0 : rows.stop, None])
            dq[..., i0 : rows.stop, :] += ds @ kj * scale  # dQ = dS K / sqrt(D)
            dkj += ds.transpose(-2, -1) @ qi * scale  # dK = dS^T Q / sqrt(D)
            ### END SOLUTION
        dk[..., j0 : cols.stop, :], dv[..., j0 : cols.stop, :] = dkj.to(k.dtype), dvj.to(v.dtype)
    return dq.to(q.dtype), dk, dv


class FlashAttentionRef(torch.autograd.Function):
    """Autograd through the tiled reference: saves `q, k, v, o` and the log-sum-exp, never `P`."""

    @staticmethod
    def forward(ctx, q, k, v, causal: bool):
        o, lse = flash_forward(q, k, v, causal)
        ctx.save_for_backward(q, k, v, o, lse)
        ctx.causal = causal
        return o

    @staticmethod
    def backward(ctx, do):
        q, k, v, o, lse = ctx.saved_tensors
        return *flash_backward(q, k, v, o, lse, do, ctx.causal), None


# ---------------------------------------------------------------------------------------------------
# One entry point for the models


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, impl: Impl) -> torch.Tensor:
    """Exact attention `(B, H, T, D)` by the tiled reference or the Triton kernels, with gradients."""
    check_shapes(q, k, v)
    if impl == "flash_ref":
        return FlashAttentionRef.apply(q, k, v, causal)
    if impl == "flash_triton":
        return check_triton(q.device).flash_attention_triton(q, k, v, causal)
    raise ValueError(f"attention impl={impl!r}; expected 'flash_ref' or 'flash_triton'")


def check_shapes(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
    if not (q.shape == k.shape == v.shape and q.dim() == 4):
        raise ValueError(f"q, k, v must be (B, H, T, D) of one shape; got {q.shape}, {k.shape}, {v.shape}")


def check_triton(device: torch.device | None = None):
    """The module of the Triton kernels, or a KernelUnavailable that says how to let them run on `device`
    (None: on this machine's GPU if it has one, so a model can be refused when it is built)."""
    if device is None:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        import triton  # noqa: F401
    except ImportError:
        raise KernelUnavailable(
            "the Triton attention needs Triton: pip install 'nanozoo[kernels]' (or use attn_impl='sdpa')"
        ) from None
    from nanozoo.kernels import flash_attention_triton

    if device.type != "cuda" and not flash_attention_triton.INTERPRETED:
        raise KernelUnavailable(
            f"the Triton attention runs on a CUDA GPU, not on {device.type}; on the CPU set "
            "TRITON_INTERPRET=1 before nanozoo loads its kernels (the slow interpreter, for tests), "
            "or use attn_impl='sdpa'"
        )
    return flash_attention_triton
