"""The encoder-decoder transformer of "Attention Is All You Need" (Vaswani et al. 2017).

An encoder reads the source sentence with self-attention; a decoder writes the target one token at a time
with causal self-attention over what it has written and cross-attention over the encoder's output. As in the
paper: sinusoidal positions added to embeddings scaled by sqrt(d_model), post-LayerNorm residual blocks
(`x = LN(x + sublayer(x))`; `norm_first=True` gives the pre-LN variant of Xiong et al. 2020, with a final
LayerNorm on each stack), ReLU feed-forward layers 4x wide, dropout on every sublayer output and on the
embeddings, label smoothing, and one embedding matrix shared by the source, the target and the pre-softmax
projection (a joint source/target BPE vocabulary, section 3.4). The LR schedule of section 5.3 is the
trainer's `schedule="noam"` (core/trainer.py).

Reference implementations: `torch.nn.Transformer` (our layers equal `nn.TransformerEncoderLayer` and
`nn.TransformerDecoderLayer` with copied weights, tests/models/test_seq2seq.py) and Harvard NLP's
"The Annotated Transformer". Differences from torch: separate q/k/v projections (torch concatenates them
into `in_proj_weight`), and no final LayerNorm after post-LN stacks (the last block already normalises).

Decoding: `greedy` and `beam_search` (batched; GNMT length penalty, Wu et al. 2016, eq. 14). By default
both decode one new position per step with a KV cache (`DecoderCache`): each decoder layer keeps the keys and
values of its self-attention over the tokens written so far, and those of its cross-attention over the
encoder memory, which are computed once; beam search reorders the cache with the beams. `use_cache=False`
re-runs the decoder over the whole prefix at each step, the readable reference: both give the same tokens
(tests/models/test_seq2seq.py); their speed is in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nanozoo.models.positions import sinusoidal

# Special ids every seq2seq vocabulary starts with
PAD, BOS, EOS = 0, 1, 2


@dataclass
class Seq2SeqConfig:
    vocab_size: int = 16  # shared by source and target
    block_size: int = 64  # longest source or target sequence (positions)
    n_layer: int = 3  # encoder layers, and as many decoder layers
    n_head: int = 4
    n_embd: int = 128  # d_model
    ff_mult: int = 4  # d_ff = ff_mult * d_model (2048 = 4 x 512 in the paper)
    dropout: float = 0.1
    norm_first: bool = False  # False: post-LN as in the paper; True: pre-LN
    label_smoothing: float = 0.1
    layer_norm_epsilon: float = 1e-5

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd", "ff_mult"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name}={getattr(self, name)} must be >= 1")
        if self.vocab_size <= EOS:
            raise ValueError(f"model.vocab_size={self.vocab_size} leaves no room past pad, bos and eos")
        if self.n_embd % self.n_head or self.n_embd % 2:
            raise ValueError(
                f"model.n_embd={self.n_embd} must be even and divisible by model.n_head={self.n_head}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"model.dropout={self.dropout} must be in [0, 1)")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"model.label_smoothing={self.label_smoothing} must be in [0, 1)")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


# ---------------------------------------------------------------------------------------------------
# Masks and the loss (positions: models/positions.py)


def padding_mask(ids: torch.Tensor) -> torch.Tensor:
    """(B, S) ids -> (B, 1, 1, S) True where a key is a real token (every query may look at it)."""
    return (ids != PAD)[:, None, None, :]


def causal_mask(T: int, device=None) -> torch.Tensor:
    """(T, T) True on and below the diagonal: position t sees positions <= t."""
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()


def smoothed_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, eps: float) -> torch.Tensor:
    """Label smoothing (Szegedy et al. 2016): the target distribution is (1 - eps) on the right token plus
    eps spread evenly over all V tokens; the mean over targets != PAD. Equals
    `F.cross_entropy(..., label_smoothing=eps, ignore_index=PAD)` (tested)."""
    logits, targets = logits.reshape(-1, logits.size(-1)), targets.reshape(-1)  # (N, V), (N,)
    keep = targets != PAD
    ### BEGIN SOLUTION
    logp = logits[keep].float().log_softmax(dim=-1)  # (n, V)
    nll = -logp.gather(1, targets[keep][:, None]).squeeze(1)  # (n,)
    uniform = -logp.mean(dim=-1)  # cross-entropy against the uniform distribution
    return ((1.0 - eps) * nll + eps * uniform).mean()
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------------
# The KV cache of decoding


@dataclass
class KV:
    """The keys and values one attention module keeps between decoding steps, (B, H, S, D) each. `grow`:
    self-attention appends the new position's at every step; cross-attention computes the encoder memory's
    on the first step and reuses them (the memory does not change while decoding)."""

    grow: bool
    k: torch.Tensor | None = None
    v: torch.Tensor | None = None


class DecoderCache:
    """A (self-attention, cross-attention) `KV` per decoder layer, and the number of positions decoded."""

    def __init__(self, n_layer: int):
        self.layers = [(KV(grow=True), KV(grow=False)) for _ in range(n_layer)]
        self.length = 0

    def reorder(self, rows: torch.Tensor) -> None:
        """Beam search: row i continues the prefix of row rows[i]. Only the self-attention entries move: a
        beam's new row always comes from the same source, whose memory keys and values it already has."""
        for kv, _ in self.layers:
            kv.k, kv.v = kv.k[rows], kv.v[rows]


# ---------------------------------------------------------------------------------------------------
# Blocks


class MultiHeadAttention(nn.Module):
    """softmax(Q K^T / sqrt(D) + mask) V in H heads (section 3.2.2). Self-attention when `kv` is `x`,
    cross-attention when `kv` is the encoder's output. `mask` is boolean, True where a query may look at a
    key, broadcastable to (B, H, T, S)."""

    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        C = cfg.n_embd
        self.n_head, self.dropout = cfg.n_head, cfg.dropout
        self.q_proj, self.k_proj, self.v_proj = nn.Linear(C, C), nn.Linear(C, C), nn.Linear(C, C)
        self.out_proj = nn.Linear(C, C)
        self.weights: torch.Tensor | None = None  # (B, H, T, S) of the last call with keep_weights

    def forward(
        self,
        x: torch.Tensor,
        kv: torch.Tensor,
        mask: torch.Tensor | None = None,
        keep_weights=False,
        cache: KV | None = None,
    ) -> torch.Tensor:
        B, T, C = x.shape
        S, H = kv.size(1), self.n_head
        q = self.q_proj(x).view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, D)
        ### BEGIN SOLUTION
        if cache is not None and not cache.grow and cache.k is not None:
            k, v = cache.k, cache.v  # cross-attention while decoding: the memory's, from the first step
        else:
            k = self.k_proj(kv).view(B, S, H, C // H).transpose(1, 2)  # (B, H, S, D)
            v = self.v_proj(kv).view(B, S, H, C // H).transpose(1, 2)  # (B, H, S, D)
            if cache is not None and cache.grow and cache.k is not None:
                k, v = torch.cat([cache.k, k], dim=2), torch.cat([cache.v, v], dim=2)  # (B, H, t + T, D)
            if cache is not None:
                cache.k, cache.v = k, v
        ### END SOLUTION
        p = self.dropout if self.training else 0.0
        if keep_weights:  # the readable path, which also keeps the attention map for pictures
            ### BEGIN SOLUTION
            att = q @ k.transpose(-2, -1) / math.sqrt(C // H)  # (B, H, T, S)
            if mask is not None:
                att = att.masked_fill(~mask, float("-inf"))
            att = att.softmax(dim=-1)
            self.weights = att.detach()
            y = F.dropout(att, p, self.training) @ v  # (B, H, T, D)
            ### END SOLUTION
        else:  # the same by torch's fused kernel (tested equal)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        return self.out_proj(y)


class FeedForward(nn.Module):
    """FFN(x) = max(0, x W1 + b1) W2 + b2 (section 3.3), with dropout after the ReLU as torch does."""

    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        self.linear1 = nn.Linear(cfg.n_embd, cfg.ff_mult * cfg.n_embd)
        self.linear2 = nn.Linear(cfg.ff_mult * cfg.n_embd, cfg.n_embd)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.dropout(F.relu(self.linear1(x))))


class Sublayer(nn.Module):
    """The residual connection around one sublayer: post-LN `LN(x + drop(f(x)))` (the paper), or pre-LN
    `x + drop(f(LN(x)))`."""

    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        self.norm = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.dropout = nn.Dropout(cfg.dropout)
        self.norm_first = cfg.norm_first

    def forward(self, x: torch.Tensor, f) -> torch.Tensor:
        if self.norm_first:
            return x + self.dropout(f(self.norm(x)))
        return self.norm(x + self.dropout(f(x)))


class EncoderLayer(nn.Module):
    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        self.self_attn, self.ff = MultiHeadAttention(cfg), FeedForward(cfg)
        self.sub1, self.sub2 = Sublayer(cfg), Sublayer(cfg)

    def forward(self, x: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        x = self.sub1(x, lambda h: self.self_attn(h, h, src_mask))
        return self.sub2(x, self.ff)


class DecoderLayer(nn.Module):
    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        self.self_attn, self.cross_attn, self.ff = (
            MultiHeadAttention(cfg),
            MultiHeadAttention(cfg),
            FeedForward(cfg),
        )
        self.sub1, self.sub2, self.sub3 = Sublayer(cfg), Sublayer(cfg), Sublayer(cfg)

    def forward(self, y, memory, tgt_mask, src_mask, keep_weights=False, cache=None) -> torch.Tensor:
        """`cache`: this layer's (self, cross) `KV` pair when decoding one step at a time (`decode_step`)."""
        self_kv, cross_kv = cache or (None, None)
        y = self.sub1(y, lambda h: self.self_attn(h, h, tgt_mask, cache=self_kv))
        y = self.sub2(y, lambda h: self.cross_attn(h, memory, src_mask, keep_weights, cross_kv))
        return self.sub3(y, self.ff)


# ---------------------------------------------------------------------------------------------------
# The model


class Seq2Seq(nn.Module):
    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        self.config = cfg
        C = cfg.n_embd
        self.embed = nn.Embedding(cfg.vocab_size, C, padding_idx=PAD)  # source, target and output
        self.register_buffer("pos", sinusoidal(cfg.block_size, C), persistent=False)
        self.drop = nn.Dropout(cfg.dropout)
        self.encoder = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.n_layer))
        self.decoder = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.n_layer))
        # pre-LN leaves the residual stream unnormalised: a final LayerNorm on each stack
        self.enc_norm = nn.LayerNorm(C, eps=cfg.layer_norm_epsilon) if cfg.norm_first else nn.Identity()
        self.dec_norm = nn.LayerNorm(C, eps=cfg.layer_norm_epsilon) if cfg.norm_first else nn.Identity()
        for name, p in self.named_parameters():
            if p.dim() > 1 and name != "embed.weight":
                nn.init.xavier_uniform_(p)  # as torch.nn.Transformer and the Annotated Transformer
        # the logits are y E^T, so embeddings of norm ~1 (before the sqrt(d_model) scale) keep them O(1)
        nn.init.normal_(self.embed.weight, mean=0.0, std=C**-0.5)
        with torch.no_grad():
            self.embed.weight[PAD].zero_()

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _embed(self, ids: torch.Tensor, start: int = 0) -> torch.Tensor:
        """ids (B, T) at positions start .. start + T - 1 -> (B, T, C)."""
        T = start + ids.size(1)
        if T > self.config.block_size:
            raise ValueError(f"sequence of length {T} is longer than block_size={self.config.block_size}")
        x = self.embed(ids) * math.sqrt(self.config.n_embd) + self.pos[start:T]  # (B, T, C)
        return self.drop(x)

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        """src (B, S) -> memory (B, S, C)."""
        x, mask = self._embed(src), padding_mask(src)
        for layer in self.encoder:
            x = layer(x, mask)
        return self.enc_norm(x)

    def decode(self, tgt: torch.Tensor, memory: torch.Tensor, src: torch.Tensor, keep_weights=False):
        """tgt (B, T) the target so far (BOS first), memory (B, S, C) -> logits (B, T, V)."""
        T = tgt.size(1)
        tgt_mask = causal_mask(T, tgt.device) & padding_mask(tgt)  # (B, 1, T, T)
        y = self._embed(tgt)
        for layer in self.decoder:
            y = layer(y, memory, tgt_mask, padding_mask(src), keep_weights)
        return self.dec_norm(y) @ self.embed.weight.t()  # (B, T, V), tied output projection

    def decode_step(self, token: torch.Tensor, memory, src, cache: DecoderCache) -> torch.Tensor:
        """The next position only: token (B, 1) the last one written, at position `cache.length` -> logits
        (B, V), the same as `decode(whole prefix)[:, -1]`. Its self-attention needs no mask: the cache
        holds only the positions before it (and a finished row's PAD keys change nothing that is kept)."""
        y = self._embed(token, start=cache.length)  # (B, 1, C)
        for layer, kv in zip(self.decoder, cache.layers, strict=True):
            y = layer(y, memory, None, padding_mask(src), cache=kv)
        cache.length += 1
        return (self.dec_norm(y) @ self.embed.weight.t())[:, -1]  # (B, V)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor, tgt_out: torch.Tensor | None = None):
        """Teacher forcing: src (B, S), tgt_in (B, T) = BOS + target, tgt_out (B, T) = target + EOS, PAD
        after the end -> (logits (B, T, V), label-smoothed loss or None)."""
        logits = self.decode(tgt_in, self.encode(src), src)
        if tgt_out is None:
            return logits, None
        return logits, smoothed_cross_entropy(logits, tgt_out, self.config.label_smoothing)

    def cross_attention(self) -> list[torch.Tensor]:
        """Each decoder layer's last cross-attention map (B, H, T, S), after a `decode(keep_weights=True)`."""
        return [layer.cross_attn.weights for layer in self.decoder]

    # -----------------------------------------------------------------------------------------------
    # Decoding

    def _max_len(self, max_len: int | None) -> int:
        return min(max_len or self.config.block_size, self.config.block_size)

    def _next_logits(self, seqs, memory, src, cache: DecoderCache | None) -> torch.Tensor:
        """seqs (B, t) -> logits (B, V) of position t + 1: by the cache, or re-reading the whole prefix."""
        if cache is None:
            return self.decode(seqs, memory, src)[:, -1]
        return self.decode_step(seqs[:, -1:], memory, src, cache)

    @torch.no_grad()
    def greedy(self, src: torch.Tensor, max_len: int | None = None, use_cache: bool = True) -> torch.Tensor:
        """The most likely next token at each step: (B, S) -> (B, L) ids after BOS, PAD after EOS."""
        was_training = self.training
        self.eval()
        memory = self.encode(src)
        cache = DecoderCache(self.config.n_layer) if use_cache else None
        seqs = torch.full((src.size(0), 1), BOS, dtype=torch.long, device=src.device)
        done = torch.zeros(src.size(0), dtype=torch.bool, device=src.device)
        for _ in range(self._max_len(max_len) - 1):
            logits = self._next_logits(seqs, memory, src, cache)  # (B, V)
            logits[:, [PAD, BOS]] = float("-inf")
            token = logits.argmax(dim=-1).masked_fill(done, PAD)  # (B,)
            seqs = torch.cat([seqs, token[:, None]], dim=1)
            done |= token == EOS
            if done.all():
                break
        self.train(was_training)
        return seqs[:, 1:]

    @torch.no_grad()
    def beam_search(
        self,
        src: torch.Tensor,
        beam_size: int = 4,
        alpha: float = 0.6,
        max_len: int | None = None,
        use_cache: bool = True,
    ) -> torch.Tensor:
        """Batched beam search: each source keeps the `beam_size` prefixes of highest log-probability; a
        prefix that produced EOS is finished and only extended by PAD at no cost. At the end each source
        takes its hypothesis of highest score / lp, lp = ((5 + length) / 6)^alpha (GNMT's length penalty,
        which keeps short hypotheses from winning by having fewer terms). Returns (B, L) ids after BOS.
        With beam_size=1 it is greedy decoding (the same tokens, tested)."""
        if beam_size < 1:
            raise ValueError(f"beam_size={beam_size} must be >= 1")
        B, K, V = src.size(0), beam_size, self.config.vocab_size
        L = self._max_len(max_len)
        was_training = self.training
        self.eval()
        src = src.repeat_interleave(K, dim=0)  # (B*K, S): the beams of source b are rows b*K .. b*K+K-1
        memory = self.encode(src)  # (B*K, S, C)
        cache = DecoderCache(self.config.n_layer) if use_cache else None
        seqs = torch.full((B * K, 1), BOS, dtype=torch.long, device=src.device)
        scores = torch.full((B, K), float("-inf"), device=src.device)
        scores[:, 0] = 0.0  # at the start every beam holds the same prefix: keep one
        done = torch.zeros(B * K, dtype=torch.bool, device=src.device)
        ### BEGIN SOLUTION
        for _ in range(L - 1):
            logp = self._next_logits(seqs, memory, src, cache).float().log_softmax(dim=-1)  # (B*K, V)
            logp[:, [PAD, BOS]] = float("-inf")  # never produced
            logp[done] = float("-inf")
            logp[done, PAD] = 0.0  # a finished hypothesis keeps its score, extended by PAD
            cand = scores[:, :, None] + logp.view(B, K, V)  # (B, K, V)
            scores, idx = cand.view(B, K * V).topk(K, dim=-1)  # (B, K)
            beam = (idx // V + torch.arange(B, device=src.device)[:, None] * K).view(-1)  # (B*K,) rows
            token = (idx % V).view(-1, 1)  # (B*K, 1)
            seqs = torch.cat([seqs[beam], token], dim=1)
            if cache is not None:
                cache.reorder(beam)
            done = done[beam] | (token.squeeze(1) == EOS)
            if done.all():
                break
        length = (seqs[:, 1:] != PAD).sum(dim=1).view(B, K).float()  # tokens including EOS
        best = (scores / ((5.0 + length) / 6.0) ** alpha).argmax(dim=-1)  # (B,)
        ### END SOLUTION
        self.train(was_training)
        return seqs.view(B, K, -1)[torch.arange(B), best, 1:]  # (B, L)


def strip(ids: list[int]) -> list[int]:
    """The tokens of one decoded row before its first EOS (and without PAD)."""
    out = []
    for i in ids:
        if i == EOS:
            break
        if i != PAD:
            out.append(i)
    return out


__all__ = [
    "BOS",
    "EOS",
    "PAD",
    "KV",
    "DecoderCache",
    "DecoderLayer",
    "EncoderLayer",
    "FeedForward",
    "MultiHeadAttention",
    "Seq2Seq",
    "Seq2SeqConfig",
    "causal_mask",
    "padding_mask",
    "smoothed_cross_entropy",
    "strip",
]
