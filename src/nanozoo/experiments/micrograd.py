"""micrograd on two moons: karpathy/micrograd's demo.ipynb, reproduced (same data, same init, same loss and
schedule). Its table: experiments/tables/micrograd.py."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nanozoo.core import plots
from nanozoo.core.config import ConfigError
from nanozoo.experiments.loops import finish, positive

# ---------------------------------------------------------------------------------------------------
# moons-mlp: micrograd's demo


@dataclass
class MoonsData:
    n_samples: int = 100
    noise: float = 0.1
    seed: int = 1337  # the demo's np.random.seed(1337)

    def __post_init__(self):
        positive("data", self, "n_samples")


@dataclass
class MoonsModel:
    hidden: tuple[int, ...] = (16, 16)

    def __post_init__(self):
        if not self.hidden or min(self.hidden) < 1:
            raise ConfigError(f"model.hidden={self.hidden}: needs at least one layer, each of >= 1 neuron")


@dataclass
class MoonsTrain:
    steps: int = 100
    lr: float = 1.0  # decays linearly to lr * (1 - 0.9 * (steps-1)/steps), as in the demo
    alpha: float = 1e-4  # L2 weight
    seed: int = 1337  # the demo's random.seed(1337): the initial weights

    def __post_init__(self):
        positive("train", self, "steps", "lr")
        if self.alpha < 0:
            raise ConfigError(f"train.alpha={self.alpha} must be >= 0")


@dataclass
class MoonsConfig:
    data: MoonsData = field(default_factory=MoonsData)
    model: MoonsModel = field(default_factory=MoonsModel)
    train: MoonsTrain = field(default_factory=MoonsTrain)


def moons(cfg: MoonsData) -> tuple[list[list[float]], list[float]]:
    """make_moons as the demo draws it, labels in {-1, +1}, as Python floats (the engine's native type)."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=cfg.n_samples, noise=cfg.noise, random_state=cfg.seed)
    return X.tolist(), (2.0 * y - 1.0).tolist()


def max_margin_loss(model, X, y, alpha: float):
    """mean_n relu(1 - y_n s_n) + alpha sum_p p^2, and the accuracy of sign(s_n) (the demo's `loss()`)."""
    from nanozoo.autograd import Value

    scores = [model(x) for x in X]
    margins = [(1.0 - yi * s).relu() for yi, s in zip(y, scores, strict=True)]
    data_loss = Value.sum(margins) * (1.0 / len(y))
    reg = alpha * Value.sum([p * p for p in model.parameters()])
    acc = sum((yi > 0) == (s.data > 0) for yi, s in zip(y, scores, strict=True)) / len(y)
    return data_loss + reg, acc


def run_moons(cfg: MoonsConfig, run_dir: Path, data_dir: Path | None) -> dict:
    from nanozoo.autograd import MLP, SGD, gc_paused

    X, y = moons(cfg.data)
    model = MLP(2, [*cfg.model.hidden, 1], seed=cfg.train.seed)
    opt, history, t0 = SGD(model.parameters(), lr=cfg.train.lr), [], time.perf_counter()
    for k in range(cfg.train.steps):
        with gc_paused():  # the graph is acyclic: reference counting frees it (see gc_paused)
            loss, acc = max_margin_loss(model, X, y, cfg.train.alpha)
            opt.zero_grad()
            loss.backward()
            opt.lr = cfg.train.lr * (1.0 - 0.9 * k / cfg.train.steps)
            opt.step()
        history.append(
            {"elapsed_s": time.perf_counter() - t0, "train_loss": loss.data, "train_acc": acc, "lr": opt.lr}
        )
    loss, acc = max_margin_loss(model, X, y, cfg.train.alpha)  # after the last step
    fig = _draw_boundary(model, np.array(X), np.array(y), acc)
    return finish(
        run_dir, t0, history, {"train_loss": loss.data, "train_acc": acc}, fig, "decision_boundary.png"
    )


# class -1 / +1: its points in a strong colour, the region where the model predicts it in a light one
CLASSES = {-1.0: ("#d7301f", "#fcbba1"), 1.0: ("#2166ac", "#c6dbef")}


def _draw_boundary(model, X: np.ndarray, y: np.ndarray, acc: float, n: int = 60):
    plt = plots.plt
    xs = np.linspace(X[:, 0].min() - 1, X[:, 0].max() + 1, n)
    ys = np.linspace(X[:, 1].min() - 1, X[:, 1].max() + 1, n)
    S = np.array([[model([a, b]).data for a in xs] for b in ys])  # (n, n) the score at each grid point
    fig, ax = plt.subplots(figsize=(6.5, 5))
    levels = [min(S.min(), 0) - 1, 0, max(S.max(), 0) + 1]  # the sign of the score: below 0 is class -1
    ax.contourf(xs, ys, S, levels=levels, colors=[region for _, region in CLASSES.values()])
    if S.min() < 0 < S.max():
        ax.contour(xs, ys, S, levels=[0.0], colors="k", linewidths=1.5)
    for label, (colour, region) in CLASSES.items():
        m = y == label
        ax.scatter(X[m, 0], X[m, 1], s=30, color=colour, edgecolors="k", lw=0.5, label=f"class {label:+.0f}")
        ax.fill_between([], [], color=region, label=f"predicted {label:+.0f}")
    ax.plot([], [], "k-", lw=1.5, label="decision boundary")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(f"micrograd MLP on two moons: train accuracy {acc:.1%}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8)
    return fig
