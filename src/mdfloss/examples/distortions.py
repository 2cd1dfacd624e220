"""Example plug-in distortions for ``mdfloss train --task module:function``.

A plug-in takes images (N, 3, H, W) in [0, 1] and returns the same shape. It may
draw random numbers from torch's global generator: mdfloss seeds it per call.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gaussian_blur(x: torch.Tensor, sigma: float = 1.2) -> torch.Tensor:
    """Deblurring task: a separable Gaussian blur with reflect padding.

    Example:
        >>> import torch
        >>> x = torch.rand(1, 3, 32, 32)
        >>> y = gaussian_blur(x, sigma=1.5)
        >>> y.shape == x.shape and float(y.std()) < float(x.std())  # smoother
        True
    """
    radius = max(1, int(3 * sigma + 0.5))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def poisson_noise(x: torch.Tensor, peak: float = 30.0) -> torch.Tensor:
    """Low-light task: Poisson (shot) noise at ``peak`` photons for white.

    Example:
        >>> import torch
        >>> _ = torch.manual_seed(0)
        >>> poisson_noise(torch.full((1, 3, 16, 16), 0.5), peak=20).shape
        torch.Size([1, 3, 16, 16])
    """
    return torch.poisson(x.clamp(0, 1) * peak) / peak
