"""Restoration losses by name, all with the signature ``loss(prediction, target) -> scalar``.

Spec grammar: terms joined by ``+``, each ``[weight*]name``:

=====================  ================================================================
``l1``, ``l2``         mean absolute / squared error
``ssim``, ``msssim``   1 - SSIM / 1 - MS-SSIM (pytorch-msssim, Gaussian window 11, sigma 1.5)
``mdf:NAME_OR_FILE``   MDF loss, reference mode; ``mdf:NAME@pyramid`` for pyramid mode
``vgg:PATH``           VGG19 relu5_4 feature MSE with weights from a local file (not shipped)
``lpips:PATH``         LPIPS-VGG with the ``lpips`` package's weights from a local file (not shipped)
=====================  ================================================================

Example: ``l1+0.1*mdf:jpeg@pyramid``.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InvalidInputError


class _Named(nn.Module):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def extra_repr(self) -> str:
        return self.name


class L1(_Named):
    def forward(self, p, t):
        return F.l1_loss(p, t)


class L2(_Named):
    def forward(self, p, t):
        return F.mse_loss(p, t)


class SSIMLoss(_Named):
    def __init__(self, name: str, multiscale: bool) -> None:
        super().__init__(name)
        self.multiscale = multiscale

    def forward(self, p, t):
        from pytorch_msssim import ms_ssim, ssim

        if self.multiscale:
            # pytorch-msssim's 5 scales need a side > 16 * (window - 1): 161 px for the standard
            # 11-px window. Training patches are smaller, so they get the largest odd window
            # that fits (5 px at 96, 3 px at 64), with sigma scaled alike.
            win = min(11, max(3, ((min(p.shape[-2:]) - 1) // 16) | 1))
            if 16 * (win - 1) >= min(p.shape[-2:]):
                win -= 2
            if win < 3:
                raise InvalidInputError(f"msssim: images of {min(p.shape[-2:])} px are too small; use at least 33 px")
            return 1 - ms_ssim(p, t, data_range=1.0, size_average=True, win_size=win, win_sigma=1.5 * win / 11)
        return 1 - ssim(p, t, data_range=1.0, size_average=True)


class MDFTerm(_Named):
    def __init__(self, name: str, source: str, mode: str) -> None:
        super().__init__(name)
        from ..loss import MDFLoss

        self.loss = MDFLoss.load(source, mode=mode, check_range=False)

    def forward(self, p, t):
        return self.loss(p, t)


def _weights_file(kind: str, path: str) -> Path:
    p = Path(path)
    if not path or not p.is_file():
        raise InvalidInputError(
            f"loss {kind}: needs a local weights file, as '{kind}:PATH' (ImageNet weights cannot be "
            f"downloaded here and are not shipped); got {path or 'no path'!r}"
        )
    return p


class WeightedSum(nn.Module):
    """Σ weight_i · term_i(prediction, target)."""

    def __init__(self, terms: list[tuple[float, nn.Module]]) -> None:
        super().__init__()
        self.weights = [w for w, _ in terms]
        self.terms = nn.ModuleList(t for _, t in terms)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        total = prediction.new_zeros(())
        for w, term in zip(self.weights, self.terms):
            total = total + w * term(prediction, target)
        return total

    def parts(self, prediction: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        return {t.name: float(t(prediction, target)) for t in self.terms}


_TERM = re.compile(r"^\s*(?:(?P<w>[0-9]*\.?[0-9]+(?:e-?[0-9]+)?)\s*\*\s*)?(?P<name>[a-z0-9]+)(?::(?P<arg>.*?))?\s*$")


def build_loss(spec: str) -> WeightedSum:
    """Parse a loss spec such as ``l1+0.1*mdf:jpeg@pyramid``.

    Raises:
        InvalidInputError: unknown loss name, bad weight, or vgg/lpips without a weights file.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidInputError(f"loss: expected a spec such as 'l1' or 'l1+0.1*mdf:jpeg', got {spec!r}")
    terms: list[tuple[float, nn.Module]] = []
    for raw in spec.split("+"):
        m = _TERM.match(raw)
        if not m:
            raise InvalidInputError(f"loss: cannot parse term {raw!r} of {spec!r}; write [weight*]name[:arg]")
        w = float(m["w"]) if m["w"] else 1.0
        name, arg = m["name"], m["arg"]
        if name == "l1":
            term: nn.Module = L1("l1")
        elif name == "l2":
            term = L2("l2")
        elif name in ("ssim", "msssim"):
            term = SSIMLoss(name, multiscale=name == "msssim")
        elif name == "mdf":
            source, _, mode = (arg or "").partition("@")
            if not source:
                raise InvalidInputError("loss mdf: name a shipped loss or a file, as 'mdf:jpeg' or 'mdf:path.safetensors'")
            term = MDFTerm(raw.strip(), source, mode or "reference")
        elif name == "vgg":
            from .vgg import VGGLoss, load_vgg19

            term = VGGLoss(load_vgg19(_weights_file(name, arg or "")), raw.strip())
        elif name == "lpips":
            from .lpips import LPIPS, LPIPSLoss

            term = LPIPSLoss(LPIPS.from_file(_weights_file(name, arg or "")), raw.strip())
        else:
            raise InvalidInputError(
                f"loss: unknown loss {name!r} in {spec!r}; choose from l1, l2, ssim, msssim, mdf:NAME, vgg:PATH, lpips:PATH"
            )
        terms.append((w, term))
    return WeightedSum(terms)
