"""The positional-encoding study: one sweep trains every encoding on the same budget and tabulates the
val loss at 1x, 2x and 4x the training context."""

import json
import math

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
    assert [c.strip() for c in learned.split("|")].count("-") == 2  # no 2x, no 4x
    saved = {r["model.pos_encoding"]: r for r in json.loads((tmp_path / "results.json").read_text())}
    assert saved["learned"]["val_loss_2x"] is None  # JSON has no NaN: a metric not logged is null
    assert (tmp_path / sweep.PLOT).stat().st_size > 0
    assert json.loads((tmp_path / "results.json").read_text())[0]["val_loss"] == rows[0]["val_loss"]
