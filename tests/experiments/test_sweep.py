"""`nanozoo sweep`: the grid, parallel runs, the sorted table, histograms, and skipping finished runs."""

import json

import pytest

from nanozoo.cli import main
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


def test_sweep_runs_sorts_and_skips_finished(tmp_path):
    grid = {"train.lr": ["0.001", "0.3"]}
    rows = sweep.run_sweep("names-bigram", grid, tmp_path, jobs=2, overrides=FAST)
    assert [r["train.lr"] for r in rows] == ["0.3", "0.001"]  # 30 steps: the larger lr learns more
    assert rows[0]["val_loss"] < rows[1]["val_loss"]
    assert (tmp_path / "hist.png").stat().st_size > 0
    table = (tmp_path / "results.md").read_text().splitlines()
    assert table[2].startswith("| 1 | 0.3 |")
    assert len(json.loads((tmp_path / "results.json").read_text())) == 2
    # run again: both finished, nothing trains (no new run folder appears)
    before = sorted(tmp_path.rglob("metrics.jsonl"))
    again = sweep.run_sweep("names-bigram", grid, tmp_path, jobs=1, overrides=FAST)
    assert sorted(tmp_path.rglob("metrics.jsonl")) == before
    assert [r["val_loss"] for r in again] == [r["val_loss"] for r in rows]


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
