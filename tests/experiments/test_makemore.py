"""The names data, the names-* experiments (learning tests with stated thresholds) and sampling."""

import random

import pytest
import torch

from nanozoo.data.names import CharVocab, context_windows, load_names, padded_sequences, split_names
from nanozoo.experiments import SampleOptions, runner
from nanozoo.experiments.makemore import exact_losses
from nanozoo.experiments.registry import table

# ---------------------------------------------------------------------------------------------------
# Data


def test_split_is_the_notebooks_80_10_10():
    words = load_names()
    assert len(words) == 32033
    s = split_names(words)
    assert [len(s[k]) for k in ("train", "val", "test")] == [25626, 3203, 3204]
    shuffled = list(words)
    random.seed(42)
    random.shuffle(shuffled)  # the notebooks' exact calls
    assert s["train"] + s["val"] + s["test"] == shuffled
    assert s == split_names(words)  # deterministic


def test_vocab_windows_and_sequences_worked_example():
    vocab = CharVocab.from_words(load_names())
    assert len(vocab) == 27 and vocab.itos[0] == "." and vocab.itos[1] == "a"
    X, Y = context_windows(["emma"], vocab, 3)
    assert vocab.decode(Y.tolist()) == "emma."
    assert [vocab.decode(r) for r in X.tolist()] == ["...", "..e", ".em", "emm", "mma"]
    X, Y = padded_sequences(["ab"], vocab, 4)
    assert X.tolist() == [[0, 1, 2, 0, 0]] and Y.tolist() == [[1, 2, 0, -1, -1]]
    with pytest.raises(ValueError, match="max_len=1"):
        padded_sequences(["abc"], vocab, 1)
    with pytest.raises(ValueError, match="'!'"):
        vocab.encode("a!")


# ---------------------------------------------------------------------------------------------------
# Experiments


def test_count_bigram_reaches_the_published_nll(tmp_path):
    run_dir, m = runner.train("names-bigram-count", runs_root=tmp_path)
    # +1 smoothing, fit and scored on all 228,146 bigrams: 2.454577 exactly (float64); the lecture's float32
    # running sum of log-probabilities prints 2.4544 (2.4541 without smoothing)
    assert m["all_loss"] == pytest.approx(2.454577, abs=1e-6)
    assert m["val_loss"] < 2.47
    assert len((run_dir / "samples.txt").read_text().splitlines()) == 20


# (experiment, overrides, val_loss threshold): a few seconds each on one core; the untrained loss is ~3.30 and
# the best a bigram can do on val is 2.4533 (counts, test above). Every context model must beat it clearly:
# its threshold is below 2.40, about 0.03 above what it reached here (measured: the comment after each).
LEARNING = [
    ("names-bigram", ["train.max_iters=150", "train.batch_size=512"], 2.50),  # 2.4606
    ("names-mlp", ["train.max_iters=600", "train.batch_size=64"], 2.32),  # 2.2814
    ("names-mlp-bn", ["train.max_iters=800", "train.batch_size=64"], 2.35),  # 2.3135
    ("names-backprop", ["train.max_iters=900", "train.batch_size=64"], 2.37),  # 2.3334
    ("names-wavenet", ["train.max_iters=400", "train.batch_size=64", "model.n_hidden=64"], 2.34),  # 2.3067
    ("names-rnn", ["train.max_iters=300", "train.batch_size=32", "model.n_embd2=32"], 2.34),  # 2.3074
    ("names-gru", ["train.max_iters=300", "train.batch_size=32", "model.n_embd2=32"], 2.34),  # 2.3088
    ("names-lstm", ["train.max_iters=300", "train.batch_size=32", "model.n_embd2=32"], 2.36),  # 2.3275
    ("names-bow", ["train.max_iters=300", "train.batch_size=32"], 2.33),  # 2.3004
    (
        "names-transformer",
        [
            "train.max_iters=300",
            "train.batch_size=32",
            "model.n_layer=1",
            "model.n_embd=32",
            "model.dropout=0.0",
        ],
        2.39,  # 2.3537
    ),
]


@pytest.mark.parametrize("name, overrides, threshold", LEARNING, ids=[c[0] for c in LEARNING])
def test_learning(tmp_path, name, overrides, threshold):
    common = [
        "train.eval_interval=100000",
        "train.eval_iters=2",
        "train.progress=false",
        "train.warmup_iters=10",
    ]
    run_dir, m = runner.train(name, common + overrides, runs_root=tmp_path)
    assert m["val_loss"] < threshold, m
    assert "test_loss" in m
    assert len((run_dir / "samples.txt").read_text().splitlines()) == 20


def test_sample_marks_training_names_and_exact_losses(tmp_path):
    run_dir, m = runner.train(
        "names-mlp", ["train.max_iters=400", "train.eval_iters=2", "train.progress=false"], runs_root=tmp_path
    )
    lines = "".join(runner.sample(run_dir, SampleOptions(num=50, seed=0, mark_train=True))).splitlines()
    assert len(lines) == 50
    marked = [w for w in lines if w.endswith("  [in train]")]
    train = set(split_names(load_names())["train"])
    assert marked and all(w.split()[0] in train for w in marked)  # a trained model repeats common names
    assert all(w not in train for w in lines if not w.endswith("]"))
    same = "".join(runner.sample(run_dir, SampleOptions(num=50, seed=0))).splitlines()
    assert [w.split()[0] if w else w for w in lines] == same  # same seed, same names
    exact = exact_losses(run_dir)
    assert exact["val_loss"] == pytest.approx(m["val_loss"], abs=1e-6)  # the logged val_loss is exact
    assert abs(exact["test_loss"] - exact["val_loss"]) < 0.05


def test_prompt_starts_every_name(tmp_path):
    run_dir, _ = runner.train(
        "names-bow", ["train.max_iters=20", "train.eval_iters=1", "train.progress=false"], runs_root=tmp_path
    )
    names = "".join(runner.sample(run_dir, SampleOptions(num=5, seed=1, prompt="jo"))).splitlines()
    assert len(names) == 5 and all(w.startswith("jo") for w in names)


def test_list_shows_the_published_figures():
    rows = {r["experiment"]: r for r in table("/nonexistent")}
    assert rows["names-wavenet"]["reference"] == "val_loss 1.9937"
    assert rows["names-bigram-count"]["reference"] == "all_loss 2.4544"
    torch.manual_seed(0)
