"""Restoration networks: EDSR, SRResNet (super-resolution) and colour DnCNN (denoising, JPEG).

Each takes and returns images in [0, 1]. Small presets train on a CPU.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mdfloss.common.errors import InvalidInputError


class _ResBlock(nn.Module):
    def __init__(self, channels: int, res_scale: float = 1.0, batch_norm: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, channels, 3, padding=1)]
        if batch_norm:
            layers.append(nn.BatchNorm2d(channels))
        layers.append(nn.PReLU(channels) if batch_norm else nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(channels, channels, 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(channels))
        self.body = nn.Sequential(*layers)
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) * self.res_scale


def _upsampler(scale: int, channels: int, act: bool) -> nn.Sequential:
    if scale not in (2, 3, 4, 8):
        raise InvalidInputError(f"scale: expected 2, 3, 4 or 8, got {scale!r}")
    layers: list[nn.Module] = []
    steps = [(3, 3)] if scale == 3 else [(2, 2)] * {2: 1, 4: 2, 8: 3}[scale]
    for factor, _ in steps:
        layers += [nn.Conv2d(channels, channels * factor * factor, 3, padding=1), nn.PixelShuffle(factor)]
        if act:
            layers.append(nn.PReLU(channels))
    return nn.Sequential(*layers)


class EDSR(nn.Module):
    """EDSR (Lim et al. 2017): residual blocks without BatchNorm, pixel-shuffle upsampling.

    Shape: (N, 3, H, W) -> (N, 3, scale*H, scale*W).

    Example:
        >>> import torch
        >>> EDSR(scale=4, num_blocks=2, channels=16)(torch.rand(1, 3, 12, 10)).shape
        torch.Size([1, 3, 48, 40])
    """

    mean: torch.Tensor  # a buffer

    def __init__(self, scale: int = 4, num_blocks: int = 16, channels: int = 64, res_scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.body = nn.Sequential(*[_ResBlock(channels, res_scale) for _ in range(num_blocks)],
                                  nn.Conv2d(channels, channels, 3, padding=1))
        self.tail = nn.Sequential(_upsampler(scale, channels, act=False), nn.Conv2d(channels, 3, 3, padding=1))
        self.register_buffer("mean", torch.tensor([0.4488, 0.4371, 0.4040]).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x - self.mean)
        return self.tail(h + self.body(h)) + self.mean


class SRResNet(nn.Module):
    """SRResNet (Ledig et al. 2017): residual blocks with BatchNorm and PReLU.

    Shape: (N, 3, H, W) -> (N, 3, scale*H, scale*W).

    Example:
        >>> import torch
        >>> SRResNet(scale=2, num_blocks=1, channels=8).eval()(torch.rand(1, 3, 12, 10)).shape
        torch.Size([1, 3, 24, 20])
    """

    def __init__(self, scale: int = 4, num_blocks: int = 16, channels: int = 64) -> None:
        super().__init__()
        self.scale = scale
        self.head = nn.Sequential(nn.Conv2d(3, channels, 9, padding=4), nn.PReLU(channels))
        self.body = nn.Sequential(*[_ResBlock(channels, batch_norm=True) for _ in range(num_blocks)],
                                  nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels))
        self.tail = nn.Sequential(_upsampler(scale, channels, act=True), nn.Conv2d(channels, 3, 9, padding=4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        return self.tail(h + self.body(h))


class DnCNN(nn.Module):
    """Colour DnCNN (Zhang et al. 2017): predicts the residual (noise or artefacts) and subtracts it.

    Shape: (N, 3, H, W) -> (N, 3, H, W).

    Example:
        >>> import torch
        >>> DnCNN(depth=4, channels=8).eval()(torch.rand(2, 3, 16, 16)).shape
        torch.Size([2, 3, 16, 16])
    """

    def __init__(self, depth: int = 17, channels: int = 64) -> None:
        super().__init__()
        self.scale = 1
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
                       nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(channels, 3, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.net(x)


ARCHS = {"edsr": EDSR, "srresnet": SRResNet, "dncnn": DnCNN}

#: How errors name the file that ``train-restorer`` writes.
MODEL_KIND = "a model written by mdfloss train-restorer (model.pt)"


def build_model(spec: dict[str, Any], scale: int = 1) -> nn.Module:
    """Build from ``{"arch": ..., **kwargs}``; ``scale`` is passed to the SR networks."""
    spec = dict(spec)
    arch = spec.pop("arch", None)
    if arch not in ARCHS:
        raise InvalidInputError(f"arch: expected one of {', '.join(ARCHS)}, got {arch!r}")
    if arch != "dncnn":
        spec["scale"] = scale
    elif scale != 1:
        raise InvalidInputError(f"scale: DnCNN keeps the image size; got scale {scale}")
    try:
        return ARCHS[arch](**spec)
    except TypeError as exc:
        raise InvalidInputError(f"model: bad settings for {arch}: {exc}") from None
