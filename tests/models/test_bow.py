"""Bag of words: causal averaging is the running mean, and the model never looks ahead."""

import torch

from nanozoo.models.bow import BoW, BoWConfig, causal_average


def test_causal_average_is_the_running_mean():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 3)
    expect = x.cumsum(1) / torch.arange(1, 6).view(1, 5, 1)
    torch.testing.assert_close(causal_average(x), expect, atol=1e-6, rtol=0)


def test_bow_is_causal_and_ignores_padding():
    torch.manual_seed(0)
    model = BoW(BoWConfig(vocab_size=7, block_size=6, n_embd=8, n_embd2=8))
    x = torch.randint(0, 7, (3, 6))
    logits, _ = model(x)
    x2 = x.clone()
    x2[:, 4:] = 0
    torch.testing.assert_close(model(x2)[0][:, :4], logits[:, :4], atol=1e-6, rtol=0)
    y = torch.full((3, 6), -1)
    y[:, 0] = 1
    expect = torch.nn.functional.cross_entropy(logits[:, 0], y[:, 0])
    torch.testing.assert_close(model(x, y)[1], expect, atol=1e-6, rtol=0)
