"""shakespeare-char-speedrun: shakespeare-char-cpu with every speedrun change on, and it learns."""

from nanozoo.experiments import runner
from nanozoo.experiments.registry import get
from nanozoo.experiments.shakespeare import SPEEDRUN, cpu, speedrun

TINY = [
    *("model.n_layer=1", "model.n_head=2", "model.n_embd=32", "model.block_size=32"),
    *("train.batch_size=16", "train.max_iters=100", "train.eval_interval=100", "train.eval_iters=5"),
    *("train.warmup_iters=10", "train.progress=false", "train.threads=0"),
]


def test_the_speedrun_is_the_cpu_config_with_each_change():
    fast, base = speedrun(), cpu()
    for key, value in SPEEDRUN.items():
        section, name = key.split(".")
        assert getattr(getattr(fast, section), name) == value != getattr(getattr(base, section), name)
    assert fast.model.n_embd == base.model.n_embd and fast.train.batch_size == base.train.batch_size
    assert fast.train.max_seconds == 120.0  # the speedrun's budget, evaluations included
    assert fast.train.eval_interval == fast.train.max_iters  # one evaluation, at the end
    assert get("shakespeare-char-speedrun").reference.value == 1.60


def test_the_speedrun_learns_faster_than_the_baseline(tmp_path, need_data):
    need_data("tinyshakespeare", "input.txt")
    _, fast = runner.train("shakespeare-char-speedrun", TINY, runs_root=tmp_path / "fast")
    _, base = runner.train("shakespeare-char-cpu", TINY, runs_root=tmp_path / "base")
    # 100 steps of a 1x32 char GPT from ln 65 = 4.17 (uniform); measured: speedrun 2.53, baseline 2.99
    assert fast["val_loss"] < 2.7
    assert fast["val_loss"] < base["val_loss"] - 0.2
