"""SinGAN-style critic and generator for one pyramid scale.

The layout (layers, keys) is :mod:`mdfloss.loss.critic_layout`'s, so the critics
trained here are what the loss files hold.
"""

from __future__ import annotations

import torch
from torch import nn

from mdfloss.loss.critic_layout import KERNEL_SIZE, LEAKY_SLOPE, NUM_LAYERS


class ConvBlock(nn.Sequential):
    """Conv3x3 (no padding) -> BatchNorm -> LeakyReLU(0.2)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.add_module("conv", nn.Conv2d(in_channels, out_channels, KERNEL_SIZE, padding=0))
        self.add_module("norm", nn.BatchNorm2d(out_channels))
        self.add_module("act", nn.LeakyReLU(LEAKY_SLOPE, inplace=True))


class _Trunk(nn.Module):
    """Head and three body blocks, then a 3x3 tail conv; shared by critic and generator."""

    def __init__(self, in_channels: int, width: int, out_channels: int) -> None:
        super().__init__()
        self.width = width
        self.head = ConvBlock(in_channels, width)
        # Named children block1..block3, as in SinGAN's files.
        self.body = nn.Sequential()
        for i in range(NUM_LAYERS - 2):
            self.body.add_module(f"block{i + 1}", ConvBlock(width, width))
        self.tail = nn.Conv2d(width, out_channels, KERNEL_SIZE, padding=0)


class Critic(_Trunk):
    """WGAN critic of one scale; ``features`` returns the MDF taps.

    Args:
        width: channels of the hidden layers (32, 64 or 128 in the paper).

    Shape:
        input (N, 3, H, W) with H, W >= 11; critic map (N, 1, H-10, W-10).

    Example:
        >>> import torch
        >>> head, body, critic_map = Critic(32).features(torch.rand(1, 3, 24, 24) * 2 - 1)
        >>> head.shape, critic_map.shape
        (torch.Size([1, 32, 22, 22]), torch.Size([1, 1, 14, 14]))
    """

    def __init__(self, width: int, in_channels: int = 3) -> None:
        super().__init__(in_channels, width, 1)

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (head output, last body block output, critic map)."""
        h = self.head(x)
        b = self.body(h)
        return h, b, self.tail(b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.body(self.head(x)))


class Generator(_Trunk):
    """Residual generator: ``prev + tanh(trunk(zero_pad(input)))``.

    The input is zero-padded by 5 px so the output keeps the size of ``prev``.

    Example:
        >>> import torch
        >>> prev = torch.zeros(1, 3, 24, 24)
        >>> Generator(32)(torch.rand(1, 3, 24, 24), prev).shape
        torch.Size([1, 3, 24, 24])
    """

    def __init__(self, width: int, channels: int = 3) -> None:
        super().__init__(channels, width, channels)
        self.pad = nn.ZeroPad2d(NUM_LAYERS)

    def forward(self, x: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        return prev + torch.tanh(self.tail(self.body(self.head(self.pad(x)))))


def init_weights(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """SinGAN's initialisation: convs N(0, 0.02), BatchNorm weight N(1, 0.02), bias 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            with torch.no_grad():
                m.weight.normal_(0.0, 0.02, generator=generator)
                if m.bias is not None:
                    m.bias.zero_()
        elif isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.normal_(1.0, 0.02, generator=generator)
                m.bias.zero_()
