"""The seq2seq track: toy tasks learn to exact match, batches pad the right way, attention is pictured."""

import json

import pytest
import torch

from nanozoo.core.config import ConfigError
from nanozoo.experiments import runner
from nanozoo.experiments.seq2seq import OFFSET, SyntheticData, pad_pairs, toy_pairs
from nanozoo.models.seq2seq import BOS, EOS, PAD


def test_pad_pairs_shifts_the_target_by_one_and_pads():
    src, tgt_in, tgt_out = pad_pairs([([5, 6, 7], [7, 6, 5]), ([8], [8])])
    assert src.tolist() == [[5, 6, 7], [8, PAD, PAD]]
    assert tgt_in.tolist() == [[BOS, 7, 6, 5], [BOS, 8, PAD, PAD]]
    assert tgt_out.tolist() == [[7, 6, 5, EOS], [8, EOS, PAD, PAD]]


@pytest.mark.parametrize("task", ["reverse", "sort", "copy"])
def test_toy_pairs_are_their_task(task):
    d = SyntheticData(task=task, n_symbols=5, min_len=2, max_len=6)
    pairs = toy_pairs(d, 50, torch.Generator().manual_seed(0))
    assert {len(s) for s, _ in pairs} == set(range(2, 7))
    for s, t in pairs:
        assert min(s) >= OFFSET and max(s) < OFFSET + 5
        assert t == {"reverse": s[::-1], "sort": sorted(s), "copy": s}[task]


def test_a_block_size_too_short_for_the_data_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="block_size"):
        runner.train("seq2seq-reverse", ["model.block_size=8"], runs_root=tmp_path)
    assert not (tmp_path / "seq2seq-reverse").exists()


# About 17 s of one core (1.0 at step 400 when measured); the default config reverses up to 12 symbols
FAST = ["data.max_len=8", "data.eval_size=200", "train.max_iters=400", "train.eval_interval=400"]
FAST += ["train.progress=false"]


def test_reverse_reaches_99_percent_exact_match_and_draws_its_attention(tmp_path):
    run_dir, metrics = runner.train("seq2seq-reverse", FAST, runs_root=tmp_path)
    assert metrics["val_acc"] >= 0.99, metrics
    assert (run_dir / "attention.png").stat().st_size > 1000
    assert "(ok)" in (run_dir / "samples.txt").read_text()
    logged = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert logged[0]["val_acc"] < 0.05  # it learned it: a random model gets nothing right
