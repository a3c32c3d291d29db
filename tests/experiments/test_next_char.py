"""Next-character models on Tiny Shakespeare: exact metrics, every-window training, learning, sampling."""

import pytest
import torch
import torch.nn.functional as F

from nanozoo.experiments import SampleOptions, runner
from nanozoo.experiments.next_char import NextCharWaveNetConfig, setup, stream_metrics
from nanozoo.models.mlp_lm import MLPLM, MLPConfig
from nanozoo.models.wavenet import WaveNet, WaveNetConfig


@pytest.mark.parametrize("make", [lambda: MLPLM(MLPConfig(block_size=4)), lambda: WaveNet(WaveNetConfig())])
def test_stream_metrics_score_every_full_window_once(make):
    torch.manual_seed(0)
    model = make().eval()
    T = model.config.block_size
    stream = torch.randint(0, 27, (103,))
    windows = stream.unfold(0, T + 1, 1)  # every window with the character after it
    logits, _ = model(windows[:, :-1])
    want_loss = F.cross_entropy(logits, windows[:, -1]).item()
    want_acc = (logits.argmax(-1) == windows[:, -1]).float().mean().item()
    for chunk in (7, 8192):  # chunk edges must neither drop nor repeat a window
        got = stream_metrics(model, stream, T, chunk=chunk)
        assert got["val_loss"] == pytest.approx(want_loss, abs=1e-5)
        assert got["val_acc"] == pytest.approx(want_acc, abs=1e-9)


def test_every_window_batch_trains_the_mean_over_its_windows():
    cfg = NextCharWaveNetConfig()
    cfg.model.n_hidden, cfg.data.predictions = 16, 5
    T = cfg.model.block_size
    task = setup(cfg, None)
    x, y = task.get_batch("train", 3, torch.Generator().manual_seed(0))
    assert x.shape == (3, T + 4) and y.shape == (3, 5)
    torch.testing.assert_close(y[:, :-1], x[:, T:])  # the character after each window
    task.model.eval()
    _, loss = task.model(x, y)
    per_window = [task.model(x[:, j : j + T], y[:, j])[1] for j in range(5)]
    assert loss.item() == pytest.approx(torch.stack(per_window).mean().item(), abs=1e-5)
    cfg.data.predictions = 0
    with pytest.raises(ValueError, match="predictions=0"):
        setup(cfg, None)


def test_a_refused_config_leaves_no_run_folder(tmp_path):
    with pytest.raises(ValueError, match="predictions=0"):
        runner.train("shakespeare-wavenet", ["data.predictions=0"], runs_root=tmp_path)
    assert not (tmp_path / "shakespeare-wavenet").exists()


# (experiment, overrides, val_acc threshold): ~10 s each on one core; character frequency alone gives ~15%
LEARNING = [
    ("shakespeare-mlp", ["model.n_hidden=64", "train.max_iters=400", "train.eval_interval=400"], 0.28),
    ("shakespeare-wavenet", ["model.n_hidden=32", "train.max_iters=300", "train.eval_interval=300"], 0.30),
]


@pytest.mark.parametrize("name,overrides,threshold", LEARNING, ids=[x[0] for x in LEARNING])
def test_learns_next_characters(tmp_path, name, overrides, threshold):
    run_dir, m = runner.train(name, overrides + ["train.progress=false"], runs_root=tmp_path)
    assert m["val_acc"] > threshold
    assert len((run_dir / "samples.txt").read_text()) == 500
    text = "".join(runner.sample(run_dir, SampleOptions(prompt="ROMEO:", max_new_tokens=30, num=2, seed=1)))
    assert text.startswith("ROMEO:") and text.count("ROMEO:") == 2
    again = "".join(runner.sample(run_dir, SampleOptions(prompt="ROMEO:", max_new_tokens=30, num=2, seed=1)))
    assert text == again
