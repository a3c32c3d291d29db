"""GPT: a GPT-2-style decoder-only transformer.

Radford et al. 2019, "Language Models are Unsupervised Multitask Learners"; reference implementations
karpathy/nanoGPT `model.py` and HF transformers `modeling_gpt2.py`. Token + learned position embeddings,
pre-LayerNorm blocks of causal self-attention and a GELU MLP, a final LayerNorm, and an output head tied
to the token embedding. Parameter names are HF GPT-2's (`transformer.h.0.attn.c_attn.weight` ...) so that
loading an HF checkpoint is a loop; HF stores those projections as `Conv1D` (weight `(in, out)`), we use
`nn.Linear` (weight `(out, in)`) and transpose on the way in and out.

Differences from nanoGPT: the MLP's GELU is GPT-2's tanh approximation by default (`activation="gelu_new"`,
what HF uses, so logits match to 1e-5; nanoGPT's exact GELU is `activation="gelu"`); positions are learned
(GPT-2) or any of `models/positions.py` (`pos_encoding`); attention runs fused (SDPA), step by step
(`attn_impl="manual"`, the lines a learner writes, tested equal to SDPA) or through our FlashAttention-2;
a padding mask lets a left-padded batch generate as each row would alone; `generate` streams tokens, adds
top-p, and keeps a KV cache (each step runs only the new token until the context is full, tested to give
the cache-less tokens).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from nanozoo.core.atomic import atomic_write
from nanozoo.core.checkpoint import CheckpointError, save_tensors, save_weights
from nanozoo.models.positions import alibi_bias, alibi_slopes, rope, sinusoidal_at
from nanozoo.models.sampling import next_tokens

ATTN_IMPLS = ("sdpa", "manual", "flash_ref", "flash_triton")
POS_ENCODINGS = ("learned", "sinusoidal", "rope", "alibi", "none")


@dataclass
class GPTConfig:
    vocab_size: int = 65
    block_size: int = 256  # longest context
    n_layer: int = 6
    n_head: int = 6
    n_embd: int = 384
    dropout: float = 0.0
    bias: bool = True  # biases in Linear and LayerNorm, as GPT-2
    activation: Literal["gelu_new", "gelu", "relu2"] = "gelu_new"  # relu2: relu(x)^2 (So et al. 2021)
    layer_norm_epsilon: float = 1e-5
    # attention by torch's fused SDPA, step by step (manual_attention), or by our FlashAttention-2
    # (nanozoo.kernels): the tiled PyTorch reference (slow, for reading and checking) or the Triton
    # kernels (a GPU, or TRITON_INTERPRET=1); the flash ones train, a cache or a padding mask runs SDPA
    attn_impl: Literal["sdpa", "manual", "flash_ref", "flash_triton"] = "sdpa"
    # learned absolute (GPT-2), sinusoidal (added to the input), rope (rotates q and k), alibi (a linear
    # distance penalty on the scores) or none: models/positions.py
    pos_encoding: Literal["learned", "sinusoidal", "rope", "alibi", "none"] = "learned"
    # the speedrun's changes (modded-nanogpt), off in GPT-2: RMS-normalised queries and keys per head
    # (Dehghani et al. 2023), a head of its own instead of the embedding's transpose, and logits
    # soft-capped to (-c, c) by c * tanh(logits / c) (Gemma 2); 0: no cap
    qk_norm: bool = False
    tie_embeddings: bool = True
    logit_softcap: float = 0.0

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name}={getattr(self, name)} must be >= 1")
        if self.n_embd % self.n_head:
            raise ValueError(f"model.n_embd={self.n_embd} is not divisible by model.n_head={self.n_head}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"model.dropout={self.dropout} must be in [0, 1)")
        if self.activation not in ("gelu_new", "gelu", "relu2"):
            raise ValueError(f"model.activation={self.activation!r}; expected gelu_new, gelu or relu2")
        if self.logit_softcap < 0:
            raise ValueError(f"model.logit_softcap={self.logit_softcap} must be >= 0 (0: no cap)")
        if self.attn_impl not in ATTN_IMPLS:
            raise ValueError(f"model.attn_impl={self.attn_impl!r}; expected one of {ATTN_IMPLS}")
        if self.pos_encoding not in POS_ENCODINGS:
            raise ValueError(f"model.pos_encoding={self.pos_encoding!r}; expected one of {POS_ENCODINGS}")
        width = {"sinusoidal": self.n_embd, "rope": self.head_dim}.get(self.pos_encoding, 0)
        if width % 2:
            raise ValueError(f"model.pos_encoding={self.pos_encoding!r} needs an even width, not {width}")
        if self.attn_impl.startswith("flash") and self.pos_encoding == "alibi":
            raise ValueError(
                f"model.attn_impl={self.attn_impl!r} adds no score bias: ALiBi needs 'sdpa' or 'manual'"
            )
        if self.attn_impl.startswith("flash") and self.dropout:
            raise ValueError(
                f"model.attn_impl={self.attn_impl!r} has no attention dropout; set model.dropout=0 "
                f"(not {self.dropout}) or model.attn_impl='sdpa'"
            )

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


# ---------------------------------------------------------------------------------------------------
# Attention, step by step, and the cache of keys and values


def manual_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    bias: torch.Tensor | None = None,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """`softmax(q k^T / sqrt(D) + bias) v` for q (B, H, T, D) against k, v (B, H, L, D): what SDPA fuses.
    `bias` (..., T, L) is 0 where a query may look, -inf where it may not (plus ALiBi's penalty); None is
    the plain causal mask (T == L)."""
    ### BEGIN SOLUTION
    T, L, D = q.size(-2), k.size(-2), q.size(-1)
    att = q @ k.transpose(-2, -1) / math.sqrt(D)  # (B, H, T, L)
    if bias is None:  # query i sees keys 0..i
        bias = torch.zeros(T, L, device=q.device).masked_fill(causal(T, L, q.device).logical_not(), -math.inf)
    att = torch.softmax(att + bias, dim=-1)  # each row sums to 1 over the keys it may see
    att = F.dropout(att, dropout_p) if dropout_p else att
    y = att @ v  # (B, H, T, D)
    ### END SOLUTION
    return y


def sdpa_attention(q, k, v, bias: torch.Tensor | None = None, dropout_p: float = 0.0) -> torch.Tensor:
    """`manual_attention`, fused by torch's scaled_dot_product_attention. bias None is the causal mask; with
    one query (a cache step) it sees every key, as SDPA's is_causal (top-left aligned) would not."""
    mask = None if bias is None else bias.to(q.dtype)
    causal = bias is None and q.size(-2) > 1
    mm = torch.backends.mkldnn.matmul
    if q.device.type != "cpu" or q.dtype != torch.float32 or mm.fp32_precision == "ieee":
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=causal)
    # NOTE: under bf16 matmul math (train.matmul_precision="medium") torch 2.13's fused CPU kernel is 3-8x
    # slower than in float32 at the CPU recipe's shape (it converts block by block), while every other
    # matmul of the step gains 2-3x. So attention alone runs in float32 math: here, and in its backward,
    # which hooks switch to float32 math (before it: on y's gradient) and back (after: on q's, k's, v's).
    outer = mm.fp32_precision
    mm.fp32_precision = "ieee"
    try:
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=causal)
    finally:
        mm.fp32_precision = outer
    if y.requires_grad:

        def to(precision: str):
            def hook(grad):
                mm.fp32_precision = precision

            return hook

        y.register_hook(to("ieee"))
        for t in (q, k, v):
            if t.requires_grad:
                t.register_hook(to(outer))
    return y


def causal(T: int, L: int, device: torch.device | None = None) -> torch.Tensor:
    """(T, L) True where the last T of L tokens may attend: query i (at L - T + i) sees keys 0..L - T + i."""
    i = torch.arange(L - T, L, device=device)[:, None]
    return torch.arange(L, device=device)[None, :] <= i


class KVCache:
    """Every layer's keys and values for the tokens seen so far, preallocated for `length` tokens, and which
    of those tokens were padding: each generation step then runs the model on the new token only."""

    def __init__(
        self, n_layer: int, B: int, n_head: int, length: int, head_dim: int, device=None, dtype=None
    ):
        # n_head: the key/value heads (fewer under GQA); a slot is read only once written (empty, not zeros)
        self.kv = torch.empty(n_layer, 2, B, n_head, length, head_dim, device=device, dtype=dtype)
        self.k, self.v = self.kv[:, 0], self.kv[:, 1]  # (n_layer, B, n_head, length, head_dim) each
        self.mask = torch.ones(B, length, dtype=torch.bool, device=device)  # False: a padding token
        self.layers = [self.kv[i] for i in range(n_layer)]  # layer i's (2, B, n_head, length, head_dim)
        self.length, self.n = length, 0  # room, and tokens held
        self.padded = False  # whether `mask` holds a False: known without reading the tensor each step

    def reset(self) -> None:
        self.n, self.padded = 0, False
        self.mask.fill_(True)


def attention_inputs(idx: torch.Tensor, mask=None, cache: KVCache | None = None, alibi_slopes=None):
    """Positions of the new tokens, (T,) or (B, T), and the attention bias over every key so far,
    (B or 1, H or 1, T, L) with -inf where a query may not look, or None for the plain causal mask (one
    new token behind a cache: every key). `mask` (B, T) is False at left padding; `alibi_slopes` (H,)
    adds ALiBi's distance penalty. Every decoder with a cache and padding shares this (GPT, Llama)."""
    B, T = idx.shape
    t0 = cache.n if cache is not None else 0
    L = t0 + T
    if cache is not None:  # the cache remembers which of the earlier tokens were padding
        if t0 + T > cache.length:
            raise ValueError(f"the KV cache holds {cache.length} tokens; {t0} + {T} do not fit")
        if mask is not None:  # (slots not written since the last reset are True: real tokens)
            cache.mask[:, t0:L] = mask
            cache.padded = cache.padded or not bool(mask.all())
        mask = cache.mask[:, :L] if cache.padded else None
    if mask is None:
        pos_k = torch.arange(L, device=idx.device)  # (L,)
    else:  # a left-padded row counts positions from its first real token, as if it were alone
        pos_k = (mask.long().cumsum(dim=1) - 1).clamp(min=0)  # (B, L)
    pos = pos_k[..., t0:]  # (T,) or (B, T)
    if mask is None and alibi_slopes is None and (t0 == 0 or T == 1):
        return pos, None  # a decoding step builds no mask: its one query sees every key
    allowed = causal(T, L, idx.device)  # (T, L)
    if mask is not None:  # no query looks at padding, but each at least at itself (no empty softmax)
        itself = torch.arange(L, device=idx.device) == torch.arange(t0, L, device=idx.device)[:, None]
        allowed = allowed & (mask[:, None, None, :] | itself)  # (B, 1, T, L)
    bias = torch.zeros(allowed.shape, device=idx.device).masked_fill(~allowed, -math.inf)
    if alibi_slopes is not None:
        bias = bias + alibi_bias(alibi_slopes, pos, pos_k)  # (H, T, L) or (B, H, T, L)
    return pos, bias


def flops_per_token(n_params: int, n_layer: int, n_embd: int, T: int) -> float:
    """Training FLOPs per token of a decoder of n_params (non-embedding) parameters at context T: 6 per
    parameter (2 forward, 4 backward: the Chinchilla paper's appendix F, and nanoGPT's estimate_mfu) plus
    attention's scores and mixing, 2 matmuls of T x C per token and layer: 6 x 2 x L x C x T."""
    return 6 * n_params + 12 * n_layer * n_embd * T


# ---------------------------------------------------------------------------------------------------
# Blocks


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head, self.dropout, self.attn_impl = cfg.n_head, cfg.dropout, cfg.attn_impl
        self.rope, self.qk_norm = cfg.pos_encoding == "rope", cfg.qk_norm
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)  # q, k, v in one matmul
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.resid_dropout = nn.Dropout(cfg.dropout)
        if cfg.attn_impl == "flash_triton":  # refused now, before a run folder is made, if it cannot run
            from nanozoo.kernels.flash_attention import check_triton

            check_triton()

    def forward(self, x: torch.Tensor, pos: torch.Tensor, bias: torch.Tensor | None, kv=None, t0: int = 0):
        """x (B, T, C) at positions `pos` (T,) or (B, T); `bias` as `manual_attention`'s; `kv`: this layer's
        cache buffer (keys and values stacked), which holds t0 earlier tokens and receives these T."""
        B, T, C = x.shape
        H = self.n_head
        # split, then each (B, T, H, D) -> (B, H, T, D): the gradients of q, k, v flow back into one
        # concatenation (a view and permute of the (B, T, 3, H, D) tensor instead costs a stack and a copy)
        q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in self.c_attn(x).split(C, dim=2))
        if self.qk_norm:  # q / rms(q) per head: scores bounded by D, whatever the weights' scale
            q, k = F.rms_norm(q, (q.size(-1),)), F.rms_norm(k, (k.size(-1),))
        if self.rope:
            q, k = rope(q, pos), rope(k, pos)
        if kv is not None:  # kv (2, B, H, length, D): this layer's keys and values
            kv[0, :, :, t0 : t0 + T], kv[1, :, :, t0 : t0 + T] = k, v
            k, v = kv[:, :, :, : t0 + T]  # (B, H, L, D) each: every key and value so far
        p = self.dropout if self.training else 0.0
        if self.attn_impl == "manual":
            y = manual_attention(q, k, v, bias, p)
        elif self.attn_impl == "sdpa" or bias is not None or kv is not None:
            y = sdpa_attention(q, k, v, bias, p)
        else:
            from nanozoo.kernels.flash_attention import attention

            y = attention(q, k, v, causal=True, impl=self.attn_impl)
        y = self.c_proj(y.transpose(1, 2).reshape(B, T, C))  # (B, T, C)
        return self.resid_dropout(y) if self.training else y  # (eval: not even a call, per layer and token)


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.activation = cfg.activation
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c_fc(x)  # (B, T, 4C)
        if self.activation == "relu2":
            h = F.relu(h).square()
        else:
            h = F.gelu(h, approximate="tanh" if self.activation == "gelu_new" else "none")
        h = self.c_proj(h)
        return self.dropout(h) if self.training else h


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon, bias=cfg.bias)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon, bias=cfg.bias)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor, pos, bias, kv=None, t0: int = 0) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), pos, bias, kv, t0)
        return x + self.mlp(self.ln_2(x))


# ---------------------------------------------------------------------------------------------------
# The model


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.config = cfg
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(cfg.vocab_size, cfg.n_embd),
                drop=nn.Dropout(cfg.dropout),
                h=nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer)),
                ln_f=nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon, bias=cfg.bias),
            )
        )
        if cfg.pos_encoding == "learned":
            self.transformer.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        if cfg.pos_encoding == "alibi":
            self.register_buffer("alibi_slopes", alibi_slopes(cfg.n_head), persistent=False)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.transformer.wte.weight  # tied (Press & Wolf 2017)
        self.apply(self._init_weights)
        # GPT-2: residual projections scaled by 1/sqrt(2 * n_layer), one per attention and per MLP
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameters, counting the tied head once; nanoGPT's convention leaves out position embeddings."""
        n = sum(p.numel() for p in self.parameters())
        wpe = self.transformer.wpe.weight.numel() if "wpe" in self.transformer else 0
        return n - wpe if non_embedding else n

    def flops_per_token(self) -> float:
        """Training FLOPs per token at full context, for MFU: `flops_per_token(...)` of this model."""
        c = self.config
        return flops_per_token(self.num_params(), c.n_layer, c.n_embd, c.block_size)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, mask=None, cache=None):
        """idx (B, T) token ids -> logits (B, T, V), and the mean cross-entropy when targets are given.
        Without targets only the last position's logits are computed (B, 1, V): all sampling needs.
        `mask` (B, T) is False at padding tokens (left padding: positions count from each row's first real
        token); `cache` a KVCache that holds the tokens before these and receives them. One new token
        behind a cache (a generation step) takes `decode_step` where the config allows it."""
        if cache is not None and targets is None and idx.size(1) == 1 and self.flat_decoding():
            return self.decode_step(idx, cache, mask), None
        x = self.hidden(idx, mask, cache)
        if targets is None:
            return self.head(x[:, -1:, :]), None  # (B, 1, V)
        B, T = idx.shape
        logits = self.head(x)  # (B, T, V)
        loss = F.cross_entropy(logits.view(B * T, -1), targets.reshape(B * T), ignore_index=-1)
        return logits, loss

    def logits(self, idx: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """All positions' logits (B, T, V), for parity tests and scoring."""
        return self.head(self.hidden(idx, mask))

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, V) of hidden states x (B, T, C), soft-capped when logit_softcap is set."""
        logits = self.lm_head(x)
        c = self.config.logit_softcap
        return c * torch.tanh(logits / c) if c else logits

    def hidden(self, idx: torch.Tensor, mask=None, cache: KVCache | None = None) -> torch.Tensor:
        """The final LayerNorm's output (B, T, C) for idx (B, T), as `forward`."""
        B, T = idx.shape
        t0 = cache.n if cache is not None else 0
        self.check_length(t0 + T)
        pos, bias = self.attention_inputs(idx, mask, cache)
        x = self.transformer.wte(idx)  # (B, T, C)
        if self.config.pos_encoding == "learned":
            x = x + self.transformer.wpe(pos)
        elif self.config.pos_encoding == "sinusoidal":
            # NOTE: Vaswani et al. add the table to embeddings multiplied by sqrt(C); ours stay at GPT-2's
            # scale (std 0.02, tied to the head), so the table is divided by sqrt(C) instead: the same
            # ratio. Added at full scale it drowns the tokens: in the positional sweep (1,400 steps of
            # shakespeare-char-cpu) val 2.4279 at 1x against 1.7118 scaled (benchmarks/RESULTS.md)
            C = self.config.n_embd
            x = x + sinusoidal_at(pos, C).to(x) / math.sqrt(C)  # (T, C) or (B, T, C)
        x = self.transformer.drop(x) if self.training else x
        for i, block in enumerate(self.transformer.h):
            x = block(x, pos, bias, cache.layers[i] if cache is not None else None, t0)
        if cache is not None:
            cache.n += T
        return self.transformer.ln_f(x)

    def attention_inputs(self, idx: torch.Tensor, mask=None, cache: KVCache | None = None):
        slopes = self.alibi_slopes if self.config.pos_encoding == "alibi" else None
        return attention_inputs(idx, mask, cache, slopes)

    def check_length(self, L: int) -> None:
        if self.config.pos_encoding == "learned" and L > self.config.block_size:
            raise ValueError(f"sequence of length {L} is longer than block_size={self.config.block_size}")

    # -----------------------------------------------------------------------------------------------
    # Sampling

    def new_cache(self, B: int, length: int | None = None) -> KVCache:
        """An empty KV cache for B rows of up to `length` tokens (block_size)."""
        p, c = self.transformer.wte.weight, self.config
        return KVCache(c.n_layer, B, c.n_head, length or c.block_size, c.head_dim, p.device, p.dtype)

    def flat_decoding(self) -> bool:
        """Whether `decode_step` computes this config's generation steps: GPT-2's own choices (SDPA,
        learned, ALiBi or no positions, GELU, no QK-norm) in eval mode. Others take `hidden`."""
        c = self.config
        return (
            not self.training
            and c.attn_impl == "sdpa"
            and c.pos_encoding in ("learned", "alibi", "none")
            and c.activation in ("gelu_new", "gelu")
            and not c.qk_norm
        )

    def decode_step(self, idx: torch.Tensor, cache: KVCache, mask=None) -> torch.Tensor:
        """Logits (B, 1, V) of one new token a row, idx (B, 1), behind `cache`: `forward`'s, as one flat
        walk over the layers. At the 10.8M char shape a generation step spends about as long in Python and
        operator dispatch as in its matmuls; this skips the module calls, the three transposed views of
        q, k, v (for one token, (B, 1, 3C) is already (B, 3, H, 1, D)) and the branches a prompt or
        training needs (benchmarks/RESULTS.md: 1.90 against 2.16 ms a token at batch 1, 3.96 against 4.27
        at batch 8). Tested to give `hidden`'s logits, left-padded batches included. Only for configs
        `flat_decoding` accepts."""
        c, tr = self.config, self.transformer
        B, C, H = idx.size(0), c.n_embd, c.n_head
        t0, eps = cache.n, c.layer_norm_epsilon
        self.check_length(t0 + 1)
        pos, bias = self.attention_inputs(idx, mask, cache)  # bias: None unless padding or ALiBi
        bias = None if bias is None else bias.to(tr.wte.weight.dtype)
        x = F.embedding(idx, tr.wte.weight)  # (B, 1, C)
        if c.pos_encoding == "learned":
            x = x + F.embedding(pos, tr.wpe.weight)
        gelu = "tanh" if c.activation == "gelu_new" else "none"
        for block, kv in zip(tr.h, cache.layers, strict=True):
            attn, mlp = block.attn, block.mlp
            h = F.layer_norm(x, (C,), block.ln_1.weight, block.ln_1.bias, eps)
            qkv = F.linear(h, attn.c_attn.weight, attn.c_attn.bias).view(B, 3, H, 1, C // H)
            kv[:, :, :, t0 : t0 + 1] = qkv[:, 1:].transpose(0, 1)  # the new key and value: one copy
            k, v = kv[:, :, :, : t0 + 1]  # (B, H, t0 + 1, D): every key and value so far
            y = F.scaled_dot_product_attention(qkv[:, 0], k, v, attn_mask=bias)  # (B, H, 1, D)
            x = x + F.linear(y.reshape(B, 1, C), attn.c_proj.weight, attn.c_proj.bias)
            h = F.layer_norm(x, (C,), block.ln_2.weight, block.ln_2.bias, eps)
            h = F.gelu(F.linear(h, mlp.c_fc.weight, mlp.c_fc.bias), approximate=gelu)
            x = x + F.linear(h, mlp.c_proj.weight, mlp.c_proj.bias)
        cache.n += 1
        return self.head(F.layer_norm(x, (C,), tr.ln_f.weight, tr.ln_f.bias, eps))

    @torch.no_grad()
    def stream(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        generator: torch.Generator | None = None,
        mask: torch.Tensor | None = None,
        use_cache: bool = True,
    ) -> Iterator[torch.Tensor]:
        """Yield (B,) next tokens one at a time, conditioning on `idx` (B, T) and on what was sampled.
        `mask` (B, T) is False at left padding; `use_cache=False` reruns the whole context every step."""
        sampling = dict(temperature=temperature, top_k=top_k, top_p=top_p, generator=generator)
        yield from next_tokens(self, idx, max_new_tokens, mask=mask, use_cache=use_cache, **sampling)

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, **kw) -> torch.Tensor:
        """`idx` (B, T) then max_new_tokens sampled tokens: (B, T + max_new_tokens); `kw` as `stream`."""
        new = list(self.stream(idx, max_new_tokens, **kw))
        return torch.cat([idx, torch.stack(new, dim=1)], dim=1) if new else idx

    # -----------------------------------------------------------------------------------------------
    # HF transformers GPT-2 format: config.json + model.safetensors

    _TRANSPOSED = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")

    def save_pretrained(self, path: str | Path) -> None:
        """Write a folder that `transformers.GPT2LMHeadModel.from_pretrained` loads."""
        cfg = self.config
        if not cfg.bias:
            raise ValueError(
                "HF GPT-2 has biases everywhere: a model with bias=False cannot be saved in its format"
            )
        if cfg.pos_encoding != "learned":
            raise ValueError(
                f"HF GPT-2 learns its positions: pos_encoding={cfg.pos_encoding!r} has no place in its format"
            )
        # the speedrun's options must be GPT-2's (activation "gelu", which HF has too, passes)
        speedrun = {"activation": "gelu_new", "qk_norm": False, "tie_embeddings": True, "logit_softcap": 0.0}
        for name, gpt2 in speedrun.items():
            if getattr(cfg, name) != gpt2 and not (name == "activation" and cfg.activation == "gelu"):
                raise ValueError(
                    f"HF GPT-2 has {name}={gpt2!r}: {getattr(cfg, name)!r} has no place in its format"
                )
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        hf = {
            "model_type": "gpt2",
            "architectures": ["GPT2LMHeadModel"],
            "vocab_size": cfg.vocab_size,
            "n_positions": cfg.block_size,
            "n_ctx": cfg.block_size,
            "n_embd": cfg.n_embd,
            "n_layer": cfg.n_layer,
            "n_head": cfg.n_head,
            "n_inner": None,
            "activation_function": cfg.activation,
            "resid_pdrop": cfg.dropout,
            "embd_pdrop": cfg.dropout,
            "attn_pdrop": cfg.dropout,
            "layer_norm_epsilon": cfg.layer_norm_epsilon,
            "tie_word_embeddings": True,
            "bos_token_id": cfg.vocab_size - 1,
            "eos_token_id": cfg.vocab_size - 1,
        }
        atomic_write(path / "config.json", json.dumps(hf, indent=2))
        sd = {
            k: (v.t() if k.endswith(self._TRANSPOSED) else v)
            for k, v in self.state_dict().items()
            if k != "lm_head.weight"
        }
        save_tensors(sd, path / "model.safetensors", metadata={"format": "pt"})

    @classmethod
    def from_pretrained(cls, path: str | Path, **overrides) -> GPT:
        """Load an HF GPT-2 folder (config.json + model.safetensors), e.g. one written by save_pretrained."""
        from safetensors.torch import load_file

        path = Path(path)
        if not (path / "config.json").is_file() or not (path / "model.safetensors").is_file():
            raise CheckpointError(
                f"{path} is not an HF GPT-2 folder (needs config.json and model.safetensors)"
            )
        hf = json.loads((path / "config.json").read_text())
        if hf.get("model_type", "gpt2") != "gpt2":
            raise CheckpointError(f"{path} holds a {hf['model_type']!r} model, not gpt2")
        if hf.get("n_inner") not in (None, 4 * hf["n_embd"]):
            raise CheckpointError(
                f"{path}: n_inner={hf['n_inner']} is not 4 * n_embd, which this GPT assumes"
            )
        act = _refuse_unsupported(path, hf)
        cfg = GPTConfig(
            vocab_size=hf["vocab_size"],
            block_size=hf["n_positions"],
            n_layer=hf["n_layer"],
            n_head=hf["n_head"],
            n_embd=hf["n_embd"],
            dropout=hf.get("resid_pdrop", 0.0),
            activation=act,
            layer_norm_epsilon=hf.get("layer_norm_epsilon", 1e-5),
            **overrides,
        )
        model = cls(cfg)
        sd = load_file(str(path / "model.safetensors"))
        # OpenAI's checkpoints were saved from GPT2Model (no "transformer." prefix) and carry mask buffers
        sd = {
            (k if k.startswith(("transformer.", "lm_head.")) else f"transformer.{k}"): v
            for k, v in sd.items()
            if not k.endswith((".attn.bias", ".attn.masked_bias"))
        }
        head = sd.pop("lm_head.weight", None)  # tied to wte: HF writes it once, or twice when asked
        if head is not None and not torch.equal(head, sd.get("transformer.wte.weight", head)):
            raise CheckpointError(f"{path}: lm_head.weight differs from wte.weight; this GPT ties them")
        ours = model.state_dict()
        missing = set(ours) - set(sd) - {"lm_head.weight"}
        unexpected = set(sd) - set(ours)
        if missing or unexpected:
            raise CheckpointError(
                f"{path}: missing {sorted(missing)[:4]}, unexpected {sorted(unexpected)[:4]}"
            )
        with torch.no_grad():
            for k, v in sd.items():  # loading is a loop
                v = v.t() if k.endswith(cls._TRANSPOSED) else v
                if ours[k].shape != v.shape:
                    raise CheckpointError(
                        f"{path}: {k} has shape {tuple(v.shape)}, expected {tuple(ours[k].shape)}"
                    )
                ours[k].copy_(v)
        return model

    def save(self, path: str | Path, step: int = 0) -> None:
        save_weights(self, path, step)


# HF activation_function -> ours: "gelu_pytorch_tanh" is the same tanh approximation as "gelu_new"
_HF_ACTIVATIONS = {"gelu_new": "gelu_new", "gelu_pytorch_tanh": "gelu_new", "gelu": "gelu"}


def _refuse_unsupported(path: Path, hf: dict) -> str:
    """Our activation for an HF GPT-2 config; a CheckpointError for any option this GPT cannot reproduce
    (loading it anyway would give other logits without a word)."""
    act = hf.get("activation_function", "gelu_new")
    if act not in _HF_ACTIVATIONS:
        raise CheckpointError(
            f"{path}: activation_function={act!r} is not supported; this GPT has {sorted(_HF_ACTIVATIONS)}"
        )
    flags = {  # option -> the value this GPT computes (HF's default)
        "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
        "add_cross_attention": False,
        "tie_word_embeddings": True,
    }
    for name, ours in flags.items():
        if hf.get(name, ours) != ours:
            raise CheckpointError(f"{path}: {name}={hf[name]} is not supported; this GPT computes {ours}")
    return _HF_ACTIVATIONS[act]


__all__ = ["GPT", "GPTConfig"]
