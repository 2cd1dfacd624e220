"""The image operations the built-in tasks are made of, shared by Phase 1 and restoration.

Each takes images (N, 3, H, W) in [0, 1] and a ``torch.Generator`` (for the random draws), so
both halves of the package degrade images the same way from the same seed.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from mdfloss.common.imageio import quantize_8bit
from mdfloss.common.resize import resize


def sample(value: float | list[float] | list[int], generator: torch.Generator) -> float:
    """A fixed value, or a uniform draw from [lo, hi]."""
    if isinstance(value, (list, tuple)):
        lo, hi = value
        return float(lo + (hi - lo) * torch.rand((), generator=generator).item())
    return float(value)


def gaussian_noise(x: torch.Tensor, generator: torch.Generator, sigma: float | list[float] = 25 / 255) -> torch.Tensor:
    """Additive white Gaussian noise of standard deviation ``sigma`` (on the 0-1 scale), not clamped.

    Example:
        >>> import torch
        >>> x = torch.full((1, 3, 64, 64), 0.5)
        >>> round(float((gaussian_noise(x, torch.Generator().manual_seed(0), sigma=0.1) - x).std()), 2)
        0.1
    """
    s = sample(sigma, generator)
    noise = torch.randn(x.shape, generator=generator, dtype=torch.float32).to(x.device, x.dtype)
    return x + s * noise


def jpeg(x: torch.Tensor, generator: torch.Generator, quality: int | list[int] = 10) -> torch.Tensor:
    """A real JPEG encode and decode (Pillow, 4:2:0) of the 8-bit image at ``quality``.

    Example:
        >>> import torch
        >>> y = jpeg(torch.rand(1, 3, 32, 32), torch.Generator(), quality=10)
        >>> y.shape, bool(torch.allclose(y * 255, (y * 255).round(), atol=1e-4))  # a decoded 8-bit image
        (torch.Size([1, 3, 32, 32]), True)
    """
    out = torch.empty_like(x)
    for i in range(x.shape[0]):
        q = int(round(sample(quality, generator)))
        arr = (x[i].detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="JPEG", quality=q)
        buf.seek(0)
        dec = np.asarray(Image.open(buf).convert("RGB"), dtype=np.float32) / 255.0
        out[i] = torch.from_numpy(dec).permute(2, 0, 1).to(x.device, x.dtype)
    return out


def bicubic_down(x: torch.Tensor, scale: int) -> torch.Tensor:
    """The low-resolution image: bicubic with antialiasing (H and W divide by ``scale``), quantised to 8 bits.

    Example:
        >>> import torch
        >>> bicubic_down(torch.rand(1, 3, 64, 48), 4).shape
        torch.Size([1, 3, 16, 12])
    """
    h, w = x.shape[-2:]
    return quantize_8bit(resize(x, (h // scale, w // scale)))
