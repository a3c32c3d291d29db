"""The bigram by counting against the same bigram trained as a neural net, and a hand-checked count."""

import math

import pytest
import torch

from nanozoo.data.names import CharVocab, context_windows, load_names
from nanozoo.models.bigram import Bigram, BigramConfig, BigramCounts


def test_counts_worked_example():
    # "ab" and "b": pairs .a ab b. .b b.  ->  row '.' has a:1 b:1; row 'a' has b:1; row 'b' has '.':2
    vocab = CharVocab("ab")
    X, Y = context_windows(["ab", "b"], vocab, 1)
    m = BigramCounts(3, smoothing=0.0).fit(X[:, 0], Y)
    assert m.counts.tolist() == [[0, 1, 1], [0, 0, 1], [2, 0, 0]]
    # P(a|.) = 1/2, P(b|a) = 1, P(.|b) = 1: nll = -(log 1/2 + 0 + 0 + log 1/2 + 0) / 5
    assert m.nll(X[:, 0], Y) == pytest.approx(2 * math.log(2) / 5, abs=1e-12)
    # add-1: row '.' becomes (1, 2, 2) / 5
    torch.testing.assert_close(
        BigramCounts(3, 1.0).fit(X[:, 0], Y).probs[0], torch.tensor([0.2, 0.4, 0.4], dtype=torch.float64)
    )


def test_neural_bigram_converges_to_the_counts():
    words = load_names()[:2000]
    vocab = CharVocab.from_words(load_names())
    X, Y = context_windows(words, vocab, 1)
    counts = BigramCounts(len(vocab), smoothing=0.0).fit(X[:, 0], Y).nll(X[:, 0], Y)  # the MLE optimum
    torch.manual_seed(0)
    model = Bigram(BigramConfig(vocab_size=len(vocab)))
    opt = torch.optim.Adam(model.parameters(), lr=0.3)
    for _ in range(200):  # full batch: the loss is convex in W
        _, loss = model(X, Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert abs(loss.item() - counts) < 0.01  # the tolerance
    assert loss.item() >= counts - 1e-4  # the counts are the optimum: the net cannot beat them


def test_bigram_config_refuses_context():
    with pytest.raises(ValueError, match="block_size=3"):
        BigramConfig(block_size=3)
