"""Positional encodings: how a transformer, whose attention is blind to order, learns where a token sits.

Shared by the models that need them (GPT's `pos_encoding`, the seq2seq transformer, Llama's RoPE). Each one
is a pure function of positions, so a KV cache or a left-padded batch passes the positions it has:

- `sinusoidal(T, D)`: Vaswani et al. 2017, section 3.5, added to the token embeddings.
  `PE[t, 2i] = sin(t / base^(2i/D))`, `PE[t, 2i+1] = cos(t / base^(2i/D))`.
- `rope(x, pos)`: Su et al. 2021, "RoFormer". Rotates each pair of query/key channels by an angle
  proportional to the position, so `<rope(q, m), rope(k, n)>` depends on `m - n` only. Channels are paired
  as the two halves of the head (`x[..., i]` with `x[..., i + D/2]`), HF Llama's `rotate_half` layout,
  so that Llama checkpoints load without permuting their weights.
- `alibi_bias(slopes, pos_q, pos_k)`: Press et al. 2022, "Train Short, Test Long". No embedding at all:
  head h adds `-slope_h * (i - j)` to the score of query i for key j, a penalty linear in the distance.
- Learned absolute positions (GPT-2) are an `nn.Embedding` in the model; no positions at all (NoPE,
  Kazemnejad et al. 2023) works too, since the causal mask lets a decoder count.
"""

from __future__ import annotations

import math

import torch

# ---------------------------------------------------------------------------------------------------
# Sinusoidal (added to the input)


def sinusoidal(T: int, D: int, base: float = 10000.0) -> torch.Tensor:
    """The `(T, D)` table of Vaswani et al.: even channels `sin(t * w_i)`, odd ones `cos(t * w_i)`, with
    frequencies `w_i = base^(-2i/D)` falling geometrically from 1 to about 1/base."""
    return sinusoidal_at(torch.arange(T), D, base)


def sinusoidal_at(pos: torch.Tensor, D: int, base: float = 10000.0) -> torch.Tensor:
    """The rows of `sinusoidal` at positions `pos` (T,) or (B, T): `(*pos.shape, D)`, computed directly
    (a decoding step or a left-padded row needs a few positions, not the table up to the largest)."""
    if D % 2:
        raise ValueError(f"sinusoidal positions need an even width, not D={D}")
    t = pos.float()[..., None]  # (..., 1)
    w = base ** (-torch.arange(0, D, 2, dtype=torch.float32, device=pos.device) / D)  # (D/2,)
    angles = t * w  # (..., D/2)
    return torch.stack([torch.sin(angles), torch.cos(angles)], dim=-1).flatten(-2)  # (..., D): sin, cos, ...


# ---------------------------------------------------------------------------------------------------
# Rotary (applied to queries and keys)


def rope_angles(pos: torch.Tensor, D: int, base: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the rotation angles `pos * base^(-2i/D)`, each `(*pos.shape, D)` (the D/2 angles
    repeated for both halves)."""
    if D % 2:
        raise ValueError(f"rotary positions need an even head size, not D={D}")
    inv_freq = base ** (-torch.arange(0, D, 2, dtype=torch.float32, device=pos.device) / D)  # (D/2,)
    angles = pos.float()[..., None] * inv_freq  # (..., D/2)
    angles = torch.cat([angles, angles], dim=-1)  # (..., D)
    return angles.cos(), angles.sin()


def rope(x: torch.Tensor, pos: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Rotate `x` (B, H, T, D) by its positions `pos` (T,) or (B, T): channel pairs (i, i + D/2) turn by
    angle `pos * base^(-2i/D)`."""
    return rotate(x, *rope_angles(pos, x.size(-1), base))


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """`rope` with its angles computed once (`rope_angles`, (T, D) or (B, T, D)), for a model that rotates
    the queries and keys of every layer at the same positions."""
    if cos.dim() == 3:
        cos, sin = cos[:, None], sin[:, None]  # (B, 1, T, D): the same angles for every head
    x1, x2 = x.chunk(2, dim=-1)  # 2 x (B, H, T, D/2)
    rotated = torch.cat([-x2, x1], dim=-1)  # (B, H, T, D): each pair (a, b) -> (-b, a)
    return (x * cos + rotated * sin).to(x.dtype)


# ---------------------------------------------------------------------------------------------------
# ALiBi (a bias on the attention scores)


def alibi_slopes(H: int) -> torch.Tensor:
    """The paper's head slopes: for H a power of two the geometric sequence `2^(-8h/H)`, h = 1..H; otherwise
    those of the nearest smaller power of two, then every other slope of the next one (the authors' code)."""
    if H < 1:
        raise ValueError(f"ALiBi needs at least one head, not H={H}")

    def geometric(n: int) -> list[float]:
        return [2 ** (-8 * h / n) for h in range(1, n + 1)]

    p = 2 ** math.floor(math.log2(H))
    slopes = geometric(p) + geometric(2 * p)[0::2][: H - p]
    return torch.tensor(slopes)


def alibi_bias(slopes: torch.Tensor, pos_q: torch.Tensor, pos_k: torch.Tensor) -> torch.Tensor:
    """`-slope_h * (i - j)` for query positions `pos_q` (T,) or (B, T) and key positions `pos_k` (L,) or
    (B, L): `(H, T, L)` or `(B, H, T, L)`. Keys after the query get a bonus; the causal mask removes them."""
    dist = (pos_q[..., :, None] - pos_k[..., None, :]).float()  # (T, L) or (B, T, L)
    return -slopes.to(dist.device)[:, None, None] * dist.unsqueeze(-3)  # (H, T, L) or (B, H, T, L)


__all__ = ["alibi_bias", "alibi_slopes", "rope", "rope_angles", "sinusoidal", "sinusoidal_at"]
