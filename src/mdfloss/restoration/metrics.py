"""Fidelity metrics with BasicSR's conventions.

PSNR and SSIM are computed on RGB and on the luma Y of ITU-R BT.601 (``16 + 65.481 R +
128.553 G + 24.966 B`` on [0, 1] inputs, as BasicSR's ``rgb2ycbcr(y_only=True)``), after
cropping ``border`` pixels from every side (BasicSR's ``crop_border``: the SR scale, 0 for
denoising and JPEG). Inputs are quantised to 8 bits first, like saved images.
SSIM: pytorch-msssim's Gaussian SSIM (window 11, sigma 1.5).
"""

from __future__ import annotations

import math

import torch
from pytorch_msssim import ssim

from mdfloss.common.imageio import quantize_8bit

quantize = quantize_8bit  # the package's one 8-bit quantiser, under the name this module has always used


def to_y(x: torch.Tensor) -> torch.Tensor:
    """The luma channel of RGB in [0, 1] as BasicSR and MATLAB compute it (ITU-R BT.601, 16-235): (N, 3, H, W) ->
    (N, 1, H, W).

    Example:
        >>> import torch
        >>> to_y(torch.rand(1, 3, 8, 8)).shape
        torch.Size([1, 1, 8, 8])
    """
    w = torch.tensor([65.481, 128.553, 24.966], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (16.0 + (x * w).sum(dim=1, keepdim=True)) / 255.0


def crop_border(x: torch.Tensor, border: int) -> torch.Tensor:
    """``border`` pixels cut from every side (SR is scored without its border, as BasicSR does).

    Example:
        >>> import torch
        >>> crop_border(torch.rand(1, 3, 16, 16), 4).shape
        torch.Size([1, 3, 8, 8])
    """
    return x[..., border : x.shape[-2] - border, border : x.shape[-1] - border] if border else x


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two images in [0, 1] (computed in float64; inf when they are equal).

    Example:
        >>> import torch
        >>> round(psnr(torch.full((1, 3, 4, 4), 0.5), torch.full((1, 3, 4, 4), 0.6)), 2)
        20.0
    """
    mse = float(((a.double() - b.double()) ** 2).mean())
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


def fidelity(pred: torch.Tensor, target: torch.Tensor, border: int = 0) -> dict[str, float]:
    """PSNR/SSIM on RGB and Y for one image pair (1, 3, H, W) in [0, 1].

    Example:
        >>> import torch
        >>> x = torch.rand(1, 3, 32, 32)
        >>> sorted(fidelity(x, x))
        ['psnr_rgb', 'psnr_y', 'ssim_rgb', 'ssim_y']
    """
    p, t = crop_border(quantize(pred), border), crop_border(quantize(target), border)
    py, ty = to_y(p), to_y(t)
    return {
        "psnr_rgb": psnr(p, t),
        "ssim_rgb": float(ssim(p, t, data_range=1.0)),
        "psnr_y": psnr(py, ty),
        "ssim_y": float(ssim(py, ty, data_range=1.0)),
    }
