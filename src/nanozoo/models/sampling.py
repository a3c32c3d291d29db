"""Drawing the next token from a model's logits: temperature, top-k and top-p (nucleus).

Shared by every language model (`GPT.generate`, the makemore ladder, the next-character models), and
`next_tokens`, the one sampling loop they all run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from nanozoo.core.config import ConfigError


def check_sampling(temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None) -> None:
    """Refuse settings `sample_next` cannot use, naming the value (a `ConfigError`: also a `ValueError`)."""
    if temperature < 0:
        raise ConfigError(f"temperature={temperature} must be >= 0 (0 is greedy)")
    if top_k is not None and top_k < 1:
        raise ConfigError(f"top_k={top_k} must be >= 1")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise ConfigError(f"top_p={top_p} must be in (0, 1]")


def sample_next(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """(B, V) logits -> (B,) token ids. temperature 0 is greedy; top-k keeps the k most likely tokens;
    top-p (nucleus, Holtzman et al. 2019) keeps the smallest set whose probability reaches p."""
    check_sampling(temperature, top_k, top_p)
    if temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits.float() / temperature
    if top_k is not None and top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[:, [-1]]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)  # (B, V)
        probs = sorted_logits.softmax(dim=-1)
        drop = probs.cumsum(dim=-1) - probs > top_p  # a token goes once the ones before it reach p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    probs = logits.softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)  # (B,)


@contextmanager
def decoding(model: nn.Module, rows: int = 1) -> Iterator[None]:
    """Eval mode while inside, and for a batch of more than one row, every `nn.Linear` weight stored
    column-major: the same (out, in) values laid out as the contiguous (in, out) transpose. A decoding step
    multiplies a few rows by each weight, and at 8 rows MKL's kernel for that is faster on the transposed
    layout than on `F.linear`'s usual one (2 threads: 0.44x the time for GPT-2's 50257 x 768 head, 0.67-0.89x
    for the 10.8M char GPT's matrices); at one row the two layouts are even (0.97-1.16x), so one row keeps
    its weights and skips the copies (25 ms a call at the 10.8M shape, 0.12 ms a token over 200 tokens).
    The original weights go back on exit (for a stream: when it ends or is closed) and the mode with
    them; the transposed copies live only while inside. Weights on a GPU, or in shared memory, stay."""
    was_training = model.training
    linears = (
        m.weight for m in model.modules() if isinstance(m, nn.Linear) and m.weight.device.type == "cpu"
    )
    weights = list({id(w): w for w in linears if not w.is_shared()}.values()) if rows > 1 else []
    originals = [w.data for w in weights]
    model.eval()
    try:
        for w in weights:  # (MKL's kernel: CPU only)
            w.data = w.data.t().contiguous().t()
        yield
    finally:
        for w, data in zip(weights, originals, strict=True):
            w.data = data
        model.train(was_training)


@torch.inference_mode()  # no autograd and no version counters: less work per operator than no_grad
def next_tokens(
    model: nn.Module,
    ctx: torch.Tensor,
    max_new: int,
    stop: int | list[list[int]] | None = None,
    mask: torch.Tensor | None = None,
    use_cache: bool = True,
    repetition_penalty: float = 1.0,
    **sampling: Any,
) -> Iterator[torch.Tensor]:
    """Yield (N,) sampled tokens one at a time after the contexts `ctx` (N, L), in eval mode; a window
    model needs L >= block_size. `stop`, a token id or token-id sequences: ends once every row has
    generated one; a row that has repeats its last token until then. A model with `new_cache` (GPT,
    Llama) keeps a KV cache, so each step feeds it the new token only (until the context is full; after
    that each step reruns the last block_size tokens), unless `use_cache=False`; `mask` (N, L), False at
    left padding, goes to such a model. `repetition_penalty` > 1 makes each token already in a row (not
    its padding) less likely (Keskar et al. 2019, as HF: a positive logit divided by it, a negative one
    multiplied). `sampling`: temperature, top_k, top_p, generator (as `sample_next`). The tokens come
    from `torch.inference_mode`: to use one in autograd, `.clone()` it outside the loop; and while a
    batch of more than one row is being generated, `decoding` holds the weights transposed, so the model
    trains again once the iterator is closed."""
    if ctx.numel() == 0:
        raise ValueError("the prompt is empty: give at least one token")
    if mask is not None and mask.shape != ctx.shape:
        raise ValueError(f"mask has shape {tuple(mask.shape)}, the prompt {tuple(ctx.shape)}")
    if repetition_penalty <= 0:
        raise ConfigError(f"repetition_penalty={repetition_penalty} must be > 0 (1 is none)")
    stops = [[stop]] if isinstance(stop, int) else [list(q) for q in stop or [] if len(q)]
    start = ctx.size(1)
    T = model.config.block_size
    cache = None
    if use_cache and hasattr(model, "new_cache"):
        cache = model.new_cache(len(ctx), min(T, ctx.size(1) + max_new))
    done = torch.zeros(len(ctx), dtype=torch.bool, device=ctx.device)
    x, m = ctx, mask  # what the model has not seen yet: the whole prompt, then one token per step
    with decoding(model, len(ctx)):
        for _ in range(max(max_new, 0)):
            if cache is None or cache.n + x.size(1) > cache.length:
                # no cache, or a full one: the last T tokens again (positions cannot slide under a cache)
                x, m = ctx[:, -T:], None if mask is None else mask[:, -T:]
                if cache is not None:
                    cache.reset()
            kw = ({} if mask is None else {"mask": m}) | ({} if cache is None else {"cache": cache})
            logits = model(x, **kw)[0]  # (N, V) or (N, L, V)
            logits = logits if logits.dim() == 2 else logits[:, -1, :]  # (N, V)
            if repetition_penalty != 1.0:
                ids = ctx if mask is None else torch.where(mask, ctx, ctx[:, -1:])  # padding is not seen
                seen = logits.gather(1, ids)  # (N, L): the logit of every token already in the row
                seen = torch.where(seen > 0, seen / repetition_penalty, seen * repetition_penalty)
                logits = logits.scatter(1, ids, seen)
            nxt = sample_next(logits, **sampling)  # (N,)
            if stops:
                nxt = torch.where(done, ctx[:, -1], nxt)  # a finished row repeats its last token
            yield nxt
            ctx = torch.cat([ctx, nxt[:, None]], dim=1)
            x, m = nxt[:, None], None  # a sampled token is real
            if mask is not None:
                mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
            if stops:
                new = ctx[:, start:]
                for q in stops:
                    if new.size(1) >= len(q):
                        done |= (new[:, -len(q) :] == torch.tensor(q, device=new.device)).all(dim=1)
                if done.all():
                    break


__all__ = ["check_sampling", "decoding", "next_tokens", "sample_next"]
