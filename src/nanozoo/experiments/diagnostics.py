"""The diagnostics the makemore lectures made famous, as numbers and pictures.

Reference: "Zero to Hero" makemore part 3 (karpathy/nn-zero-to-hero, `makemore_part3_bn.ipynb`): a deep MLP
(5 hidden layers of 100 tanh units) on the names, trained by SGD, with
1. the histogram of every layer's tanh outputs and the fraction saturated (|t| > 0.97);
2. the histogram of every layer's output gradients;
3. the update-to-data ratio log10(std(lr * grad) / std(W)) of every weight matrix over training (about -3 is
   healthy).
`init_diagnostics` runs it for one initialisation ("bad": N(0, 1) weights saturate every tanh; "kaiming":
(5/3)/sqrt(fan_in) does not) and returns the statistics the pictures show, so tests assert on them.
`residual_diagnostics` compares a plain and a residual 20-layer MLP: gradient norm per layer, and at the first
layer over training.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from nanozoo.core import plots
from nanozoo.core.config import ConfigError
from nanozoo.data.names import random_rows, split_tensors
from nanozoo.models.mlp_lm import MLPLM, MLPConfig

SATURATED = 0.97  # |tanh| above this passes almost no gradient: 1 - t^2 < 0.06


# ---------------------------------------------------------------------------------------------------
# Statistics


def _windows(block_size: int, data_dir: Path | None) -> tuple[torch.Tensor, torch.Tensor]:
    _, _, tensors = split_tensors(str(data_dir) if data_dir else None, 42, "window", block_size)
    return tensors["train"]


def layer_stats(model: MLPLM) -> dict[str, list[float]]:
    """Per hidden layer, after a forward and backward with `model.record` on."""
    acts = [a.detach() for a in model.acts]
    grads = [a.grad for a in model.acts]
    return {
        "act_mean": [a.mean().item() for a in acts],
        "act_std": [a.std().item() for a in acts],
        "saturation": [(a.abs() > SATURATED).float().mean().item() for a in acts],
        "grad_std": [g.std().item() for g in grads],
    }


def _step(model: MLPLM, X, Y, gen: torch.Generator, batch_size: int) -> torch.Tensor:
    x, y = random_rows(X, Y, batch_size, gen)
    _, loss = model(x, y)
    model.zero_grad(set_to_none=True)
    loss.backward()  # model.record: each tanh output keeps its gradient
    return loss


def init_diagnostics(
    init: str = "kaiming",
    batchnorm: bool = False,
    n_layer: int = 5,
    n_hidden: int = 100,
    steps: int = 1000,
    batch_size: int = 32,
    lr: float = 0.1,
    seed: int = 42,
    data_dir: Path | None = None,
    out_dir: str | Path | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    """Train the lecture's deep MLP by SGD for `steps` steps; statistics at init and update ratios over
    training. With `out_dir`, writes activations.png, gradients.png and update_ratio.png there."""
    if steps < 1:
        raise ConfigError(f"--steps {steps} must be >= 1")
    if init not in ("kaiming", "bad", "torch"):
        raise ConfigError(f"init={init!r} must be one of kaiming, bad, torch")
    torch.set_num_threads(threads)  # as train.threads: small matmuls run fastest on one thread
    torch.manual_seed(seed)
    X, Y = _windows(3, data_dir)
    model = MLPLM(
        MLPConfig(block_size=3, n_embd=10, n_hidden=n_hidden, n_layer=n_layer, batchnorm=batchnorm, init=init)
    )
    model.record = True
    gen = torch.Generator().manual_seed(seed)
    weights = [layer.weight for layer in model.hidden]
    ratios: list[list[float]] = []
    losses = []
    for i in range(steps):
        loss = _step(model, X, Y, gen, batch_size)
        if i == 0:
            stats = layer_stats(model)
            hists = [(a.detach().flatten(), a.grad.flatten()) for a in model.acts]
        with torch.no_grad():
            ratios.append([math.log10((lr * w.grad).std().item() / w.std().item() + 1e-30) for w in weights])
            for p in model.parameters():
                p -= lr * p.grad
        losses.append(loss.item())
    stats["update_ratio"] = _tail_mean(ratios)
    stats["first_loss"], stats["last_loss"] = losses[0], sum(losses[-100:]) / len(losses[-100:])
    if out_dir is not None:
        _pictures(Path(out_dir), hists, ratios, stats, f"init={init}" + (" + BatchNorm" if batchnorm else ""))
    return stats


def _tail_mean(ratios: list[list[float]], n: int = 100) -> list[float]:
    """Per layer, the mean of the last n steps' update-to-data ratios."""
    tail = ratios[-n:]
    return [sum(r[j] for r in tail) / len(tail) for j in range(len(tail[0]))]


class TrainingWatch:
    """`nanozoo train EXP --diagnostics`: the same three pictures for a real run of an MLP experiment.

    Hooks the trainer's optimizer. Before the first step it keeps every hidden layer's tanh output and its
    gradient (the histograms at init, or where a resumed run starts); before each step it copies the hidden
    weights and after it logs log10(std(W_after - W_before) / std(W_before)): the update AdamW actually
    made, not lr * grad."""

    def __init__(self, model: torch.nn.Module, opt: torch.optim.Optimizer, start_step: int = 0):
        self.check(model)
        self.when = "at init" if start_step == 0 else f"at step {start_step} (resumed)"
        self.model, self.weights = model, [layer.weight for layer in model.hidden]
        self.stats: dict[str, Any] | None = None
        self.hists: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.ratios: list[list[float]] = []
        self._before: list[torch.Tensor] = []
        model.record = True
        opt.register_step_pre_hook(self._pre)
        opt.register_step_post_hook(self._post)

    @staticmethod
    def check(model: torch.nn.Module) -> None:
        """Refuse a model without the MLP's recorded tanh layers (before a run folder is made)."""
        if not isinstance(model, MLPLM):
            raise ConfigError(
                f"--diagnostics draws the MLP's tanh layers; this experiment trains a {type(model).__name__} "
                "(use names-mlp, names-mlp-bn or shakespeare-mlp)"
            )

    def _pre(self, opt, args, kwargs) -> None:
        if self.stats is None and self.model.acts:
            self.stats = layer_stats(self.model)
            self.hists = [(a.detach().flatten(), a.grad.flatten()) for a in self.model.acts]
            self.model.record, self.model.acts = False, []  # the rest of the run at full speed
        self._before = [w.detach().clone() for w in self.weights]

    @torch.no_grad()
    def _post(self, opt, args, kwargs) -> None:
        pairs = zip(self.weights, self._before, strict=True)
        self.ratios.append([math.log10((w - b).std().item() / b.std().item() + 1e-30) for w, b in pairs])

    def save(self, out_dir: str | Path, title: str) -> dict[str, Any]:
        """Write the pictures; returns the first step's statistics and the last 100 steps' update ratios."""
        if self.stats is None:
            raise ConfigError("--diagnostics: no training step was taken, so there is nothing to draw")
        stats = {**self.stats, "update_ratio": _tail_mean(self.ratios), "when": self.when}
        _pictures(Path(out_dir), self.hists, self.ratios, stats, title, self.when)
        return stats


# ---------------------------------------------------------------------------------------------------
# Pictures


def _hist_lines(
    ax, tensors: list[torch.Tensor], labels: list[str], lo: float | None = None, hi: float | None = None
) -> None:
    for t, label in zip(tensors, labels, strict=True):
        a, b = (lo, hi) if lo is not None else (t.min().item(), t.max().item() + 1e-12)
        counts = torch.histc(t.float(), bins=60, min=a, max=b)
        centres = torch.linspace(a, b, 61)[:-1] + (b - a) / 120
        ax.plot(centres.tolist(), (counts / counts.sum()).tolist(), label=label)
    ax.set_ylabel("fraction of values per bin")


def _legend_beside(ax, **kw) -> None:
    """The legend right of the axes, where it covers no curve (saving with a tight box keeps it)."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8, **kw)


def _pictures(out: Path, hists, ratios, stats, title: str, when: str = "at init") -> None:
    out.mkdir(parents=True, exist_ok=True)
    plt = plots.plt
    fig, ax = plt.subplots(figsize=(8, 3))
    _hist_lines(
        ax,
        [h[0] for h in hists],
        [
            f"layer {i + 1}: std {s:.2f}, saturated {p:.0%}"
            for i, (s, p) in enumerate(zip(stats["act_std"], stats["saturation"], strict=True))
        ],
        -1.0,
        1.0,
    )
    ax.set_xlabel(f"tanh output (saturated: |t| > {SATURATED})")
    ax.set_title(f"tanh activations {when} ({title})")
    _legend_beside(ax)
    plots.save(fig, out / "activations.png")
    fig, ax = plt.subplots(figsize=(8, 3))
    _hist_lines(
        ax,
        [h[1] for h in hists],
        [f"layer {i + 1}: grad std {s:.1e}" for i, s in enumerate(stats["grad_std"])],
    )
    ax.set_xlabel("gradient of the loss with respect to the tanh output")
    ax.set_title(f"gradients of the tanh outputs {when} ({title})")
    _legend_beside(ax)
    plots.save(fig, out / "gradients.png")
    fig, ax = plt.subplots(figsize=(8, 3))
    for j in range(len(ratios[0])):
        ax.plot([r[j] for r in ratios], label=f"layer {j + 1} weight")
    ax.axhline(-3, color="k", ls="--", lw=1, label="-3: the lecture's\nrule of thumb")
    ax.set_xlabel("step")
    ax.set_ylabel("log10 std(update) / std(W)")
    ax.set_title(f"update-to-data ratio ({title})")
    _legend_beside(ax)
    plots.save(fig, out / "update_ratio.png")


# ---------------------------------------------------------------------------------------------------
# Residual vs plain


def residual_diagnostics(
    n_layer: int = 20,
    n_hidden: int = 64,
    steps: int = 200,
    batch_size: int = 64,
    lr: float = 0.05,
    seed: int = 42,
    data_dir: Path | None = None,
    out_dir: str | Path | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    """Plain vs residual deep tanh MLP, torch's default init: gradient norm of every hidden weight at init,
    and of the first layer's over SGD steps. With `out_dir`, writes residual.png."""
    if steps < 1:
        raise ConfigError(f"--steps {steps} must be >= 1")
    torch.set_num_threads(threads)
    X, Y = _windows(3, data_dir)
    res: dict[str, Any] = {}
    for residual in (False, True):
        torch.manual_seed(seed)
        model = MLPLM(MLPConfig(n_hidden=n_hidden, n_layer=n_layer, residual=residual, init="torch"))
        gen = torch.Generator().manual_seed(seed)
        first, losses = [], []
        for i in range(steps):
            x, y = random_rows(X, Y, batch_size, gen)
            model.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x)[0], y)
            loss.backward()
            if i == 0:
                per_layer = [layer.weight.grad.norm().item() for layer in model.hidden]
            first.append(model.hidden[0].weight.grad.norm().item())
            losses.append(loss.item())
            with torch.no_grad():
                for p in model.parameters():
                    p -= lr * p.grad
        key = "residual" if residual else "plain"
        res[key] = {
            "grad_norm_per_layer": per_layer,
            "first_layer_grad_norm": first,
            "last_loss": sum(losses[-50:]) / len(losses[-50:]),
        }
    if out_dir is not None:
        _residual_picture(Path(out_dir), res)
    return res


def _residual_picture(out: Path, res: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    fig, (a, b) = plots.plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
    for key, r in res.items():
        n = len(r["grad_norm_per_layer"])
        a.semilogy(range(1, n + 1), r["grad_norm_per_layer"], marker="o", ms=3)
        b.semilogy(r["first_layer_grad_norm"], label=f"{key}\n(final loss {r['last_loss']:.2f})")
    a.set_xlabel("layer")
    a.set_ylabel("weight gradient norm at init")
    a.set_title(f"{n}-layer tanh MLP: gradient per layer")
    b.set_xlabel("SGD step")
    b.set_ylabel("layer 1 gradient norm")
    b.set_title("first layer during training")
    fig.legend(loc="outside right upper", fontsize=8)  # one legend: the colours mean the same in both
    plots.save(fig, out / "residual.png")


__all__ = ["SATURATED", "init_diagnostics", "layer_stats", "residual_diagnostics"]
