"""shakespeare-bpe: our BPE trained on the train split and saved with the run; loss in nats per token and
bits per character; sampling a BPE run."""

import json
import math

import pytest

from nanozoo.experiments import SampleOptions, runner
from nanozoo.experiments.lm import load_tokenizer
from nanozoo.experiments.shakespeare import TextData

TINY = [
    *("model.n_layer=1", "model.n_head=2", "model.n_embd=32", "model.block_size=32"),
    *("train.batch_size=16", "train.max_iters=150", "train.eval_interval=75", "train.eval_iters=4"),
    *("train.warmup_iters=10", "train.lr=3e-3", "train.progress=false"),
    *("data.sample_tokens=20", "data.vocab_size=512"),
]


@pytest.fixture(scope="module")
def run(tmp_path_factory, need_data):
    need_data("tinyshakespeare", "input.txt")
    return runner.train("shakespeare-bpe", TINY, runs_root=tmp_path_factory.mktemp("runs"))


def test_shakespeare_bpe_learns(run):
    run_dir, final = run
    # 150 steps of a 1x32 GPT on 512 BPE tokens: from ln(512) = 6.24 nats/token (uniform) to below 5.5
    assert final["val_loss"] < 5.5
    # bits per character: the exact val loss * tokens per character / ln 2; a 512-token BPE averages about
    # two characters a token, so it lies near val_loss / (2 ln 2)
    assert final["val_bpc"] == pytest.approx(final["val_loss"] / (2 * math.log(2)), rel=0.1)
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics if "val_bpc" in m] == [0, 75, 150]


def test_the_run_keeps_its_tokenizer_and_samples(run):
    run_dir, _ = run
    tok = load_tokenizer(run_dir)
    assert tok.vocab_size == 512 and tok.decode(tok.encode("ROMEO: thou art")) == "ROMEO: thou art"
    text = "".join(runner.sample(run_dir, SampleOptions(prompt="ROMEO:", max_new_tokens=15, seed=1)))
    assert text.startswith("ROMEO:") and len(text) > len("ROMEO:") + 15  # tokens of ~2 characters
    again = "".join(runner.sample(run_dir, SampleOptions(prompt="ROMEO:", max_new_tokens=15, seed=1)))
    assert again == text


def test_text_data_is_checked():
    with pytest.raises(ValueError, match="data.tokenizer='wordpiece'"):
        TextData(tokenizer="wordpiece")
    with pytest.raises(ValueError, match="data.vocab_size=100 must be >= 256"):
        TextData(tokenizer="bpe", vocab_size=100)
