"""The first rungs: micrograd on two moons, and the classic numpy models, each with its picture.

- `moons-mlp`: karpathy/micrograd's demo.ipynb, reproduced: same data, same init, same loss and schedule.
- `linreg-synthetic`: least squares by lstsq and by gradient descent on a noisy line.
- `logreg-digits`: softmax regression on scikit-learn's 8x8 digits, next to scikit-learn's own.
- `kmeans-blobs`: k-means++ and Lloyd on Gaussian blobs, next to scikit-learn's KMeans.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nanozoo.core import plots
from nanozoo.core.config import ConfigError
from nanozoo.core.runlog import MetricsLog
from nanozoo.experiments.registry import Experiment, Reference, register


def _positive(section: str, obj, *names: str) -> None:
    for n in names:
        if getattr(obj, n) <= 0:
            raise ConfigError(f"{section}.{n}={getattr(obj, n)} must be > 0")


def _one_blas_thread():
    """Small matrices: a second BLAS thread only spins on a busy machine (24 s instead of 0.3 s measured)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


# ---------------------------------------------------------------------------------------------------
# moons-mlp: micrograd's demo


@dataclass
class MoonsData:
    n_samples: int = 100
    noise: float = 0.1
    seed: int = 1337  # the demo's np.random.seed(1337)

    def __post_init__(self):
        _positive("data", self, "n_samples")


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
        _positive("train", self, "steps", "lr")
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
    opt, log, t0 = SGD(model.parameters(), lr=cfg.train.lr), MetricsLog(run_dir), time.perf_counter()
    for k in range(cfg.train.steps):
        with gc_paused():  # the graph is acyclic: reference counting frees it (see gc_paused)
            loss, acc = max_margin_loss(model, X, y, cfg.train.alpha)
            opt.zero_grad()
            loss.backward()
            opt.lr = cfg.train.lr * (1.0 - 0.9 * k / cfg.train.steps)
            opt.step()
        log.write(k, time.perf_counter() - t0, train_loss=loss.data, train_acc=acc, lr=opt.lr)
    loss, acc = max_margin_loss(model, X, y, cfg.train.alpha)  # after the last step
    _draw_boundary(model, np.array(X), np.array(y), run_dir / "decision_boundary.png")
    return {"train_loss": loss.data, "train_acc": acc}


def _draw_boundary(model, X: np.ndarray, y: np.ndarray, path: Path, n: int = 60) -> None:
    plt = plots.plt
    xs = np.linspace(X[:, 0].min() - 1, X[:, 0].max() + 1, n)
    ys = np.linspace(X[:, 1].min() - 1, X[:, 1].max() + 1, n)
    Z = np.array([[model([a, b]).data > 0 for a in xs] for b in ys])  # (n, n) the sign of the score
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.contourf(xs, ys, Z, cmap="Spectral", alpha=0.8)
    ax.scatter(X[:, 0], X[:, 1], c=y, s=40, cmap="Spectral", edgecolors="k")
    ax.set_title("micrograd MLP on two moons: decision boundary")
    plots.save(fig, path)


# ---------------------------------------------------------------------------------------------------
# linreg-synthetic


@dataclass
class SyntheticData:
    n_samples: int = 200
    noise: float = 10.0
    val_fraction: float = 0.2
    seed: int = 0

    def __post_init__(self):
        _positive("data", self, "n_samples")
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"data.val_fraction={self.val_fraction} must be in (0, 1)")


@dataclass
class LinregTrain:
    alpha: float = 0.0  # L2 weight (ridge)
    lr: float = 0.1
    steps: int = 300

    def __post_init__(self):
        _positive("train", self, "lr", "steps")


@dataclass
class LinregConfig:
    data: SyntheticData = field(default_factory=SyntheticData)
    train: LinregTrain = field(default_factory=LinregTrain)


def run_linreg(cfg: LinregConfig, run_dir: Path, data_dir: Path | None) -> dict:
    from sklearn.datasets import make_regression

    from nanozoo.classic import LinearRegression

    d, t0 = cfg.data, time.perf_counter()
    X, y = make_regression(d.n_samples, 1, noise=d.noise, bias=5.0, random_state=d.seed)
    n_val = max(1, int(d.val_fraction * len(X)))
    Xtr, ytr, Xva, yva = X[n_val:], y[n_val:], X[:n_val], y[:n_val]
    exact = LinearRegression(alpha=cfg.train.alpha).fit(Xtr, ytr)
    gd = LinearRegression(alpha=cfg.train.alpha, method="gd", lr=cfg.train.lr, max_iter=cfg.train.steps).fit(
        Xtr, ytr
    )
    log = MetricsLog(run_dir)
    for k, loss in enumerate(gd.loss_history_):
        log.write(k, time.perf_counter() - t0, train_loss=loss)
    gap = float(max(np.abs(gd.coef_ - exact.coef_).max(), abs(gd.intercept_ - exact.intercept_)))
    final = {
        "train_loss": gd.loss(Xtr, ytr),
        "val_loss": gd.loss(Xva, yva),
        "val_r2": gd.score(Xva, yva),
        "coef_gap": gap,
    }
    log.write(len(gd.loss_history_), time.perf_counter() - t0, **final)

    plt = plots.plt
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.scatter(Xtr[:, 0], ytr, s=12, alpha=0.6, label="train")
    ax.scatter(Xva[:, 0], yva, s=12, alpha=0.6, label="val")
    line = np.linspace(X.min(), X.max(), 2)[:, None]
    ax.plot(
        line,
        exact.predict(line),
        "k-",
        lw=2,
        label=f"lstsq: y = {exact.coef_[0]:.3f} x + {exact.intercept_:.3f}",
    )
    ax.plot(line, gd.predict(line), "r--", lw=2, label=f"GD ({len(gd.loss_history_)} steps)")
    ax.set_title("linear regression on a noisy line")
    ax.legend()
    plots.save(fig, run_dir / "fit.png")
    return final


# ---------------------------------------------------------------------------------------------------
# logreg-digits


@dataclass
class DigitsData:
    test_fraction: float = 0.25
    seed: int = 0

    def __post_init__(self):
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"data.test_fraction={self.test_fraction} must be in (0, 1)")


@dataclass
class LogregTrain:
    alpha: float = 1e-3  # L2 weight on the mean loss; scikit-learn's C = 1 / (alpha N)
    lr: float = 0.5
    steps: int = 800

    def __post_init__(self):
        _positive("train", self, "lr", "steps")
        if self.alpha < 0:
            raise ConfigError(f"train.alpha={self.alpha} must be >= 0")


@dataclass
class LogregConfig:
    data: DigitsData = field(default_factory=DigitsData)
    train: LogregTrain = field(default_factory=LogregTrain)


def run_logreg(cfg: LogregConfig, run_dir: Path, data_dir: Path | None) -> dict:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression as SkLogReg
    from sklearn.model_selection import train_test_split

    from nanozoo.classic import LogisticRegression

    t0 = time.perf_counter()
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=cfg.data.test_fraction, random_state=cfg.data.seed)
    mu, sd = Xtr.mean(axis=0), Xtr.std(axis=0) + 1e-8  # standardise with train statistics
    Xtr, Xte = (Xtr - mu) / sd, (Xte - mu) / sd
    tr = cfg.train
    with _one_blas_thread():
        model = LogisticRegression(alpha=tr.alpha, lr=tr.lr, max_iter=tr.steps).fit(Xtr, ytr)
        sk = SkLogReg(C=1.0 / (tr.alpha * len(Xtr)) if tr.alpha else np.inf, max_iter=5000).fit(Xtr, ytr)
    log = MetricsLog(run_dir)
    for k, loss in enumerate(model.loss_history_):
        log.write(k, time.perf_counter() - t0, train_loss=loss)
    final = {
        "train_acc": model.score(Xtr, ytr),
        "test_acc": model.score(Xte, yte),
        "sklearn_test_acc": float(sk.score(Xte, yte)),
    }
    log.write(len(model.loss_history_), time.perf_counter() - t0, **final)

    plt = plots.plt
    fig, axes = plt.subplots(2, 10, figsize=(12, 3.2))
    for k in range(10):  # what each class's weights look for, and one test digit with its prediction
        axes[0, k].imshow(model.coef_[k].reshape(8, 8), cmap="RdBu_r")
        axes[0, k].set_title(f"w[{k}]", fontsize=9)
        i = int(np.flatnonzero(yte == k)[0])
        pred = int(model.predict(Xte[i : i + 1])[0])
        axes[1, k].imshow((Xte[i] * sd + mu).reshape(8, 8), cmap="gray_r")
        axes[1, k].set_title(f"pred {pred}", fontsize=9, color="k" if pred == k else "r")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"softmax regression on digits: test accuracy {final['test_acc']:.3f}")
    plots.save(fig, run_dir / "weights.png")
    return final


# ---------------------------------------------------------------------------------------------------
# kmeans-blobs


@dataclass
class BlobsData:
    n_samples: int = 500
    centers: int = 5
    n_features: int = 2
    cluster_std: float = 1.0
    seed: int = 0

    def __post_init__(self):
        _positive("data", self, "n_samples", "centers", "n_features", "cluster_std")


@dataclass
class KMeansTrain:
    k: int = 5
    n_init: int = 10
    max_iter: int = 300
    seed: int = 0

    def __post_init__(self):
        _positive("train", self, "k", "n_init", "max_iter")


@dataclass
class KMeansConfig:
    data: BlobsData = field(default_factory=BlobsData)
    train: KMeansTrain = field(default_factory=KMeansTrain)


def run_kmeans(cfg: KMeansConfig, run_dir: Path, data_dir: Path | None) -> dict:
    from sklearn.cluster import KMeans as SkKMeans
    from sklearn.datasets import make_blobs

    from nanozoo.classic import PCA, KMeans

    d, tr, t0 = cfg.data, cfg.train, time.perf_counter()
    X, _ = make_blobs(
        d.n_samples, d.n_features, centers=d.centers, cluster_std=d.cluster_std, random_state=d.seed
    )
    with _one_blas_thread():
        km = KMeans(tr.k, n_init=tr.n_init, max_iter=tr.max_iter, seed=tr.seed).fit(X)
        sk = SkKMeans(tr.k, n_init=tr.n_init, max_iter=tr.max_iter, random_state=tr.seed).fit(X)
    log = MetricsLog(run_dir)
    for k, inertia in enumerate(km.inertia_history_):
        log.write(k, time.perf_counter() - t0, inertia=inertia)
    final = {
        "inertia": km.inertia_,
        "sklearn_inertia": float(sk.inertia_),
        "inertia_ratio": km.inertia_ / float(sk.inertia_),
    }
    log.write(len(km.inertia_history_), time.perf_counter() - t0, **final)

    P = PCA(2).fit(X) if X.shape[1] > 2 else None  # draw more than two features in the top-2 PCA plane
    X2, C2 = (P.transform(X), P.transform(km.cluster_centers_)) if P else (X, km.cluster_centers_)
    plt = plots.plt
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.scatter(X2[:, 0], X2[:, 1], c=km.labels_, s=12, cmap="tab10", alpha=0.7)
    ax.scatter(C2[:, 0], C2[:, 1], c="k", marker="X", s=200, edgecolors="w", label="centroids")
    ax.set_title(f"k-means, k={tr.k}: inertia {km.inertia_:.1f} (scikit-learn {sk.inertia_:.1f})")
    ax.legend()
    plots.save(fig, run_dir / "clusters.png")
    return final


# ---------------------------------------------------------------------------------------------------
# Registry

register(
    Experiment(
        name="moons-mlp",
        summary="micrograd MLP 2-16-16-1 on make_moons, max-margin loss + L2 (karpathy/micrograd demo)",
        config=MoonsConfig,
        run=run_moons,
        reference=Reference(
            "train_acc",
            1.0,
            "karpathy/micrograd demo.ipynb: 100% train accuracy at step 99 (loss 0.010978)",
            lower_is_better=False,
        ),
    )
)
register(
    Experiment(
        name="linreg-synthetic",
        summary="linear regression, lstsq and gradient descent, on a noisy synthetic line (numpy)",
        config=LinregConfig,
        run=run_linreg,
        reference=Reference(
            "coef_gap",
            1e-3,
            "issue 3: GD coefficients within 1e-3 of the closed form "
            "(which equals scikit-learn's LinearRegression to 1e-6)",
        ),
    )
)
register(
    Experiment(
        name="logreg-digits",
        summary="softmax regression by gradient descent on load_digits (numpy)",
        config=LogregConfig,
        run=run_logreg,
        reference=Reference(
            "test_acc",
            0.9644,
            "scikit-learn 1.9 LogisticRegression (lbfgs), same objective, split and scaling",
            lower_is_better=False,
        ),
    )
)
register(
    Experiment(
        name="kmeans-blobs",
        summary="k-means++ and Lloyd, 10 restarts, on make_blobs (numpy)",
        config=KMeansConfig,
        run=run_kmeans,
        reference=Reference(
            "inertia",
            880.0041,
            "scikit-learn 1.9 KMeans(n_init=10, random_state=0) on the default blobs (500 points, 5 centres, "
            "seed 0); each run logs sklearn_inertia for its own data",
        ),
    )
)
