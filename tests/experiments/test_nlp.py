"""The words track: sentiment-lstm learns, word2vec-shakespeare agrees with gensim and draws its map."""

import json

import numpy as np
import pytest

from nanozoo.core.config import apply_overrides
from nanozoo.experiments import nlp, runner


def test_polarity_splits_are_sentiment_tfidfs_folds(need_data):
    need_data("sentiment", "rt-polarity.pos")
    splits, vocab = nlp.polarity_splits(nlp.PolaritySplit(), None)
    from nanozoo.experiments.classic import load_polarity

    n = len(load_polarity(None)[0])
    sizes = {k: len(v[0]) for k, v in splits.items()}
    assert sizes == {"test": -(-n // 10), "val": -(-n // 10), "train": n - 2 * -(-n // 10)}  # 10 folds
    assert vocab[:2] == ["<pad>", "<unk>"] and "good" in vocab
    X = splits["train"][0]
    assert X.shape[1] == 64 and (X[:, 0] != 0).float().mean() > 0.99  # (a few MR lines are empty)


def test_sentiment_lstm_learns(tmp_path, need_data):
    need_data("sentiment", "rt-polarity.pos")
    over = ["model.n_embd=32", "model.n_hidden=32", "model.dropout=0", "train.lr=1e-2", "train.batch_size=32"]
    over += ["train.max_iters=150", "train.eval_interval=150", "train.warmup_iters=10"]
    run_dir, m = runner.train("sentiment-lstm", over + ["train.progress=false"], runs_root=tmp_path)
    assert m["val_acc"] > THRESHOLD_LSTM and m["test_acc"] > THRESHOLD_LSTM  # chance: 0.5
    assert json.loads((run_dir / "vocab.json").read_text())[:2] == ["<pad>", "<unk>"]


@pytest.mark.slow
def test_word2vec_shakespeare_next_to_gensim(tmp_path, need_data, need):
    need_data("tinyshakespeare", "input.txt")
    need("gensim")
    cfg = apply_overrides(
        nlp.word2vec(),
        ["train.epochs=1", "train.vector_size=32", "data.n_similar=300", "data.n_map=60", "data.n_labels=20"],
    )
    final = nlp.run_word2vec(cfg, tmp_path, None)
    # with these settings measured 0.800 (gensim against gensim: 0.863); the default run: 0.935 (0.970)
    assert final["spearman_vs_gensim"] > 0.6  # the goal
    assert final["spearman_gensim_seeds"] > final["spearman_vs_gensim"]  # the ceiling is above us
    vectors = np.load(tmp_path / "vectors.npy")
    vocab = (tmp_path / "vocab.txt").read_text().split()
    assert vectors.shape == (len(vocab), 32) and vocab[0] == "the"
    near = (tmp_path / "neighbours.txt").read_text()
    assert near.startswith("king: ") and (tmp_path / "tsne.png").stat().st_size > 1000


THRESHOLD_LSTM = 0.62  # bidirectional, max-pooled: measured 0.661 val, 0.656 test, 11 s (chance 0.5)
