"""Image pyramids: the sizes of each scale, and the one resize used everywhere.

Phase 1 and the loss's pyramid mode share :func:`resize`, so a critic sees at
loss time the same kind of downscaled image it was trained on.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bicubic resize with antialiasing when shrinking (close to MATLAB's imresize).

    Shape: (N, C, H, W) -> (N, C, size[0], size[1]).
    """
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=True)


def scale_size(height: int, width: int, factor: float) -> tuple[int, int]:
    """Size of an image of (height, width) scaled by ``factor``, at least 1 px."""
    return max(1, round(height * factor)), max(1, round(width * factor))


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
