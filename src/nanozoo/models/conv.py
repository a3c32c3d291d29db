"""2-D convolution and max-pooling written from scratch: forward and backward passes by hand.

LeCun et al. 1998 (LeNet-5); the im2col formulation of Chellapilla, Puri & Simard 2006, "High Performance
Convolutional Neural Networks for Document Processing": unroll every receptive field of the input into a
column, and a convolution becomes one matrix product with the flattened filters. The backward pass is two
more products and a col2im (the columns' gradients added back onto the pixels they were read from).

`conv2d(x, weight, bias, stride, padding)` and `max_pool2d(x, kernel_size, stride)` are
`torch.autograd.Function`s whose `backward` is ours, not autograd's; tests/models/test_conv.py checks values
and gradients against `F.conv2d` / `F.max_pool2d` within 1e-5. `Conv2d` and `MaxPool2d` are the
`nn.Module`s, with `nn.Conv2d`'s parameter names, shapes and init, so its state dict loads into ours.

Shapes: B batch, C input channels, O output channels (filters), H x W image, kh x kw kernel,
Ho x Wo output, L = Ho Wo output positions.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------------------------------------------
# im2col and col2im


def _out_size(n: int, k: int, stride: int, padding: int) -> int:
    return (n + 2 * padding - k) // stride + 1


def im2col(x: torch.Tensor, kh: int, kw: int, stride: int, padding: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, C kh kw, L): column l holds the receptive field of output position l.

    One strided slice per kernel offset (i, j) reads that offset of every receptive field at once, so the
    loop runs kh kw times, not once per pixel."""
    B, C, H, W = x.shape
    Ho, Wo = _out_size(H, kh, stride, padding), _out_size(W, kw, stride, padding)
    xp = F.pad(x, (padding, padding, padding, padding))  # (B, C, H + 2p, W + 2p)
    cols = x.new_empty(B, C, kh, kw, Ho, Wo)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i : i + stride * Ho : stride, j : j + stride * Wo : stride]
    return cols.view(B, C * kh * kw, Ho * Wo)


def col2im(
    cols: torch.Tensor, shape: tuple[int, ...], kh: int, kw: int, stride: int, padding: int
) -> torch.Tensor:
    """The adjoint of im2col: (B, C kh kw, L) -> (B, C, H, W), each column entry added onto the pixel it
    was read from (a pixel in several receptive fields collects the sum)."""
    B, C, H, W = shape
    Ho, Wo = _out_size(H, kh, stride, padding), _out_size(W, kw, stride, padding)
    cols = cols.view(B, C, kh, kw, Ho, Wo)
    xp = cols.new_zeros(B, C, H + 2 * padding, W + 2 * padding)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i : i + stride * Ho : stride, j : j + stride * Wo : stride] += cols[:, :, i, j]
    return xp[:, :, padding : padding + H, padding : padding + W]


# ---------------------------------------------------------------------------------------------------
# The functions, forward and backward


class Conv2dFunction(torch.autograd.Function):
    """out[b, o, l] = sum_k W[o, k] cols[b, k, l] + bias[o], with k running over (c, i, j)."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride: int, padding: int):
        B, C, H, W = x.shape
        O, _, kh, kw = weight.shape
        Ho, Wo = _out_size(H, kh, stride, padding), _out_size(W, kw, stride, padding)
        cols = im2col(x, kh, kw, stride, padding)  # (B, C kh kw, L)
        ### BEGIN SOLUTION
        out = weight.view(O, -1) @ cols  # (O, C kh kw) @ (B, C kh kw, L) -> (B, O, L)
        if bias is not None:
            out = out + bias.view(1, O, 1)
        ### END SOLUTION
        ctx.save_for_backward(cols, weight, bias)
        ctx.shape, ctx.stride, ctx.padding = x.shape, stride, padding
        return out.view(B, O, Ho, Wo)

    @staticmethod
    def backward(ctx, grad_out):
        cols, weight, bias = ctx.saved_tensors
        O, _, kh, kw = weight.shape
        B = grad_out.shape[0]
        g = grad_out.reshape(B, O, -1)  # (B, O, L)
        grad_x = grad_w = grad_b = None
        ### BEGIN SOLUTION
        if ctx.needs_input_grad[0]:  # dL/dcols = W^T dL/dout, then back onto the pixels
            grad_cols = weight.view(O, -1).T @ g  # (C kh kw, O) @ (B, O, L) -> (B, C kh kw, L)
            grad_x = col2im(grad_cols, ctx.shape, kh, kw, ctx.stride, ctx.padding)  # (B, C, H, W)
        if ctx.needs_input_grad[1]:  # dL/dW = sum over batch and positions of dL/dout cols^T
            grad_w = (g @ cols.transpose(1, 2)).sum(0).view_as(weight)  # (B, O, L) @ (B, L, C kh kw)
        if bias is not None and ctx.needs_input_grad[2]:
            grad_b = g.sum((0, 2))  # (O,)
        ### END SOLUTION
        return grad_x, grad_w, grad_b, None, None


class MaxPool2dFunction(torch.autograd.Function):
    """out = the largest pixel of each k x k window; its gradient flows to that pixel alone."""

    @staticmethod
    def forward(ctx, x, kernel_size: int, stride: int):
        B, C, H, W = x.shape
        k, s = kernel_size, stride
        windows = x.unfold(2, k, s).unfold(3, k, s)  # (B, C, Ho, Wo, k, k), a view
        Ho, Wo = windows.shape[2:4]
        out, arg = windows.reshape(B, C, Ho, Wo, k * k).max(dim=-1)  # (B, C, Ho, Wo) each
        ctx.save_for_backward(arg)
        ctx.shape, ctx.k, ctx.s = x.shape, k, s
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (arg,) = ctx.saved_tensors
        k, s = ctx.k, ctx.s
        Ho, Wo = arg.shape[2:]
        grad_x = grad_out.new_zeros(ctx.shape)
        ### BEGIN SOLUTION
        for i in range(k):  # the window offset (i, j) that won sends its output's gradient back
            for j in range(k):
                won = (arg == i * k + j).to(grad_out.dtype)  # (B, C, Ho, Wo)
                grad_x[:, :, i : i + s * Ho : s, j : j + s * Wo : s] += grad_out * won
        ### END SOLUTION
        return grad_x, None, None


def conv2d(x, weight, bias=None, stride: int = 1, padding: int = 0) -> torch.Tensor:
    """x (B, C, H, W), weight (O, C, kh, kw), bias (O,) -> (B, O, Ho, Wo); as F.conv2d (groups=1)."""
    if x.dim() != 4 or weight.dim() != 4 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"conv2d: input {tuple(x.shape)} does not fit weight {tuple(weight.shape)}")
    return Conv2dFunction.apply(x, weight, bias, stride, padding)


def max_pool2d(x: torch.Tensor, kernel_size: int, stride: int | None = None) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, Ho, Wo); as F.max_pool2d without padding (stride defaults to the kernel)."""
    return MaxPool2dFunction.apply(x, kernel_size, stride or kernel_size)


# ---------------------------------------------------------------------------------------------------
# Modules


class Conv2d(nn.Module):
    """nn.Conv2d's parameters (`weight` (O, C, k, k), `bias` (O,)) and init, our forward and backward."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride=1, padding=0, bias=True):
        super().__init__()
        self.stride, self.padding = stride, padding
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        # nn.Conv2d's init: kaiming_uniform(a=sqrt(5)) is uniform(+-1/sqrt(fan_in)), the bias likewise
        bound = 1 / math.sqrt(in_channels * kernel_size * kernel_size)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return conv2d(x, self.weight, self.bias, self.stride, self.padding)


class MaxPool2d(nn.Module):
    def __init__(self, kernel_size: int, stride: int | None = None):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride or kernel_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return max_pool2d(x, self.kernel_size, self.stride)


__all__ = ["Conv2d", "Conv2dFunction", "MaxPool2d", "MaxPool2dFunction", "col2im", "conv2d", "im2col"]
