"""The basics experiments: moons-mlp (micrograd), linreg-synthetic, logreg-digits, kmeans-blobs."""

import json

import numpy as np
import pytest

from nanozoo.core.config import ConfigError, apply_overrides
from nanozoo.experiments import basics, get


def _metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_moons_mlp_reproduces_the_micrograd_demo(tmp_path):
    # learning test: the default run (the demo's data, init, loss and schedule) must reach 100% train accuracy
    final = basics.run_moons(basics.MoonsConfig(), tmp_path, None)
    recs = _metrics(tmp_path)
    assert final["train_acc"] == 1.0 and final["train_loss"] < 0.02
    assert [r["step"] for r in recs] == list(range(100))
    # demo.ipynb prints "step 0 loss 0.8958441028683222, accuracy 50.0%" and
    # "step 99 loss 0.010978370135492717, accuracy 100.0%"
    # tolerance: float round-off (our n-ary sums add in another order)
    assert recs[0]["train_loss"] == pytest.approx(0.8958441028683222, abs=1e-12)
    assert recs[0]["train_acc"] == 0.5
    assert recs[99]["train_loss"] == pytest.approx(0.010978370135492717, abs=1e-12)
    assert (tmp_path / "decision_boundary.png").stat().st_size > 10_000


def test_linreg_synthetic(tmp_path):
    final = basics.run_linreg(basics.LinregConfig(), tmp_path, None)
    assert final["coef_gap"] < 1e-3 and final["val_r2"] > 0.95  # GD reaches the closed form
    losses = [r["train_loss"] for r in _metrics(tmp_path)[:-1]]
    assert losses[-1] < 0.05 * losses[0]
    assert (tmp_path / "fit.png").is_file()


def test_logreg_digits_matches_sklearn(tmp_path):
    cfg = apply_overrides(basics.LogregConfig(), ["train.steps=400"])
    final = basics.run_logreg(cfg, tmp_path, None)
    assert final["test_acc"] > 0.94 and abs(final["test_acc"] - final["sklearn_test_acc"]) <= 0.01  # 1 point
    assert len(_metrics(tmp_path)) == 401
    assert (tmp_path / "weights.png").is_file()


@pytest.mark.parametrize("n_features", [2, 3])
def test_kmeans_blobs_matches_sklearn(tmp_path, n_features):
    cfg = apply_overrides(basics.KMeansConfig(), [f"data.n_features={n_features}"])
    final = basics.run_kmeans(cfg, tmp_path, None)
    assert final["inertia_ratio"] <= 1.01  # within 1% of scikit-learn (or better)
    inertia = [r["inertia"] for r in _metrics(tmp_path)[:-1]]
    assert np.all(np.diff(inertia) <= 1e-9)  # Lloyd never increases the inertia
    assert (tmp_path / "clusters.png").is_file()


def test_experiments_are_registered_with_references():
    for name in ("moons-mlp", "linreg-synthetic", "logreg-digits", "kmeans-blobs"):
        exp = get(name)
        assert exp.run is not None and exp.reference is not None


def test_config_overrides_and_validation():
    cfg = apply_overrides(basics.MoonsConfig(), ["model.hidden=8,4", "train.steps=5", "train.lr=0.5"])
    assert cfg.model.hidden == (8, 4) and cfg.train.steps == 5
    with pytest.raises(ConfigError, match="train.steps=0"):
        apply_overrides(basics.MoonsConfig(), ["train.steps=0"])
    with pytest.raises(ConfigError, match="model.hidden"):
        apply_overrides(basics.MoonsConfig(), ["model.hidden=0"])
    with pytest.raises(ConfigError, match="data.val_fraction=1.5"):
        apply_overrides(basics.LinregConfig(), ["data.val_fraction=1.5"])
    with pytest.raises(ConfigError, match="unknown config key"):
        apply_overrides(basics.KMeansConfig(), ["train.kk=3"])


def test_cli_train_moons_mlp(tmp_path, capsys):
    from nanozoo.cli import main

    main(["train", "moons-mlp", "--runs", str(tmp_path), "--set", "train.steps=30"])
    out = capsys.readouterr().out
    (run_dir,) = (tmp_path / "moons-mlp").iterdir()
    assert "train_acc" in out and str(run_dir) in out
    for f in ("config.json", "metrics.jsonl", "loss.png", "decision_boundary.png"):
        assert (run_dir / f).is_file(), f
    assert _metrics(run_dir)[-1]["train_acc"] >= 0.9  # 30 steps: the demo is at 95% by then
    assert json.loads((run_dir / "config.json").read_text())["config"]["train"]["steps"] == 30
