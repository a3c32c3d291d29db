"""The tiled PyTorch FlashAttention-2 equals F.scaled_dot_product_attention, values and gradients."""

import math
import sys

import pytest
import torch

from nanozoo.kernels.flash_attention import KernelUnavailable, attention, flash_forward, naive_attention


# T = 100 and 300 are not multiples of the 64-row tiles (a ragged last tile); 64 is exactly one
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("D,T", [(32, 100), (64, 64), (64, 300), (128, 130)])
def test_reference_equals_sdpa(against_sdpa, D, T, causal):
    ours = lambda *a: attention(*a, impl="flash_ref")
    against_sdpa(ours, T, D, causal, atol=1e-5, rtol=1e-5)


def test_the_log_sum_exp_is_the_rows_logsumexp(qkv):
    q, k, v, _ = qkv(1, 1, 70, 32)
    o, lse = flash_forward(q, k, v, causal=True, block_q=16, block_k=32)  # unequal tiles
    s = (q @ k.transpose(-2, -1) / 32**0.5).masked_fill(torch.ones(70, 70).triu(1).bool(), float("-inf"))
    torch.testing.assert_close(lse, s.logsumexp(-1), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(o, naive_attention(q, k, v, causal=True), atol=1e-5, rtol=1e-5)


def test_a_worked_example_by_hand():
    # query 0 scores the two keys 0 and ln 3 (weights 1/4, 3/4); query 1 scores both 0 (weights 1/2, 1/2)
    q = torch.tensor([[2.0, 0, 0, 0], [0, 0, 0, 0]])[None, None]  # (1, 1, 2, 4): 1/sqrt(4) undoes the 2
    k = torch.tensor([[0.0, 0, 0, 0], [math.log(3.0), 0, 0, 0]])[None, None]
    v = torch.tensor([[4.0, 0, 0, 0], [8.0, 0, 0, 0]])[None, None]
    o, lse = flash_forward(q, k, v, block_q=1, block_k=1)  # one key per tile: the rescaling is exercised
    torch.testing.assert_close(o[0, 0, :, 0], torch.tensor([0.25 * 4 + 0.75 * 8, 0.5 * 4 + 0.5 * 8]))
    torch.testing.assert_close(lse[0, 0], torch.tensor([math.log(1.0 + 3.0), math.log(2.0)]))
    o, _ = flash_forward(q, k, v, causal=True, block_q=1, block_k=1)  # query 0 sees key 0 only
    torch.testing.assert_close(o[0, 0, :, 0], torch.tensor([4.0, 6.0]))


def test_an_unknown_impl_is_refused(qkv):
    q, k, v, _ = qkv(1, 1, 4, 16)
    with pytest.raises(ValueError, match="impl='flash'"):
        attention(q, k, v, causal=False, impl="flash")


def test_unequal_shapes_are_refused(qkv):
    q, k, v, _ = qkv(1, 1, 4, 16)
    with pytest.raises(ValueError, match="one shape"):
        attention(q, k[:, :, :3], v, causal=False, impl="flash_ref")


def test_without_triton_it_says_how_to_install_it(qkv, monkeypatch):
    monkeypatch.setitem(sys.modules, "triton", None)  # `import triton` raises ImportError
    q, k, v, _ = qkv(1, 1, 4, 16)
    with pytest.raises(KernelUnavailable, match=r"pip install 'nanozoo\[kernels\]'"):
        attention(q, k, v, causal=False, impl="flash_triton")
