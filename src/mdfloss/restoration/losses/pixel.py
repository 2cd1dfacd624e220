"""The usual losses, as kornia writes them: each a function and a module with the same
arguments, taking ``(prediction, target)`` like :class:`~mdfloss.MDFLoss`.

``reduction``: ``"mean"`` (over the batch), ``"sum"`` or ``"none"`` (one value per image).
SSIM and MS-SSIM are pytorch-msssim's (Gaussian window 11, sigma 1.5), as ``1 - SSIM``.

Example:
    >>> import torch
    >>> from mdfloss.restoration.losses import L1Loss, ms_ssim_loss
    >>> p, t = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    >>> L1Loss(reduction="none")(p, t).shape
    torch.Size([2])
    >>> float(ms_ssim_loss(t, t)) < 1e-6
    True
"""

from __future__ import annotations

import torch
from torch import nn

from mdfloss.common.errors import InvalidInputError
from mdfloss.common.validation import REDUCTIONS, check_choice, check_pair
from mdfloss.common.validation import reduce_per_image as _reduce


def _check(prediction: torch.Tensor, target: torch.Tensor, reduction: str) -> None:
    check_choice("reduction", reduction, REDUCTIONS)
    check_pair(prediction, target, 1.0, check_range=False)


def l1_loss(prediction: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean absolute error per image. Shape: (N, C, H, W) -> scalar, or (N,) with ``"none"``."""
    _check(prediction, target, reduction)
    return _reduce((prediction - target).abs().mean(dim=(1, 2, 3)), reduction)


def l2_loss(prediction: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean squared error per image. Shape: (N, C, H, W) -> scalar, or (N,) with ``"none"``."""
    _check(prediction, target, reduction)
    return _reduce((prediction - target).square().mean(dim=(1, 2, 3)), reduction)


def ssim_loss(prediction: torch.Tensor, target: torch.Tensor, reduction: str = "mean",
              data_range: float = 1.0) -> torch.Tensor:
    """``1 - SSIM`` per image (window 11, sigma 1.5); H and W at least 11."""
    from pytorch_msssim import ssim

    _check(prediction, target, reduction)
    return _reduce(1 - ssim(prediction, target, data_range=data_range, size_average=False), reduction)


def _msssim_window(side: int) -> int:
    # pytorch-msssim's 5 scales need a side > 16 * (window - 1): 161 px for the standard
    # 11-px window. Training patches are smaller, so they get the largest odd window
    # that fits (5 px at 96, 3 px at 64), with sigma scaled alike.
    win = min(11, max(3, ((side - 1) // 16) | 1))
    if 16 * (win - 1) >= side:
        win -= 2
    if win < 3:
        raise InvalidInputError(f"msssim: images of {side} px are too small; use at least 33 px")
    return win


def ms_ssim_loss(prediction: torch.Tensor, target: torch.Tensor, reduction: str = "mean",
                 data_range: float = 1.0) -> torch.Tensor:
    """``1 - MS-SSIM`` per image (5 scales; the window shrinks for images under 161 px)."""
    from pytorch_msssim import ms_ssim

    _check(prediction, target, reduction)
    win = _msssim_window(min(prediction.shape[-2:]))
    value = ms_ssim(prediction, target, data_range=data_range, size_average=False, win_size=win,
                    win_sigma=1.5 * win / 11)
    return _reduce(1 - value, reduction)


class _PixelLoss(nn.Module):
    _fn = staticmethod(l1_loss)

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        check_choice("reduction", reduction, REDUCTIONS)
        self.reduction = reduction

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return type(self)._fn(prediction, target, self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class L1Loss(_PixelLoss):
    """Module form of :func:`l1_loss`."""

    _fn = staticmethod(l1_loss)


class L2Loss(_PixelLoss):
    """Module form of :func:`l2_loss`."""

    _fn = staticmethod(l2_loss)


class SSIMLoss(_PixelLoss):
    """Module form of :func:`ssim_loss`."""

    _fn = staticmethod(ssim_loss)


class MSSSIMLoss(_PixelLoss):
    """Module form of :func:`ms_ssim_loss`."""

    _fn = staticmethod(ms_ssim_loss)
