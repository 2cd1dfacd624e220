"""Weight-free perceptual losses that practitioners use today, each a function and a module with the same
arguments, as kornia writes them.

* **MS-SWD**, the multiscale sliced Wasserstein distance: He, Wang, Wang, Liu, Fang, Sun and Ma, "Multiscale Sliced
  Wasserstein Distances as Perceptual Color Difference Measures", ECCV 2024 (arXiv:2407.10181). neosr ships it as a
  training loss (``msswd_loss``) with 3 scales, 24 projections of 11-px patches, in CIELAB.
* **Focal frequency loss**: Jiang, Dai, Wu and Loy, "Focal Frequency Loss for Image Reconstruction and Synthesis",
  ICCV 2021 (arXiv:2012.12821); the ``focal-frequency-loss`` package is the authors' code, and the tests check this
  one against it.

Example:
    >>> import torch
    >>> p, t = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    >>> ms_swd_loss(p, t, reduction="none").shape
    torch.Size([2])
    >>> float(focal_frequency_loss(t, t))
    0.0
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mdfloss.common.errors import InvalidInputError
from mdfloss.common.validation import REDUCTIONS, check_choice, check_int, check_pair
from mdfloss.common.validation import reduce_per_image as _reduce

# sRGB (D65) -> XYZ, and the D65 white point, as CIE 15 gives them.
_RGB_TO_XYZ = torch.tensor([[0.4124564, 0.3575761, 0.1804375],
                            [0.2126729, 0.7151522, 0.0721750],
                            [0.0193339, 0.1191920, 0.9503041]])
_WHITE_D65 = torch.tensor([0.95047, 1.0, 1.08883])
# 5x5 binomial kernel of the Gaussian pyramid (as MS-SWD and neosr use).
_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])


def srgb_to_lab(x: torch.Tensor) -> torch.Tensor:
    """CIELAB (L in [0, 100]) of sRGB images in [0, 1]. Shape: (N, 3, H, W) -> (N, 3, H, W).

    Values are clamped where the curves have no gradient at 0 (sRGB's power law, the cube root), so an unclamped
    network output trains without NaNs."""
    lin = torch.where(x > 0.04045, ((x.clamp_min(0.04045) + 0.055) / 1.055) ** 2.4, x / 12.92)
    xyz = torch.einsum("ij,njhw->nihw", _RGB_TO_XYZ.to(x), lin) / _WHITE_D65.to(x).view(1, 3, 1, 1)
    delta = 6 / 29
    f = torch.where(xyz > delta**3, xyz.clamp_min(delta**3) ** (1 / 3), xyz / (3 * delta**2) + 4 / 29)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], dim=1)


def gaussian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """``levels`` images, finest first: each the one before blurred with the 5x5 binomial kernel (reflect padding)
    and subsampled by 2."""
    k = torch.outer(_BINOMIAL, _BINOMIAL).to(x) / 256.0
    k = k.expand(x.shape[1], 1, 5, 5)
    out = [x]
    for _ in range(levels - 1):
        x = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k, groups=x.shape[1])[:, :, ::2, ::2]
        out.append(x)
    return out


def ms_swd_loss(prediction: torch.Tensor, target: torch.Tensor, reduction: str = "mean", *, scales: int = 3,
                projections: int = 24, patch: int = 11, generator: torch.Generator | None = None) -> torch.Tensor:
    """Multiscale sliced Wasserstein distance in CIELAB, per image (He et al., ECCV 2024).

    At each of ``scales`` levels of a Gaussian pyramid, every ``patch`` x ``patch`` neighbourhood (3 channels) is
    projected on ``projections`` random unit directions (drawn anew at each call, from ``generator``); the 1-D
    Wasserstein-1 distance between the two images' projections over all positions (sorted values, mean absolute
    difference) is averaged over directions and then over scales. It compares distributions of local patches,
    not aligned pixels: two images with the same patches in another arrangement are at distance 0.

    Shape: (N, 3, H, W) in [0, 1], each level at least ``patch // 2 + 1`` px -> scalar, or (N,) with ``"none"``.
    (neosr's ``msswd_loss`` adds only its coarsest scale, and scales the result by 0.1; this one averages all
    scales as the paper does, and leaves the weight to the loss spec.)
    """
    check_choice("reduction", reduction, REDUCTIONS)
    check_pair(prediction, target, 1.0, check_range=False)
    check_int("scales", scales, 1)
    check_int("projections", projections, 1)
    check_int("patch", patch, 1)
    if prediction.shape[1] != 3:
        raise InvalidInputError(f"prediction: MS-SWD compares RGB images (N, 3, H, W), got {tuple(prediction.shape)}")
    smallest = min(prediction.shape[-2:]) // 2 ** (scales - 1)
    if smallest <= patch // 2:
        raise InvalidInputError(f"scales: {scales} levels of a {tuple(prediction.shape[-2:])} image leave "
                                f"{smallest} px, too small for {patch}-px patches; use fewer scales or larger images")
    total = prediction.new_zeros(prediction.shape[0], dtype=torch.float32)
    pyr_p = gaussian_pyramid(srgb_to_lab(prediction.float()), scales)
    pyr_t = gaussian_pyramid(srgb_to_lab(target.float()), scales)
    pad = patch // 2
    for p, t in zip(pyr_p, pyr_t):
        d = torch.randn(projections, 3 * patch * patch, generator=generator)
        d = (d / d.norm(dim=1, keepdim=True)).view(projections, 3, patch, patch).to(p)
        proj_p = F.conv2d(F.pad(p, (pad,) * 4, mode="reflect"), d).flatten(2).sort(dim=2).values
        proj_t = F.conv2d(F.pad(t, (pad,) * 4, mode="reflect"), d).flatten(2).sort(dim=2).values
        total = total + (proj_p - proj_t).abs().mean(dim=(1, 2))
    return _reduce(total / scales, reduction)


class MSSWDLoss(nn.Module):
    """:func:`ms_swd_loss` as a module; its projections come from its own generator seeded with ``seed``, so a
    training run draws the same directions every time it is repeated.

    Example:
        >>> import torch
        >>> loss = MSSWDLoss(seed=0)
        >>> float(loss(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64))) > 0
        True
    """

    def __init__(self, reduction: str = "mean", *, scales: int = 3, projections: int = 24, patch: int = 11,
                 seed: int = 0) -> None:
        super().__init__()
        check_choice("reduction", reduction, REDUCTIONS)
        for name, value, lo in (("scales", scales, 1), ("projections", projections, 1), ("patch", patch, 1),
                                ("seed", seed, 0)):
            check_int(name, value, lo)
        self.reduction, self.scales, self.projections, self.patch = reduction, scales, projections, patch
        self.generator = torch.Generator().manual_seed(seed)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return ms_swd_loss(prediction, target, self.reduction, scales=self.scales, projections=self.projections,
                           patch=self.patch, generator=self.generator)

    def extra_repr(self) -> str:
        return f"scales={self.scales}, projections={self.projections}, patch={self.patch}"


def focal_frequency_loss(prediction: torch.Tensor, target: torch.Tensor, reduction: str = "mean", *,
                         alpha: float = 1.0) -> torch.Tensor:
    """Focal frequency loss per image (Jiang et al., ICCV 2021), with the authors' defaults (no patches, no
    log or batch weighting, no averaged spectrum).

    The orthonormal 2-D DFT of each channel; each frequency's squared distance is weighted by its own distance
    to the power ``alpha``, divided by the largest of that image and channel (weights in [0, 1], no gradient), and
    the weighted distances are averaged. Hard frequencies, the ones the prediction misses most, get the weight.

    Shape: (N, C, H, W) -> scalar, or (N,) with ``"none"``; computed in float32.
    """
    check_choice("reduction", reduction, REDUCTIONS)
    check_pair(prediction, target, 1.0, check_range=False)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
        raise InvalidInputError(f"alpha: expected a positive number, got {alpha!r}")
    diff = torch.fft.fft2(prediction.float(), norm="ortho") - torch.fft.fft2(target.float(), norm="ortho")
    dist = diff.real.square() + diff.imag.square()
    with torch.no_grad():
        w = dist.sqrt() ** alpha
        w = w / w.amax(dim=(-2, -1), keepdim=True)
        w = torch.nan_to_num(w, nan=0.0).clamp(0.0, 1.0)  # 0/0 where prediction and target agree
    return _reduce((w * dist).mean(dim=(1, 2, 3)), reduction)


class FocalFrequencyLoss(nn.Module):
    """:func:`focal_frequency_loss` as a module.

    Example:
        >>> import torch
        >>> FocalFrequencyLoss(reduction="none")(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)).shape
        torch.Size([2])
    """

    def __init__(self, reduction: str = "mean", *, alpha: float = 1.0) -> None:
        super().__init__()
        check_choice("reduction", reduction, REDUCTIONS)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
            raise InvalidInputError(f"alpha: expected a positive number, got {alpha!r}")
        self.reduction, self.alpha = reduction, float(alpha)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return focal_frequency_loss(prediction, target, self.reduction, alpha=self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha:g}"
