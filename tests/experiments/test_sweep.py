"""`nanozoo sweep`: the grid, parallel runs, the sorted table, the picture, and skipping finished runs."""

import json

import pytest
from matplotlib.collections import PathCollection

from nanozoo.cli import main
from nanozoo.core import plots
from nanozoo.core.config import ConfigError
from nanozoo.experiments import sweep

FAST = [
    "train.max_iters=30",
    "train.min_lr=0.0",
    "train.eval_iters=1",
    "train.eval_interval=1000",
    "train.batch_size=256",
]


def test_parse_grid_and_combinations():
    grid = sweep.parse_grid(["model.n_embd=16,32,64", "train.lr=1e-3, 3e-3"])
    assert grid == {"model.n_embd": ["16", "32", "64"], "train.lr": ["1e-3", "3e-3"]}
    combos = sweep.combinations(grid)
    assert len(combos) == 6 and combos[0] == {"model.n_embd": "16", "train.lr": "1e-3"}
    picked = sweep.combinations(grid, n_random=4, seed=1)
    assert len(picked) == 4 and len({sweep.combo_id(c) for c in picked}) == 4  # without replacement
    assert picked == sweep.combinations(grid, n_random=4, seed=1)
    with pytest.raises(ValueError, match="'train.lr'"):
        sweep.parse_grid(["train.lr"])


def test_strip_plot_shows_every_run_at_its_value():
    losses = {("16", "3e-3"): 2.45, ("16", "1e-3"): 2.61, ("32", "1e-3"): 2.55, ("32", "3e-3"): 2.38}
    rows = [{"model.n_embd": e, "train.lr": lr, "val_loss": v} for (e, lr), v in losses.items()]
    rows.append({"model.n_embd": "32", "train.lr": "1e-2", "val_loss": float("nan")})  # diverged
    fig = sweep.strip_plot(rows, ["model.n_embd", "train.lr"], "val_loss")
    a, b = fig.axes
    assert (a.get_xlabel(), b.get_xlabel(), a.get_ylabel()) == ("model.n_embd", "train.lr", "val loss")
    assert [t.get_text() for t in b.get_xticklabels()] == ["1e-3", "3e-3", "1e-2\n(1 not finite)"]  # numeric
    scatters = [c for c in b.collections if isinstance(c, PathCollection)]  # the dots, and the star
    points = sorted((round(x), y) for c in scatters for x, y in c.get_offsets().tolist())
    assert points == [(0, 2.55), (0, 2.61), (1, 2.38), (1, 2.38), (1, 2.45)]  # the best twice: dot and star
    assert "best 2.3800 at model.n_embd=32, train.lr=3e-3" in fig.get_suptitle()
    higher = sweep.strip_plot(rows, ["model.n_embd", "train.lr"], "val_loss", higher_is_better=True)
    assert "best 2.6100 at" in higher.get_suptitle()  # an accuracy's best run is its highest
    plots.plt.close(higher)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["one run", "mean of the value", "best run"]
    plots.plt.close(fig)


def test_sweep_runs_sorts_and_skips_finished(tmp_path):
    grid = {"train.lr": ["0.001", "0.3"]}
    rows = sweep.run_sweep("names-bigram", grid, tmp_path, jobs=2, overrides=FAST)
    assert [r["train.lr"] for r in rows] == ["0.3", "0.001"]  # 30 steps: the larger lr learns more
    assert rows[0]["val_loss"] < rows[1]["val_loss"]
    assert (tmp_path / sweep.PLOT).stat().st_size > 10_000
    table = (tmp_path / "results.md").read_text().splitlines()
    assert table[2].startswith("| 1 | 0.3 |")
    assert len(json.loads((tmp_path / "results.json").read_text())) == 2
    # run again: both finished, nothing trains (no new run folder appears)
    before = sorted(tmp_path.rglob("metrics.jsonl"))
    again = sweep.run_sweep("names-bigram", grid, tmp_path, jobs=1, overrides=FAST)
    assert sorted(tmp_path.rglob("metrics.jsonl")) == before
    assert [r["val_loss"] for r in again] == [r["val_loss"] for r in rows]
    # a metric where higher is better ranks the other way (the table too)
    flipped = sweep.run_sweep("names-bigram", grid, tmp_path, overrides=FAST, higher_is_better=True)
    assert [r["train.lr"] for r in flipped] == ["0.001", "0.3"]
    assert (tmp_path / "results.md").read_text().splitlines()[2].startswith("| 1 | 0.001 |")
    # a metric no run logged (a typo): one clear error, the finished runs kept for the corrected command
    with pytest.raises(ConfigError, match=r"no run of the sweep logged val_los;.* val_loss"):
        sweep.run_sweep("names-bigram", grid, tmp_path, jobs=1, overrides=FAST, metric="val_los")
    assert sorted(tmp_path.rglob("metrics.jsonl")) == before
    with pytest.raises(ConfigError, match=r"no run of the sweep logged val_los;"):  # found after one run
        sweep.run_sweep("names-bigram", grid, tmp_path / "new", jobs=1, overrides=FAST, metric="val_los")
    assert len(list((tmp_path / "new").rglob("metrics.jsonl"))) == 1


def test_a_sweep_folder_refuses_other_settings(tmp_path):
    grid = {"train.lr": ["0.1"]}
    sweep.run_sweep("names-bigram", grid, tmp_path, overrides=FAST)
    with pytest.raises(ValueError, match="another --out"):  # old results would pass for the new settings
        sweep.run_sweep("names-bigram", grid, tmp_path, overrides=[*FAST, "train.batch_size=7"])


def test_interrupted_combination_is_resumed(tmp_path):
    from nanozoo.experiments import runner

    grid = {"train.lr": ["0.3"]}
    folder = tmp_path / sweep.combo_id({"train.lr": "0.3"})
    # as if Ctrl-C stopped it at step 10 of 30
    runner.train("names-bigram", [*FAST, "train.lr=0.3", "train.progress=false"], runs_root=folder, until=10)
    rows = sweep.run_sweep("names-bigram", grid, tmp_path, overrides=FAST)
    runs = list((folder / "names-bigram").glob("*/"))
    assert len(runs) == 1  # the same run folder, continued
    assert rows[0]["run_dir"] == str(runs[0]) and (folder / "result.json").exists()


def test_cli_refuses_a_typo_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["sweep", "names-bigram", "--grid", "train.lrr=0.1,0.2", "--out", str(tmp_path)])
    assert e.value.code == 1
    assert "train.lrr" in capsys.readouterr().err
    assert not list(tmp_path.rglob("metrics.jsonl"))


def test_columns_plot_marks_a_metric_not_logged_and_curves_read_each_run(tmp_path):
    from matplotlib.patches import Rectangle

    from nanozoo.core.runlog import MetricsLog

    nan = float("nan")
    rows = []
    for name, losses in {"rope": [3.0, 2.1, 2.2], "learned": [3.1, 2.0, nan]}.items():
        run = tmp_path / name
        run.mkdir()
        log = MetricsLog(run)
        for step, v in ((0, 4.0), (100, losses[0])):
            log.write(step, 0.0, val_loss=v)
        row = {"pe": name, "val_loss": losses[0], "x2": losses[1], "x4": losses[2]}
        rows.append({**row, "run_dir": str(run)})
    fig = sweep.columns_plot(rows, ["pe"], ["val_loss", "x2", "x4"])
    ax = fig.axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_height() > 0]
    assert len(bars) == 5  # 2 runs x 3 metrics, less the one not logged
    texts = [t.get_text() for t in ax.texts]
    assert texts.count(" n/a") == 1 and "2.100" in texts and "nan" not in " ".join(texts)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["rope", "learned"]
    plots.plt.close(fig)
    fig = sweep.curves_plot(rows, ["pe"], "val_loss")
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["rope", "learned"]
    assert lines[1].get_xydata().tolist() == [[0, 4.0], [100, 3.1]]
    plots.plt.close(fig)
