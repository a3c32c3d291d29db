"""Backprop by hand: the MLP + BatchNorm language model with every layer's backward pass written out.

Reference: "Zero to Hero" makemore part 4, "Becoming a Backprop Ninja" (karpathy/nn-zero-to-hero,
`makemore_part4_backprop.ipynb`). The network is the lecture's: embedding `C`, Linear `W1, b1`, BatchNorm
(`bngain`, `bnbias`), tanh, Linear `W2, b2`, cross-entropy; weights stored `(in, out)` as in the notebook.

Each layer's backward is a small function next to the formula it implements; `manual_backward` chains them.
`ManualMLP` plugs them into the trainer through a `torch.autograd.Function` whose `backward` is ours, so the
trainer's `loss.backward()` runs the hand-written gradients and nothing of autograd. Tests compare each
function and the whole chain with autograd in float64 within 1e-6.

Difference from the lecture: BatchNorm normalises with the biased batch variance (as `nn.BatchNorm1d`; the
notebook uses Bessel's correction), so the BatchNorm backward is the biased-variance formula.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class BackpropConfig:
    vocab_size: int = 27
    block_size: int = 3
    n_embd: int = 10
    n_hidden: int = 200  # the notebook's final exercise: 12,297 parameters
    eps: float = 1e-5
    momentum: float = 0.001  # running statistics, as the notebook's 0.999 / 0.001 update

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_embd", "n_hidden"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name}={getattr(self, name)} must be >= 1")
        if not 0.0 < self.momentum <= 1.0:
            raise ValueError(f"model.momentum={self.momentum} must be in (0, 1]")
        if not self.eps > 0:
            raise ValueError(f"model.eps={self.eps} must be > 0")


# ---------------------------------------------------------------------------------------------------
# One backward function per layer (each returns the gradients of its inputs and parameters)


def cross_entropy_backward(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """d mean(-log softmax(logits)[y]) / d logits = (softmax(logits) - one_hot(y)) / B."""
    B = logits.size(0)
    dlogits = F.softmax(logits, dim=1)  # (B, V)
    dlogits[torch.arange(B), y] -= 1
    return dlogits / B


def linear_backward(dout: torch.Tensor, x: torch.Tensor, W: torch.Tensor):
    """out = x @ W + b:  dx = dout W^T,  dW = x^T dout,  db = sum_batch dout."""
    return dout @ W.T, x.T @ dout, dout.sum(0)


def tanh_backward(dout: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """h = tanh(x):  dx = dout (1 - h^2)."""
    return dout * (1 - h**2)


def batchnorm_backward(dout: torch.Tensor, xhat: torch.Tensor, gamma: torch.Tensor, var_inv: torch.Tensor):
    """out = gamma xhat + beta, xhat = (x - mean) var_inv, var_inv = (var + eps)^-1/2, var biased.

    Folding the paths through mean and var into one expression (n the batch size):
    dx = gamma var_inv / n (n dout - sum dout - xhat sum(dout xhat)),
    dgamma = sum dout xhat,  dbeta = sum dout.
    """
    n = dout.size(0)
    dgamma = (dout * xhat).sum(0)
    dbeta = dout.sum(0)
    dx = gamma * var_inv / n * (n * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


def embedding_backward(demb: torch.Tensor, idx: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """emb = C[idx]: each row of demb adds into the row of C it was read from."""
    dC = torch.zeros(vocab_size, demb.size(-1), dtype=demb.dtype, device=demb.device)
    return dC.index_add_(0, idx.reshape(-1), demb.reshape(-1, demb.size(-1)))


# ---------------------------------------------------------------------------------------------------
# The forward pass that keeps what the backward needs, and the chained backward


def manual_forward(X, Y, C, W1, b1, bngain, bnbias, W2, b2, eps: float) -> tuple[torch.Tensor, dict]:
    """Training-mode forward; returns the loss and the cache of intermediates."""
    B = X.size(0)
    embcat = C[X].view(B, -1)  # (B, T, E) -> (B, T * E)
    hprebn = embcat @ W1 + b1  # (B, H)
    bnmean = hprebn.mean(0)
    bnvar = hprebn.var(0, unbiased=False)
    bnvar_inv = (bnvar + eps) ** -0.5
    bnraw = (hprebn - bnmean) * bnvar_inv  # (B, H)
    h = torch.tanh(bngain * bnraw + bnbias)  # (B, H)
    logits = h @ W2 + b2  # (B, V)
    loss = F.cross_entropy(logits, Y)
    cache = dict(
        X=X,
        Y=Y,
        embcat=embcat,
        bnmean=bnmean,
        bnvar=bnvar,
        bnvar_inv=bnvar_inv,
        bnraw=bnraw,
        h=h,
        logits=logits,
    )
    return loss, cache


def manual_backward(cache: dict, C, W1, bngain, W2) -> tuple[torch.Tensor, ...]:
    """Gradients of the mean loss w.r.t. (C, W1, b1, bngain, bnbias, W2, b2), layer by layer."""
    dlogits = cross_entropy_backward(cache["logits"], cache["Y"])
    dh, dW2, db2 = linear_backward(dlogits, cache["h"], W2)
    dhpreact = tanh_backward(dh, cache["h"])
    dhprebn, dbngain, dbnbias = batchnorm_backward(dhpreact, cache["bnraw"], bngain, cache["bnvar_inv"])
    dembcat, dW1, db1 = linear_backward(dhprebn, cache["embcat"], W1)
    dC = embedding_backward(
        dembcat.view(*cache["X"].shape, -1), cache["X"], C.size(0)
    )  # (B, T * E) -> (B, T, E)
    return dC, dW1, db1, dbngain, dbnbias, dW2, db2


class _ManualMLPFunction(torch.autograd.Function):
    """Forward as `manual_forward`; backward is `manual_backward`, never autograd."""

    @staticmethod
    def forward(ctx, X, Y, eps, C, W1, b1, bngain, bnbias, W2, b2):
        loss, cache = manual_forward(X, Y, C, W1, b1, bngain, bnbias, W2, b2, eps)
        ctx.cache, ctx.params = cache, (C, W1, bngain, W2)
        ctx.mark_non_differentiable(cache["bnmean"], cache["bnvar"])
        return loss, cache["bnmean"], cache["bnvar"]

    @staticmethod
    def backward(ctx, dloss, _dmean, _dvar):
        grads = manual_backward(ctx.cache, *ctx.params)
        return (None, None, None, *(g * dloss for g in grads))


# ---------------------------------------------------------------------------------------------------
# The model


class ManualMLP(nn.Module):
    def __init__(self, cfg: BackpropConfig):
        super().__init__()
        self.config = cfg
        V, E, H, n_in = cfg.vocab_size, cfg.n_embd, cfg.n_hidden, cfg.block_size * cfg.n_embd
        # the notebook's init: small non-zero biases and gains so that no gradient is trivially zero
        self.C = nn.Parameter(torch.randn(V, E))
        self.W1 = nn.Parameter(torch.randn(n_in, H) * (5 / 3) / math.sqrt(n_in))
        self.b1 = nn.Parameter(torch.randn(H) * 0.1)  # useless before BN, kept to check its gradient is 0
        self.bngain = nn.Parameter(torch.randn(H) * 0.1 + 1.0)
        self.bnbias = nn.Parameter(torch.randn(H) * 0.1)
        self.W2 = nn.Parameter(torch.randn(H, V) * 0.1)
        self.b2 = nn.Parameter(torch.randn(V) * 0.1)
        self.register_buffer("running_mean", torch.zeros(H))
        self.register_buffer("running_var", torch.ones(H))

    def params(self) -> tuple[torch.Tensor, ...]:
        return self.C, self.W1, self.b1, self.bngain, self.bnbias, self.W2, self.b2

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """idx (B, T) -> logits (B, V) (eval mode or no targets), or (None, loss) with our backward."""
        if self.training and targets is not None:
            loss, mean, var = _ManualMLPFunction.apply(idx, targets, self.config.eps, *self.params())
            with torch.no_grad():
                m, n = self.config.momentum, idx.size(0)
                self.running_mean.mul_(1 - m).add_(m * mean)
                self.running_var.mul_(1 - m).add_(m * var * n / max(n - 1, 1))
            return None, loss
        B = idx.size(0)
        h = self.C[idx].view(B, -1) @ self.W1 + self.b1  # (B, T * E) -> (B, H)
        h = (h - self.running_mean) / torch.sqrt(self.running_var + self.config.eps)
        logits = torch.tanh(self.bngain * h + self.bnbias) @ self.W2 + self.b2  # (B, V)
        return logits, None if targets is None else F.cross_entropy(logits, targets)


__all__ = [
    "BackpropConfig",
    "ManualMLP",
    "batchnorm_backward",
    "cross_entropy_backward",
    "embedding_backward",
    "linear_backward",
    "manual_backward",
    "manual_forward",
    "tanh_backward",
]
