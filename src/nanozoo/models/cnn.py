"""Image classifiers: an MLP baseline, a LeNet-style CNN and a small ResNet with BatchNorm.

- `mlp`: the image flattened into pixels, hidden ReLU layers, a linear head (the MNIST baseline).
- `lenet`: LeCun et al. 1998, "Gradient-Based Learning Applied to Document Recognition" (LeNet-5), in its
  modern form: blocks of convolution -> ReLU -> 2x2 max-pool, then a hidden fully connected layer. LeNet-5
  used 5x5 filters, tanh and average pooling; ReLU and max-pooling train faster and are what people now
  call LeNet-style. The convolution and the pooling are ours (`models/conv.py`, backward passes by hand)
  unless `conv_impl="torch"` (F.conv2d and F.max_pool2d, to compare speed; the weights are the same).
- `resnet`: He et al. 2016, "Deep Residual Learning for Image Recognition", the CIFAR-10 family of its
  section 4.2: a 3x3 stem, stages of basic blocks (conv-BN-ReLU-conv-BN plus the shortcut, then ReLU), the
  first block of each later stage halving the image with stride 2 and a 1x1 projection shortcut (their
  option B), global average pooling, a linear head. `n_blocks` blocks per stage: 3 is their ResNet-20.
  BatchNorm is torch's `nn.BatchNorm2d`.

`forward(x, targets)` returns `(logits, loss)` like the language models: x (B, C, H, W) -> logits (B, K).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from nanozoo.models.conv import Conv2d, MaxPool2d


@dataclass
class CNNConfig:
    arch: Literal["mlp", "lenet", "resnet"] = "lenet"
    in_channels: int = 1
    image_size: int = 28  # square images, image_size x image_size
    n_classes: int = 10
    channels: tuple[int, ...] = (32, 64)  # lenet: per conv block; resnet: per stage
    kernel_size: int = 3  # lenet's filters (padded to keep the size; resnet's are 3x3)
    n_hidden: int = 128  # mlp and lenet: width of each fully connected hidden layer
    n_layer: int = 2  # mlp: hidden layers
    n_blocks: int = 1  # resnet: basic blocks per stage
    dropout: float = 0.0  # before the head
    conv_impl: Literal["ours", "torch"] = "ours"  # lenet: our im2col conv and max-pool, or torch's

    def __post_init__(self):
        for name in ("in_channels", "image_size", "n_classes", "kernel_size", "n_hidden", "n_layer"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name}={getattr(self, name)} must be >= 1")
        if self.n_blocks < 1:
            raise ValueError(f"model.n_blocks={self.n_blocks} must be >= 1")
        if not self.channels or min(self.channels) < 1:
            raise ValueError(f"model.channels={self.channels} must be one or more positive widths")
        if self.arch == "lenet" and self.image_size < 2 ** len(self.channels):
            raise ValueError(
                f"model.image_size={self.image_size} is too small for {len(self.channels)} 2x2 poolings"
            )
        if self.kernel_size % 2 == 0:
            raise ValueError(f"model.kernel_size={self.kernel_size} must be odd (same-size padding)")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"model.dropout={self.dropout} must be in [0, 1)")


# ---------------------------------------------------------------------------------------------------
# Blocks


class ConvBlock(nn.Module):
    """conv (same size) -> ReLU -> 2x2 max-pool: (B, C, H, W) -> (B, O, H // 2, W // 2)."""

    def __init__(self, c_in: int, c_out: int, k: int, impl: str):
        super().__init__()
        self.impl = impl
        self.conv = Conv2d(c_in, c_out, k, padding=k // 2)
        self.pool = MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.impl == "torch":
            x = F.conv2d(x, self.conv.weight, self.conv.bias, padding=self.conv.padding)
            return F.max_pool2d(F.relu(x), 2)
        return self.pool(F.relu(self.conv(x)))


class BasicBlock(nn.Module):
    """x -> ReLU(BN(conv(ReLU(BN(conv(x))))) + shortcut(x)); the shortcut projects when the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))  # (B, O, H / s, W / s)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


# ---------------------------------------------------------------------------------------------------
# The model


class CNN(nn.Module):
    def __init__(self, cfg: CNNConfig):
        super().__init__()
        self.config = cfg
        c, s = cfg.in_channels, cfg.image_size
        if cfg.arch == "mlp":
            self.features = nn.Flatten()
            width = c * s * s
            hidden = []
            for _ in range(cfg.n_layer):
                hidden += [nn.Linear(width, cfg.n_hidden), nn.ReLU()]
                width = cfg.n_hidden
            self.hidden = nn.Sequential(*hidden)
        elif cfg.arch == "lenet":
            blocks = []
            for w in cfg.channels:
                blocks.append(ConvBlock(c, w, cfg.kernel_size, cfg.conv_impl))
                c, s = w, s // 2
            self.features = nn.Sequential(*blocks, nn.Flatten())
            self.hidden = nn.Sequential(nn.Linear(c * s * s, cfg.n_hidden), nn.ReLU())
            width = cfg.n_hidden
        else:
            w0 = cfg.channels[0]
            layers: list[nn.Module] = [
                nn.Conv2d(c, w0, 3, padding=1, bias=False),
                nn.BatchNorm2d(w0),
                nn.ReLU(),
            ]
            c = w0
            for stage, w in enumerate(cfg.channels):
                for b in range(cfg.n_blocks):
                    layers.append(BasicBlock(c, w, stride=2 if stage > 0 and b == 0 else 1))
                    c = w
            self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())  # (B, C)
            self.hidden = nn.Sequential()
            width = c
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(width, cfg.n_classes)

    def forward(self, x: torch.Tensor, targets: torch.Tensor | None = None):
        """x (B, C, H, W) -> logits (B, K); with targets (B,), also the mean cross-entropy."""
        logits = self.head(self.drop(self.hidden(self.features(x))))  # (B, K)
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits, targets)

    def first_filters(self) -> torch.Tensor | None:
        """The first convolution's filters (O, C, k, k), for the picture; None for the MLP."""
        for m in self.modules():
            if isinstance(m, (Conv2d, nn.Conv2d)):
                return m.weight.detach()
        return None


__all__ = ["CNN", "BasicBlock", "CNNConfig", "ConvBlock"]
