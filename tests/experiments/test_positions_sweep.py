"""The positional-encoding study: one sweep trains every encoding on the same budget and tabulates the
val loss at 1x, 2x and 4x the training context."""

import json
import math

import pytest

from nanozoo.experiments import sweep

STEPS = ["train.max_iters=100", "train.eval_interval=100", "train.batch_size=16", "train.lr=1e-2"]
COLUMNS = ["val_loss_1x", "val_loss_2x", "val_loss_4x"]


def test_encodings_learn_and_are_measured_past_their_context(tmp_path, tiny_gpt_overrides, need_data):
    # two encodings, one that cannot read past block_size and one that can (the full study: RESULTS.md)
    need_data("tinyshakespeare", "input.txt")
    grid = {"model.pos_encoding": ["learned", "rope"]}
    over = [*tiny_gpt_overrides, *STEPS, "data.long_eval=true"]
    rows = sweep.run_sweep("shakespeare-char-cpu", grid, tmp_path, overrides=over, columns=COLUMNS)
    by = {r["model.pos_encoding"]: r for r in rows}
    assert set(by) == {"learned", "rope"}
    for name, r in by.items():
        # 100 steps of a 1x32 GPT: from ln(65) = 4.17 nats (uniform) to below the character unigram
        # entropy (3.31 nats): it reads its context (measured 2.96 learned, 2.73 rope)
        assert r["val_loss"] < 3.1, name
        assert math.isfinite(r["val_loss_1x"]), name
        can_extrapolate = name != "learned"  # a learned table ends at block_size
        assert math.isfinite(r["val_loss_2x"]) == can_extrapolate
        assert math.isfinite(r["val_loss_4x"]) == can_extrapolate
    table = (tmp_path / "results.md").read_text()
    assert "| val_loss_2x |" in table.splitlines()[0]
    learned = next(line for line in table.splitlines() if "| learned |" in line)
    assert [c.strip() for c in learned.split("|")].count("n/a") == 2  # no 2x, no 4x: not a number
    assert "n/a: the run did not log this metric" in table
    saved = {r["model.pos_encoding"]: r for r in json.loads((tmp_path / "results.json").read_text())}
    assert saved["learned"]["val_loss_2x"] is None  # JSON has no NaN: a metric not logged is null
    for picture in (sweep.PLOT, sweep.CURVES, sweep.COLUMNS):
        assert (tmp_path / picture).stat().st_size > 10_000, picture
    assert json.loads((tmp_path / "results.json").read_text())[0]["val_loss"] == rows[0]["val_loss"]


def test_every_context_length_scores_the_same_targets():
    import torch
    import torch.nn.functional as F

    from nanozoo.experiments.shakespeare import context_losses
    from nanozoo.models.gpt import GPT, GPTConfig

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=4, n_layer=1, n_head=1, n_embd=8, pos_encoding="none"))
    val = torch.randint(0, 11, (37,))  # 36 targets; whole windows of 4 x 4 keep the first 32 at every length
    losses = context_losses(model.eval(), val)
    for f in (1, 2, 4):
        x, y = val[:32].view(-1, 4 * f), val[1:33].view(-1, 4 * f)
        expected = F.cross_entropy(model.logits(x).flatten(0, 1), y.flatten()).item()
        assert losses[f"val_loss_{f}x"] == pytest.approx(expected, rel=1e-5), f
    assert len(set(losses.values())) == 3  # the context differs, so the losses do
    learned = GPT(GPTConfig(vocab_size=11, block_size=4, n_layer=1, n_head=1, n_embd=8)).eval()
    assert list(context_losses(learned, val)) == ["val_loss_1x"]  # no table past block_size: not computed
    from nanozoo.core.config import ConfigError

    with pytest.raises(ConfigError, match="the val split has 16 tokens, too few for one window of 4 x"):
        context_losses(model.eval(), val[:16])  # 4 x 4 = 16 tokens need 17
