"""The one resize used everywhere: Phase 1's pyramids, the loss's pyramid mode and the
super-resolution degradation, so a critic sees at loss time the same kind of downscaled
image it was trained on."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resize(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """Bicubic resize with antialiasing when shrinking (close to MATLAB's imresize).

    Shape: (N, C, H, W) -> (N, C, size[0], size[1]).

    Example:
        >>> import torch
        >>> resize(torch.rand(1, 3, 64, 48), (32, 24)).shape
        torch.Size([1, 3, 32, 24])
    """
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    out_size = (int(size[0]), int(size[1]))
    if x.device.type == "cpu" and x.dtype in (torch.bfloat16, torch.float16):
        # PyTorch's antialiased bicubic has no half-precision CPU kernel: resize in float32, return the input's dtype
        return F.interpolate(x.float(), size=out_size, mode="bicubic", align_corners=False, antialias=True).to(x.dtype)
    return F.interpolate(x, size=out_size, mode="bicubic", align_corners=False, antialias=True)


def scale_size(height: int, width: int, factor: float) -> tuple[int, int]:
    """Size of an image of (height, width) scaled by ``factor``, at least 1 px."""
    return max(1, round(height * factor)), max(1, round(width * factor))
