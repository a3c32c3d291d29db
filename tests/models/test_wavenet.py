"""The WaveNet-style hierarchical model: the lecture's parameter count, the pairwise fusion, causality."""

import pytest
import torch

from nanozoo.models.wavenet import FlattenConsecutive, WaveNet, WaveNetConfig


def test_parameter_count_is_the_lectures():
    assert WaveNet(WaveNetConfig()).num_params() == 76579  # embedding 24, hidden 128, context 8


def test_flatten_consecutive_concatenates_neighbours():
    x = torch.arange(2 * 4 * 3).view(2, 4, 3)
    y = FlattenConsecutive(2)(x)
    assert y.shape == (2, 2, 6)
    assert y[0, 1].tolist() == x[0, 2].tolist() + x[0, 3].tolist()  # positions 2 and 3 fused
    assert FlattenConsecutive(2)(torch.zeros(5, 2, 3)).shape == (5, 6)  # the last level drops T = 1


def test_forward_and_context_check():
    torch.manual_seed(0)
    model = WaveNet(WaveNetConfig(n_embd=4, n_hidden=8))
    logits, loss = model(torch.randint(0, 27, (512, 8)), torch.randint(0, 27, (512,)))
    assert logits.shape == (512, 27)
    assert abs(loss.item() - 3.2958) < 0.03  # near-uniform start (3.357 without the output scaling)
    with pytest.raises(ValueError, match="6 characters"):
        model(torch.zeros(2, 6, dtype=torch.long))
    with pytest.raises(ValueError, match="block_size=6"):
        WaveNetConfig(block_size=6)


@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("block_size", [2, 8, 16])
def test_dilated_convolution_equals_the_tree_at_every_window(block_size, residual):
    torch.manual_seed(0)
    cfg = WaveNetConfig(vocab_size=11, block_size=block_size, n_embd=5, n_hidden=8, residual=residual)
    model = WaveNet(cfg)
    model.train()
    model(torch.randint(0, 11, (64, block_size)))  # move BatchNorm's running statistics off 0 and 1
    model.eval()
    idx = torch.randint(0, 11, (3, block_size + 9))
    logits, _ = model.forward_all(idx)
    assert logits.shape == (3, 10, 11)
    for j in range(10):
        tree, _ = model(idx[:, j : j + block_size])
        torch.testing.assert_close(logits[:, j], tree, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="needs"):
        model.forward_all(idx[:, : block_size - 1])


def test_residual_options_are_checked():
    with pytest.raises(ValueError, match="residual=true"):
        WaveNetConfig(dropout=0.1)
    with pytest.raises(ValueError, match="dropout=1.0"):
        WaveNetConfig(residual=True, dropout=1.0)
