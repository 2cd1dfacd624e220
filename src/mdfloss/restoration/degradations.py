"""Degradations of the three restoration tasks, reproducible from a seed.

Resize convention: PyTorch's bicubic (a = -0.75) with antialiasing, align_corners=False,
i.e. ``mdfloss.common.resize.resize``; close to MATLAB's imresize but not bit-identical, so
SR numbers are comparable among mdfloss runs, not to papers that used MATLAB.
The low-resolution image is quantised to 8 bits, as a saved LR image would be.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mdfloss.phase1.distortions import gaussian_noise, jpeg
from mdfloss.common.errors import InvalidInputError
from mdfloss.common.resize import resize

TASKS = ("sisr", "denoise", "jpeg")


@dataclass(frozen=True)
class Degradation:
    """``task``: sisr (``scale``), denoise (``sigma`` on the 0-255 scale) or jpeg (``quality``)."""

    task: str
    scale: int = 4
    sigma: float = 25.0
    quality: int = 10

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise InvalidInputError(f"task: expected one of {', '.join(TASKS)}, got {self.task!r}")
        if self.task == "sisr" and self.scale not in (2, 3, 4, 8):
            raise InvalidInputError(f"scale: expected 2, 3, 4 or 8, got {self.scale!r}")
        if self.task == "denoise" and not 0 < self.sigma <= 255:
            raise InvalidInputError(f"sigma: expected a value in (0, 255], got {self.sigma!r}")
        if self.task == "jpeg" and not 1 <= self.quality <= 100:
            raise InvalidInputError(f"quality: expected 1..100, got {self.quality!r}")

    @property
    def factor(self) -> int:
        return self.scale if self.task == "sisr" else 1

    def crop_multiple(self, x: torch.Tensor) -> torch.Tensor:
        """Crop H and W down to multiples of the SR factor (modcrop)."""
        f = self.factor
        h, w = x.shape[-2:]
        return x[..., : h - h % f, : w - w % f]

    def __call__(self, hr: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """hr: (N, 3, H, W) in [0, 1] (H, W multiples of the factor) -> degraded input."""
        if self.task == "sisr":
            h, w = hr.shape[-2:]
            lr = resize(hr, (h // self.scale, w // self.scale)).clamp(0, 1)
            return torch.round(lr * 255) / 255
        if self.task == "denoise":
            return gaussian_noise(hr, generator, sigma=self.sigma / 255)
        return jpeg(hr, generator, quality=self.quality)

    def full_size(self, hr: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The degraded input at the size of ``hr`` (SISR: the low-resolution image resized back, bicubic):
        the task's artefact as an image-sized error. ``hr`` must be cropped with :meth:`crop_multiple`."""
        out = self(hr, generator)
        return resize(out, hr.shape[-2:]).clamp(0, 1) if self.task == "sisr" else out
