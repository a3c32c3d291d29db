"""The micrograd track: moons-mlp reproduces karpathy/micrograd's demo."""

import json

import numpy as np
import pytest

from nanozoo.core import plots
from nanozoo.core.config import ConfigError, apply_overrides
from nanozoo.core.runlog import read_metrics
from nanozoo.experiments import get, micrograd


def test_moons_mlp_reproduces_the_micrograd_demo(tmp_path):
    # learning test: the default run (the demo's data, init, loss and schedule) must reach 100% train accuracy
    final = micrograd.run_moons(micrograd.MoonsConfig(), tmp_path, None)
    recs = read_metrics(tmp_path)
    assert final["train_acc"] == 1.0 and final["train_loss"] < 0.02
    assert [r["step"] for r in recs] == list(range(101))  # 100 steps, then the final figures
    # demo.ipynb prints "step 0 loss 0.8958441028683222, accuracy 50.0%" and
    # "step 99 loss 0.010978370135492717, accuracy 100.0%"
    # tolerance: float round-off (our n-ary sums add in another order)
    assert recs[0]["train_loss"] == pytest.approx(0.8958441028683222, abs=1e-12)
    assert recs[0]["train_acc"] == 0.5
    assert recs[99]["train_loss"] == pytest.approx(0.010978370135492717, abs=1e-12)
    assert (tmp_path / "decision_boundary.png").stat().st_size > 10_000


def test_decision_boundary_has_axis_and_class_labels():
    from nanozoo.autograd import MLP

    X, y = micrograd.moons(micrograd.MoonsData(n_samples=20))
    fig = micrograd._draw_boundary(MLP(2, [4, 1], seed=1), np.array(X), np.array(y), acc=0.85, n=8)
    (ax,) = fig.axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")
    assert ax.get_title() == "micrograd MLP on two moons: train accuracy 85.0%"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["class -1", "predicted -1", "class +1", "predicted +1", "decision boundary"]
    points = {c.get_label(): c.get_offsets() for c in ax.collections if c.get_label().startswith("class")}
    for label, xy in points.items():  # each class's own points
        mine = [x for x, t in zip(X, y, strict=True) if label == f"class {t:+.0f}"]
        assert sorted(xy.tolist()) == sorted(mine) and len(mine) == 10
    assert len(points) == 2
    fig.canvas.draw()
    assert ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1  # beside, not on the data
    plots.plt.close(fig)


def test_experiments_are_registered_with_references():
    exp = get("moons-mlp")
    assert exp.loop is not None and exp.reference is not None


def test_config_overrides_and_validation():
    cfg = apply_overrides(micrograd.MoonsConfig(), ["model.hidden=8,4", "train.steps=5", "train.lr=0.5"])
    assert cfg.model.hidden == (8, 4) and cfg.train.steps == 5
    with pytest.raises(ConfigError, match="train.steps=0"):
        apply_overrides(micrograd.MoonsConfig(), ["train.steps=0"])
    with pytest.raises(ConfigError, match="model.hidden"):
        apply_overrides(micrograd.MoonsConfig(), ["model.hidden=0"])


def test_cli_train_moons_mlp(tmp_path, capsys):
    from nanozoo.cli import main

    main(["train", "moons-mlp", "--runs", str(tmp_path), "--set", "train.steps=30"])
    out = capsys.readouterr().out
    (run_dir,) = (tmp_path / "moons-mlp").iterdir()
    assert "train_acc" in out and str(run_dir) in out
    for f in ("config.json", "metrics.jsonl", "loss.png", "decision_boundary.png"):
        assert (run_dir / f).is_file(), f
    assert read_metrics(run_dir)[-1]["train_acc"] >= 0.9  # 30 steps: the demo is at 95% by then
    assert json.loads((run_dir / "config.json").read_text())["config"]["train"]["steps"] == 30
