"""Our im2col convolution and max-pool against F.conv2d / F.max_pool2d: values and gradients."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nanozoo.models.conv import Conv2d, MaxPool2d, col2im, conv2d, im2col, max_pool2d

CONV_CASES = [  # (B, C, H, W, O, k, stride, padding)
    (2, 3, 8, 8, 4, 3, 1, 1),
    (1, 1, 28, 28, 6, 5, 1, 2),
    (3, 2, 9, 7, 5, 3, 2, 0),
    (2, 4, 6, 6, 3, 1, 1, 0),
    (1, 3, 11, 10, 2, 4, 3, 2),
]


@pytest.mark.parametrize("B,C,H,W,O,k,stride,padding", CONV_CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_conv2d_forward_and_backward_equal_torch(B, C, H, W, O, k, stride, padding, dtype):
    torch.manual_seed(0)
    x = torch.randn(B, C, H, W, dtype=dtype, requires_grad=True)
    w = torch.randn(O, C, k, k, dtype=dtype, requires_grad=True)
    b = torch.randn(O, dtype=dtype, requires_grad=True)
    ours = conv2d(x, w, b, stride, padding)
    theirs = F.conv2d(x, w, b, stride=stride, padding=padding)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)  # the tolerance
    g = torch.randn_like(ours) / ours.numel() ** 0.5  # a unit-scale loss's gradient: float32 sums stay exact
    got = torch.autograd.grad(ours, (x, w, b), g)
    want = torch.autograd.grad(theirs, (x, w, b), g)
    for a, e, name in zip(got, want, ("x", "weight", "bias"), strict=True):
        torch.testing.assert_close(a, e, atol=1e-5, rtol=1e-5, msg=name)


def test_conv2d_backward_passes_gradcheck_in_float64():
    torch.manual_seed(1)
    x = torch.randn(2, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: conv2d(x, w, b, 2, 1), (x, w, b))


def test_col2im_is_the_adjoint_of_im2col():
    # <im2col(x), c> == <x, col2im(c)> for every x and c: what makes the backward pass right
    torch.manual_seed(2)
    x = torch.randn(2, 3, 7, 6, dtype=torch.float64)
    cols = im2col(x, 3, 2, 2, 1)
    c = torch.randn_like(cols)
    lhs = (cols * c).sum()
    rhs = (x * col2im(c, x.shape, 3, 2, 2, 1)).sum()
    assert lhs.item() == pytest.approx(rhs.item(), rel=1e-12)


def test_a_hand_worked_convolution():
    # a 3x3 image of 1..9 and one 2x2 filter of ones: each output is the sum of a 2x2 window
    x = torch.arange(1.0, 10.0).view(1, 1, 3, 3)
    w = torch.ones(1, 1, 2, 2)
    assert conv2d(x, w).flatten().tolist() == [12.0, 16.0, 24.0, 28.0]
    assert max_pool2d(x, 2, 1).flatten().tolist() == [5.0, 6.0, 8.0, 9.0]


@pytest.mark.parametrize(
    "shape,k,stride", [((2, 3, 8, 8), 2, None), ((1, 2, 9, 7), 3, 2), ((2, 1, 6, 6), 2, 1)]
)
def test_max_pool_forward_and_backward_equal_torch(shape, k, stride):
    torch.manual_seed(0)
    x = torch.randn(*shape, requires_grad=True)
    ours, theirs = max_pool2d(x, k, stride), F.max_pool2d(x, k, stride)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    g = torch.randn_like(ours)
    (got,) = torch.autograd.grad(ours, x, g)
    (want,) = torch.autograd.grad(theirs, x, g)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_modules_load_nn_conv2d_weights_and_agree():
    torch.manual_seed(0)
    ref = nn.Conv2d(3, 5, 3, stride=2, padding=1)
    ours = Conv2d(3, 5, 3, stride=2, padding=1)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3, 10, 10)
    torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(MaxPool2d(2)(x), nn.MaxPool2d(2)(x))
    # the init spreads as nn.Conv2d's: uniform within +-1/sqrt(fan_in)
    assert ours.weight.abs().max() <= 1 / (3 * 9) ** 0.5
    with pytest.raises(ValueError, match="does not fit"):
        ours(torch.randn(2, 4, 10, 10))
