"""Muon (MomentUm Orthogonalized by Newton-Schulz; Keller Jordan 2024, modded-nanogpt and the `muon`
package), with AdamW for the parameters Muon is not for (Jordan's `MuonWithAuxAdam`).

For a weight matrix W with gradient G, Muon keeps SGD's momentum M <- mu M + (1 - mu) G and steps along
the semi-orthogonal matrix nearest to its Nesterov form N = mu M + (1 - mu) G: if N = U S V^T, the step is
O = U V^T, every singular value set to 1, so that no direction of the update dominates the others. An SVD
each step is slow, so O comes from five steps of a quintic Newton-Schulz iteration on X = N / ||N||_F
(whose singular values lie in (0, 1]): X <- a X + b (X X^T) X + c (X X^T)^2 X, a polynomial
p(s) = a s + b s^3 + c s^5 applied to each singular value. Jordan's (a, b, c) = (3.4445, -4.7750, 2.0315)
make p'(0) = a large, to lift small singular values fast, at the price of not converging: after five
steps the singular values lie in about [0.7, 1.2], not at 1 (tested), which he found trains as well.
The step is scaled by sqrt(max(1, rows / cols)) (the package's `adjust_lr`) and decoupled weight decay
shrinks W by lr * weight_decay, as AdamW's.

Muon is for hidden matrices: `param_groups` gives it the 2-D weights of the Linear layers, and AdamW
everything else, the embeddings and the output head (a module named `lm_head`, tied or not), biases and
norm gains, as modded-nanogpt does. AdamW here is written out (`_adamw`) and tested equal to torch's.
"""

from __future__ import annotations

import torch
from torch import nn

NS_COEFFS = (3.4445, -4.7750, 2.0315)


def newton_schulz(G: torch.Tensor, steps: int = 5, eps: float = 1e-7) -> torch.Tensor:
    """An approximation of U V^T for G = U S V^T (R, K): five quintic Newton-Schulz steps (float32)."""
    ### BEGIN SOLUTION
    a, b, c = NS_COEFFS
    X = G.float()
    tall = G.size(-2) > G.size(-1)
    if tall:  # iterate on the wide side: X X^T is then the smaller Gram matrix
        X = X.mT
    X = X / (X.norm(dim=(-2, -1), keepdim=True) + eps)  # ||X||_2 <= ||X||_F = 1
    for _ in range(steps):
        A = X @ X.mT  # (R, R)
        X = a * X + (b * A + c * A @ A) @ X  # p(s) on each singular value s
    ### END SOLUTION
    return X.mT if tall else X


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Muon for the 2-D weights of Linear layers except the head (`lm_head`); AdamW for the rest, with
    weight decay on embeddings and the head, none on biases and norm gains."""
    muon = {
        id(m.weight)
        for name, m in model.named_modules()
        if isinstance(m, nn.Linear) and name.split(".")[-1] != "lm_head" and m.weight.requires_grad
    }
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    muon -= embeddings  # a head tied to the embedding is the embedding
    params = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in params if id(p) in muon], "use_muon": True, "weight_decay": weight_decay},
        {
            "params": [p for p in params if id(p) not in muon and p.dim() >= 2],
            "use_muon": False,
            "weight_decay": weight_decay,
        },
        {"params": [p for p in params if p.dim() < 2], "use_muon": False, "weight_decay": 0.0},
    ]


class Muon(torch.optim.Optimizer):
    """Muon on the groups with `use_muon`, AdamW on the others. Each group may carry its own `lr`."""

    def __init__(self, groups, lr=0.02, momentum=0.95, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0):
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum={momentum} must be in [0, 1)")
        defaults = dict(lr=lr, momentum=momentum, betas=betas, eps=eps, weight_decay=weight_decay)
        super().__init__(groups, {"use_muon": False, **defaults})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if group["use_muon"]:
                    self._muon(p, group)
                else:
                    self._adamw(p, group)
        return loss

    def _muon(self, p: torch.Tensor, group: dict) -> None:
        state, mu = self.state[p], group["momentum"]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(p)
        m = state["momentum_buffer"]
        m.lerp_(p.grad, 1 - mu)  # M <- mu M + (1 - mu) G
        nesterov = p.grad.lerp(m, mu)  # mu M + (1 - mu) G, with the new M
        O = newton_schulz(nesterov.reshape(len(p), -1)).view_as(p)
        p.mul_(1 - group["lr"] * group["weight_decay"])
        p.add_(O.to(p.dtype), alpha=-group["lr"] * max(1.0, p.size(0) / p[0].numel()) ** 0.5)

    def _adamw(self, p: torch.Tensor, group: dict) -> None:
        state, (b1, b2) = self.state[p], group["betas"]
        if "step" not in state:
            state["step"] = torch.zeros((), dtype=torch.float32)
            state["exp_avg"], state["exp_avg_sq"] = torch.zeros_like(p), torch.zeros_like(p)
        state["step"] += 1
        t = state["step"].item()
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(p.grad, 1 - b1)
        v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
        p.mul_(1 - group["lr"] * group["weight_decay"])
        denom = (v.sqrt() / (1 - b2**t) ** 0.5).add_(group["eps"])
        p.addcdiv_(m, denom, value=-group["lr"] / (1 - b1**t))


__all__ = ["Muon", "newton_schulz", "param_groups"]
