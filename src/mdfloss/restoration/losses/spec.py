"""Restoration losses by name, all with the signature ``loss(prediction, target) -> scalar``.

Spec grammar: terms joined by ``+``, each ``[weight*]name``:

=====================  ================================================================
``l1``, ``l2``         mean absolute / squared error
``ssim``, ``msssim``   1 - SSIM / 1 - MS-SSIM (pytorch-msssim, Gaussian window 11, sigma 1.5)
``mdf:NAME_OR_FILE``   MDF loss, reference mode; options follow, each after ``@``:
                       ``@pyramid`` (or ``@reference``), ``@finest=N`` (the N finest scales),
                       ``@scales=A-B`` or ``@scales=A.B.C`` (0 = coarsest), ``@taps=head.body``,
                       ``@bf16`` (the MDF term under bfloat16 autocast)
``vgg:PATH``           VGG19 relu5_4 feature MSE with weights from a local file (not shipped)
``lpips:PATH``         LPIPS-VGG with the ``lpips`` package's weights from a local file (not shipped)
=====================  ================================================================

Examples: ``l1+0.1*mdf:jpeg@pyramid``, ``l2+0.05*mdf:sisr@pyramid@finest=2@bf16``.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import nn

from mdfloss.common.errors import InvalidInputError
from mdfloss.restoration.losses.lpips import LPIPS, LPIPSLoss
from mdfloss.restoration.losses.mdf_term import MDFTerm, parse_mdf_options
from mdfloss.restoration.losses.pixel import L1Loss, L2Loss, MSSSIMLoss, SSIMLoss
from mdfloss.restoration.losses.vgg import VGGLoss, load_vgg19

_PIXEL = {"l1": L1Loss, "l2": L2Loss, "ssim": SSIMLoss, "msssim": MSSSIMLoss}


def _weights_file(kind: str, path: str) -> Path:
    p = Path(path)
    if not path or not p.is_file():
        raise InvalidInputError(
            f"loss {kind}: needs a local weights file, as '{kind}:PATH' (ImageNet weights cannot be "
            f"downloaded here and are not shipped); got {path or 'no path'!r}"
        )
    return p


class WeightedSum(nn.Module):
    """Σ weight_i · term_i(prediction, target), built from ``spec``."""

    def __init__(self, spec: str, terms: list[tuple[float, nn.Module]]) -> None:
        super().__init__()
        self.spec = spec
        self.weights = [w for w, _ in terms]
        self.terms = nn.ModuleList(t for _, t in terms)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        total = prediction.new_zeros(())
        for w, term in zip(self.weights, self.terms):
            total = total + w * term(prediction, target)
        return total

    def extra_repr(self) -> str:
        return self.spec


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
        if not 0 < w < float("inf"):
            raise InvalidInputError(f"loss: the weight of {raw.strip()!r} must be a positive finite number, got {w:g}")
        name, arg = m["name"], m["arg"]
        if name in _PIXEL:
            term: nn.Module = _PIXEL[name]()
        elif name == "mdf":
            source, *options = (arg or "").split("@")
            if not source:
                raise InvalidInputError("loss mdf: name a shipped loss or a file, as 'mdf:jpeg' or 'mdf:path.safetensors'")
            term = MDFTerm(raw.strip(), source, **parse_mdf_options(raw.strip(), options))
        elif name == "vgg":
            term = VGGLoss(load_vgg19(_weights_file(name, arg or "")))
        elif name == "lpips":
            term = LPIPSLoss(LPIPS.from_file(_weights_file(name, arg or "")))
        else:
            raise InvalidInputError(
                f"loss: unknown loss {name!r} in {spec!r}; choose from l1, l2, ssim, msssim, mdf:NAME, vgg:PATH, lpips:PATH"
            )
        terms.append((w, term))
    return WeightedSum(spec, terms)
