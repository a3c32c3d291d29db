"""The classic-ML track (linreg, logreg, k-means, sentiment-tfidf), each next to scikit-learn."""

import numpy as np
import pytest

from nanozoo.core.config import ConfigError, apply_overrides
from nanozoo.core.runlog import read_metrics
from nanozoo.experiments import classic, get


def test_linreg_synthetic(tmp_path):
    final = classic.run_linreg(classic.LinregConfig(), tmp_path, None)
    assert final["coef_gap"] < 1e-3 and final["val_r2"] > 0.95  # GD reaches the closed form
    losses = [r["train_loss"] for r in read_metrics(tmp_path)[:-1]]
    assert losses[-1] < 0.05 * losses[0]
    assert (tmp_path / "fit.png").is_file()


def test_logreg_digits_matches_sklearn(tmp_path):
    cfg = apply_overrides(classic.LogregConfig(), ["train.steps=400"])
    final = classic.run_logreg(cfg, tmp_path, None)
    assert final["test_acc"] > 0.94 and abs(final["test_acc"] - final["sklearn_test_acc"]) <= 0.01  # 1 point
    assert len(read_metrics(tmp_path)) == 401
    assert (tmp_path / "weights.png").is_file()


@pytest.mark.parametrize("n_features", [2, 3])
def test_kmeans_blobs_matches_sklearn(tmp_path, n_features):
    cfg = apply_overrides(classic.KMeansConfig(), [f"data.n_features={n_features}"])
    final = classic.run_kmeans(cfg, tmp_path, None)
    assert final["inertia_ratio"] <= 1.01  # within 1% of scikit-learn (or better)
    inertia = [r["inertia"] for r in read_metrics(tmp_path)[:-1]]
    assert np.all(np.diff(inertia) <= 1e-9)  # Lloyd never increases the inertia
    assert (tmp_path / "clusters.png").is_file()


def test_sentiment_tfidf_learns_and_matches_sklearn(tmp_path, need_data):
    need_data("sentiment", "rt-polarity.pos")
    cfg = apply_overrides(classic.SentimentConfig(), ["data.n_folds=3"])
    final = classic.run_sentiment(cfg, tmp_path, None)
    # 10-fold CV measured 0.7813 (benchmarks/RESULTS.md); 3 folds train on less, so the bar is lower
    assert final["cv_acc"] > 0.77 and final["sklearn_logreg_cv_acc"] > 0.75
    assert abs(final["cv_acc"] - final["sklearn_nb_cv_acc"]) < 1e-12  # the same predictions, fold by fold
    folds = read_metrics(tmp_path)[:-1]
    assert len(folds) == 3 and all(f["fold_acc"] == f["sklearn_nb_fold_acc"] for f in folds)
    assert (tmp_path / "sentiment.png").is_file()


def test_experiments_are_registered_with_references():
    for name in ("linreg-synthetic", "logreg-digits", "kmeans-blobs", "sentiment-tfidf"):
        exp = get(name)
        assert exp.loop is not None and exp.reference is not None


def test_config_overrides_and_validation():
    with pytest.raises(ConfigError, match="data.val_fraction=1.5"):
        apply_overrides(classic.LinregConfig(), ["data.val_fraction=1.5"])
    with pytest.raises(ConfigError, match="unknown config key"):
        apply_overrides(classic.KMeansConfig(), ["train.kk=3"])
    with pytest.raises(ConfigError, match="data.n_folds=1"):
        apply_overrides(classic.SentimentConfig(), ["data.n_folds=1"])
    with pytest.raises(ConfigError, match="train.norm='l3'"):
        apply_overrides(classic.SentimentConfig(), ["train.norm=l3"])


def test_polarity_has_its_10662_snippets(need_data):
    # byte 0x85 (Latin-1 NEL) inside 21 snippets is no line break: splitlines() would give 10,685
    need_data("sentiment", "rt-polarity.pos")
    docs, y = classic.load_polarity(None)
    assert len(docs) == 10662 and y.sum() == 5331 and all("\n" not in d for d in docs)
