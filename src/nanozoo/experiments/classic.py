"""The classic numpy models, each with its picture and scikit-learn's figure in the same run. Its table:
experiments/tables/classic.py.

- `linreg-synthetic`: least squares by lstsq and by gradient descent on a noisy line.
- `logreg-digits`: softmax regression on scikit-learn's 8x8 digits, next to scikit-learn's own.
- `kmeans-blobs`: k-means++ and Lloyd on Gaussian blobs, next to scikit-learn's KMeans.
- `sentiment-tfidf`: our TF-IDF and multinomial naive Bayes on movie-review polarity (10-fold CV), next to
  scikit-learn's MultinomialNB and LogisticRegression on the same features.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nanozoo import data
from nanozoo.core import plots
from nanozoo.core.config import ConfigError
from nanozoo.experiments.loops import finish, one_blas_thread, positive

# ---------------------------------------------------------------------------------------------------
# linreg-synthetic


@dataclass
class SyntheticData:
    n_samples: int = 200
    noise: float = 10.0
    val_fraction: float = 0.2
    seed: int = 0

    def __post_init__(self):
        positive("data", self, "n_samples")
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"data.val_fraction={self.val_fraction} must be in (0, 1)")


@dataclass
class LinregTrain:
    alpha: float = 0.0  # L2 weight (ridge)
    lr: float = 0.1
    steps: int = 300

    def __post_init__(self):
        positive("train", self, "lr", "steps")


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
    history = [{"train_loss": v} for v in gd.loss_history_]
    gap = float(max(np.abs(gd.coef_ - exact.coef_).max(), abs(gd.intercept_ - exact.intercept_)))
    final = {
        "train_loss": gd.loss(Xtr, ytr),
        "val_loss": gd.loss(Xva, yva),
        "val_r2": gd.score(Xva, yva),
        "coef_gap": gap,
    }

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
    return finish(run_dir, t0, history, final, fig, "fit.png")


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
        positive("train", self, "lr", "steps")
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
    with one_blas_thread():
        model = LogisticRegression(alpha=tr.alpha, lr=tr.lr, max_iter=tr.steps).fit(Xtr, ytr)
        sk = SkLogReg(C=1.0 / (tr.alpha * len(Xtr)) if tr.alpha else np.inf, max_iter=5000).fit(Xtr, ytr)
    history = [{"train_loss": v} for v in model.loss_history_]
    final = {
        "train_acc": model.score(Xtr, ytr),
        "test_acc": model.score(Xte, yte),
        "sklearn_test_acc": float(sk.score(Xte, yte)),
    }

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
    return finish(run_dir, t0, history, final, fig, "weights.png")


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
        positive("data", self, "n_samples", "centers", "n_features", "cluster_std")


@dataclass
class KMeansTrain:
    k: int = 5
    n_init: int = 10
    max_iter: int = 300
    seed: int = 0

    def __post_init__(self):
        positive("train", self, "k", "n_init", "max_iter")


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
    with one_blas_thread():
        km = KMeans(tr.k, n_init=tr.n_init, max_iter=tr.max_iter, seed=tr.seed).fit(X)
        sk = SkKMeans(tr.k, n_init=tr.n_init, max_iter=tr.max_iter, random_state=tr.seed).fit(X)
    history = [{"inertia": v} for v in km.inertia_history_]
    final = {
        "inertia": km.inertia_,
        "sklearn_inertia": float(sk.inertia_),
        "inertia_ratio": km.inertia_ / float(sk.inertia_),
    }

    P = PCA(2).fit(X) if X.shape[1] > 2 else None  # draw more than two features in the top-2 PCA plane
    X2, C2 = (P.transform(X), P.transform(km.cluster_centers_)) if P else (X, km.cluster_centers_)
    plt = plots.plt
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.scatter(X2[:, 0], X2[:, 1], c=km.labels_, s=12, cmap="tab10", alpha=0.7)
    ax.scatter(C2[:, 0], C2[:, 1], c="k", marker="X", s=200, edgecolors="w", label="centroids")
    ax.set_title(f"k-means, k={tr.k}: inertia {km.inertia_:.1f} (scikit-learn {sk.inertia_:.1f})")
    ax.legend()
    return finish(run_dir, t0, history, final, fig, "clusters.png")


# ---------------------------------------------------------------------------------------------------
# sentiment-tfidf


@dataclass
class PolarityData:
    n_folds: int = 10  # the usual protocol on MR: no official split
    stem: bool = False  # Porter-stem every token before counting
    stop_words: bool = False  # drop the English stop words (they include "not", "no", "nor")
    seed: int = 0

    def __post_init__(self):
        if self.n_folds < 2:
            raise ConfigError(f"data.n_folds={self.n_folds} must be >= 2")


@dataclass
class TfidfTrain:
    sublinear_tf: bool = True
    smooth_idf: bool = True
    norm: str = "l2"  # "l2", "l1" or "none"
    alpha: float = 1.0  # naive Bayes' additive smoothing
    sklearn_C: float = 10.0  # scikit-learn's LogisticRegression on the same features, a stronger baseline

    def __post_init__(self):
        positive("train", self, "alpha", "sklearn_C")
        if self.norm not in ("l2", "l1", "none"):
            raise ConfigError(f"train.norm={self.norm!r}; allowed: 'l2', 'l1', 'none'")


@dataclass
class SentimentConfig:
    data: PolarityData = field(default_factory=PolarityData)
    train: TfidfTrain = field(default_factory=TfidfTrain)


def load_polarity(data_dir: Path | None) -> tuple[list[str], np.ndarray]:
    """The 10,662 snippets of sentence polarity v1.0 (Latin-1 bytes), labels 1 positive, 0 negative.
    subtle: split on "\n" only; `splitlines` also splits at byte 0x85 (Latin-1 NEL, cp1252's ellipsis)
    inside 21 snippets and gives 10,685."""
    pos, neg = (
        data.path("sentiment", f"rt-polarity.{k}", data_dir)
        .read_text(encoding="latin-1")
        .rstrip("\n")
        .split("\n")
        for k in ("pos", "neg")
    )
    return pos + neg, np.array([1] * len(pos) + [0] * len(neg))


def run_sentiment(cfg: SentimentConfig, run_dir: Path, data_dir: Path | None) -> dict:
    from sklearn.linear_model import LogisticRegression as SkLogReg
    from sklearn.naive_bayes import MultinomialNB as SkMultinomialNB

    from nanozoo.classic import MultinomialNB, TfidfVectorizer
    from nanozoo.classic.porter import stem
    from nanozoo.classic.text import ENGLISH_STOP_WORDS, word_tokenize

    d, tr, t0 = cfg.data, cfg.train, time.perf_counter()
    docs, y = load_polarity(data_dir)
    tokens = {doc: word_tokenize(doc.lower()) for doc in docs}  # tokenize each snippet once, not per fold
    if d.stem:
        tokens = {doc: [stem(t) for t in toks] for doc, toks in tokens.items()}
    folds = np.array_split(np.random.default_rng(d.seed).permutation(len(docs)), d.n_folds)
    history = []
    for test in folds:
        train = np.setdiff1d(np.arange(len(docs)), test)
        vec = TfidfVectorizer(
            tokenizer=tokens.__getitem__,
            lowercase=False,  # the keys of `tokens` are the original snippets
            stop_words=ENGLISH_STOP_WORDS if d.stop_words else None,
            norm=None if tr.norm == "none" else tr.norm,
            smooth_idf=tr.smooth_idf,
            sublinear_tf=tr.sublinear_tf,
        )
        Xtr = vec.fit_transform([docs[i] for i in train])
        Xte = vec.transform([docs[i] for i in test])
        with one_blas_thread():
            nb = MultinomialNB(tr.alpha).fit(Xtr, y[train])
            sk_nb = SkMultinomialNB(alpha=tr.alpha).fit(Xtr, y[train])
            sk_lr = SkLogReg(C=tr.sklearn_C, max_iter=1000).fit(Xtr, y[train])
        history.append(
            {
                "fold_acc": nb.score(Xte, y[test]),
                "sklearn_nb_fold_acc": float(sk_nb.score(Xte, y[test])),
                "sklearn_logreg_fold_acc": float(sk_lr.score(Xte, y[test])),
                "vocab_size": float(len(vec.vocabulary_)),
            }
        )
    mean = {m: float(np.mean([h[m] for h in history])) for m in history[0]}
    final = {
        "cv_acc": mean["fold_acc"],
        "sklearn_nb_cv_acc": mean["sklearn_nb_fold_acc"],
        "sklearn_logreg_cv_acc": mean["sklearn_logreg_fold_acc"],
        "vocab_size": mean["vocab_size"],
    }

    # the last fold's model: the words that weigh most for each class (log theta_pos - log theta_neg)
    ratio = nb.feature_log_prob_[1] - nb.feature_log_prob_[0]
    terms = np.array(sorted(vec.vocabulary_, key=vec.vocabulary_.get))
    order = np.argsort(ratio)
    top = np.concatenate([order[:12], order[-12:]])
    plt = plots.plt
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 5), gridspec_kw={"width_ratios": [1.2, 1]})
    ks = np.arange(d.n_folds)
    for j, (m, label) in enumerate(
        [("fold_acc", "ours: naive Bayes"), ("sklearn_nb_fold_acc", "sklearn MultinomialNB"),
         ("sklearn_logreg_fold_acc", "sklearn LogisticRegression")]
    ):  # fmt: skip
        ax0.bar(ks + (j - 1) * 0.27, [h[m] for h in history], 0.27, label=label)
    ax0.set_ylim(0.6, 0.9)
    ax0.set_xlabel("fold")
    ax0.set_ylabel("test accuracy")
    ax0.legend(loc="lower right", fontsize=8)
    ax0.set_title(f"MR, {d.n_folds}-fold CV: ours {final['cv_acc']:.4f}")
    ax1.barh(np.arange(len(top)), ratio[top], color=["C3"] * 12 + ["C2"] * 12)
    ax1.set_yticks(np.arange(len(top)), terms[top], fontsize=8)
    ax1.set_xlabel("log P(w | pos) - log P(w | neg)")
    ax1.set_title("the most telling words (last fold)")
    return finish(run_dir, t0, history, final, fig, "sentiment.png")
