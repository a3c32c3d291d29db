"""The lecture diagnostics: saturation with a bad init and none with Kaiming's, and residual gradients."""

from pathlib import Path

import pytest

from nanozoo.experiments.diagnostics import init_diagnostics, residual_diagnostics


@pytest.fixture(scope="module")
def stats():
    return {
        "bad": init_diagnostics("bad", steps=150),
        "kaiming": init_diagnostics("kaiming", steps=150),
        "bn": init_diagnostics("kaiming", batchnorm=True, steps=150),
    }


def test_bad_init_saturates_and_kaiming_does_not(stats):
    # measured: bad 67-84% per layer; Kaiming 17% at layer 1 (fed by N(0, 1) embeddings), then 5-8%; BN ~3%
    assert min(stats["bad"]["saturation"]) > 0.5
    assert max(stats["kaiming"]["saturation"][1:]) < 0.12
    assert max(stats["bn"]["saturation"]) < 0.06
    assert min(stats["bad"]["act_std"]) > 0.9  # mass piled at +-1
    assert 0.5 < min(stats["kaiming"]["act_std"]) < 0.8


def test_update_ratio_is_near_1e_minus_3_with_kaiming(stats):
    ud = stats["kaiming"]["update_ratio"]
    assert all(-3.5 < r < -2.0 for r in ud)
    bad = stats["bad"]["update_ratio"]
    assert max(bad) - min(bad) > 3 * (max(ud) - min(ud))  # bad init: layers learn at very different rates


def test_pictures_are_written_with_labels_and_legends_beside(tmp_path, monkeypatch):
    from nanozoo.core import plots

    figures, save = {}, plots.save

    def keep(fig, path):  # look at each figure as it is saved
        figures[Path(path).name] = fig
        fig.canvas.draw()  # lay out: the legends' and axes' boxes are final
        return save(fig, path)

    monkeypatch.setattr(plots, "save", keep)
    init_diagnostics("bad", n_layer=2, n_hidden=16, steps=5, out_dir=tmp_path)
    residual_diagnostics(n_layer=4, n_hidden=8, steps=3, out_dir=tmp_path)
    assert sorted(figures) == ["activations.png", "gradients.png", "residual.png", "update_ratio.png"]
    for name, fig in figures.items():
        assert (tmp_path / name).stat().st_size > 1000
        for ax in fig.axes:
            assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title(), name
        legends = [leg for leg in [*fig.legends, *(ax.get_legend() for ax in fig.axes)] if leg]
        assert len(legends) == 1, name
        right = max(ax.get_window_extent().x1 for ax in fig.axes)
        assert legends[0].get_window_extent().x0 >= right, f"{name}: the legend covers the axes"


def test_residual_keeps_gradients_at_the_first_layer():
    r = residual_diagnostics(n_layer=20, n_hidden=32, steps=60)
    plain, res = r["plain"], r["residual"]
    assert res["grad_norm_per_layer"][0] > 1000 * plain["grad_norm_per_layer"][0]  # measured ~1e5x
    assert res["last_loss"] < plain["last_loss"] - 0.1  # and it learns faster


def test_cli_writes_the_pictures(tmp_path, capsys):
    from nanozoo.cli import main

    main(["diagnostics", "init", "--init", "bad", "--steps", "3", "--out", str(tmp_path / "bad")])
    assert "saturated" in capsys.readouterr().out
    assert (tmp_path / "bad" / "activations.png").exists()
    main(["diagnostics", "residual", "--n-layer", "3", "--steps", "2", "--out", str(tmp_path / "res")])
    assert (tmp_path / "res" / "residual.png").exists()


def _train_with_diagnostics(tmp_path, init: str) -> dict:
    from nanozoo.experiments import runner

    sets = [f"model.init={init}", "model.n_layer=3", "train.max_iters=30", "train.eval_interval=30"]
    run_dir, metrics = runner.train("names-mlp", sets, runs_root=tmp_path, diagnostics=True)
    for name in ("activations.png", "gradients.png", "update_ratio.png"):
        assert (run_dir / "diagnostics" / name).stat().st_size > 1000
    return metrics["diagnostics"]


def test_train_diagnostics_flag_shows_the_bad_init(tmp_path):
    bad, kaiming = _train_with_diagnostics(tmp_path, "bad"), _train_with_diagnostics(tmp_path, "kaiming")
    assert min(bad["saturation"]) > 0.5 and max(kaiming["saturation"][1:]) < 0.2
    assert len(bad["update_ratio"]) == 3 and all(-6 < r < 0 for r in kaiming["update_ratio"])


def test_train_diagnostics_refuses_a_model_without_tanh_layers(tmp_path):
    from nanozoo.experiments import runner

    with pytest.raises(ValueError, match="--diagnostics"):
        runner.train("names-bigram", ["train.max_iters=1"], runs_root=tmp_path, diagnostics=True)
    assert not (tmp_path / "names-bigram").exists()  # refused before a run folder is made


def test_train_diagnostics_do_not_change_training(tmp_path):
    from nanozoo.experiments import runner

    sets = ["model.n_layer=2", "train.max_iters=20", "train.eval_interval=20"]
    plain = runner.train("names-mlp", sets, runs_root=tmp_path)[1]
    watched = runner.train("names-mlp", sets, runs_root=tmp_path, diagnostics=True)[1]
    assert watched["val_loss"] == plain["val_loss"]  # to the bit: the hooks only read


def test_train_diagnostics_on_a_resumed_run_say_where_they_start(tmp_path):
    from nanozoo.experiments import runner

    sets = ["model.n_layer=2", "train.max_iters=20", "train.eval_interval=10"]
    run_dir, _ = runner.train("names-mlp", sets, runs_root=tmp_path, until=10)
    _, m = runner.train("names-mlp", resume=run_dir, diagnostics=True)
    assert m["diagnostics"]["when"] == "at step 10 (resumed)"
    assert len(m["diagnostics"]["update_ratio"]) == 2
