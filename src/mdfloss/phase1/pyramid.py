"""Phase 1's image pyramid: the size of each scale and the real image at each scale.

Resizing is :func:`mdfloss.common.resize.resize`, shared with the loss's pyramid mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from mdfloss.common.resize import resize, scale_size


def pyramid_factors(
    height: int, width: int, *, scale_factor: float = 0.75, min_size: int = 25, max_size: int = 250
) -> tuple[list[float], float]:
    """SinGAN's pyramid for an image of (height, width).

    Returns ``(factors, fit)``: ``fit`` shrinks the image so its longer side is at
    most ``max_size``; ``factors[k]`` is the size of scale k (0 = coarsest)
    relative to the finest scale. The coarsest scale's shorter side is about
    ``min_size`` and the ratio between neighbours about ``scale_factor``.
    """
    fit = min(1.0, max_size / max(height, width))
    short = min(height, width) * fit
    if short <= min_size:
        return [1.0], fit
    num = math.ceil(math.log(min_size / short) / math.log(scale_factor)) + 1
    ratio = (min_size / short) ** (1.0 / (num - 1))  # exact ratio so the coarsest is min_size
    return [ratio ** (num - 1 - k) for k in range(num)], fit


def to_pm1(x01: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> [-1, 1], the range Phase 1's networks work in (any shape).

    Example:
        >>> import torch
        >>> to_pm1(torch.tensor([0.0, 0.5, 1.0]))
        tensor([-1.,  0.,  1.])
    """
    return x01 * 2 - 1


def to_01(xpm1: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1] (any shape).

    Example:
        >>> import torch
        >>> to_01(to_pm1(torch.tensor([0.0, 0.25, 1.0])))
        tensor([0.0000, 0.2500, 1.0000])
    """
    return (xpm1 + 1) / 2


@dataclass
class Pyramid:
    """The real image at every scale ([-1, 1], coarsest first) and their sizes relative to the finest.

    Example:
        >>> import torch
        >>> from mdfloss.phase1.steps import Phase1Config
        >>> pyr = build_pyramid(torch.rand(1, 3, 30, 30), Phase1Config(max_size=30, min_size=20), torch.device("cpu"))
        >>> len(pyr.reals), float(pyr.reals[-1].min()) >= -1  # coarsest first, in [-1, 1]
        (3, True)
    """

    reals: list[torch.Tensor]
    factors: list[float]


def build_pyramid(image01: torch.Tensor, config, device: torch.device) -> Pyramid:
    """image01: (1, 3, H, W) in [0, 1]; ``config`` a :class:`~mdfloss.phase1.steps.Phase1Config`.

    Example:
        >>> import torch
        >>> from mdfloss.phase1.steps import Phase1Config
        >>> pyr = build_pyramid(torch.rand(1, 3, 60, 80), Phase1Config(max_size=40, min_size=20), torch.device("cpu"))
        >>> [tuple(r.shape[-2:]) for r in pyr.reals]  # coarsest first, in [-1, 1]
        [(20, 27), (24, 33), (30, 40)]
    """
    h, w = image01.shape[-2:]
    factors, fit = pyramid_factors(h, w, scale_factor=config.scale_factor,
                                   min_size=config.min_size, max_size=config.max_size)
    finest = resize(image01, scale_size(h, w, fit)).clamp(0, 1)
    fh, fw = finest.shape[-2:]
    reals = [to_pm1(resize(finest, scale_size(fh, fw, f)).clamp(0, 1)).to(device) for f in factors]
    return Pyramid(reals, factors)
