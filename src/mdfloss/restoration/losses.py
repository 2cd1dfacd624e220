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
    """An MDF loss with the options of its spec; ``bf16`` runs it under bfloat16 autocast."""

    def __init__(self, name: str, source: str, options: dict) -> None:
        super().__init__(name)
        from ..loss import MDFLoss

        self.bf16 = options.pop("bf16", False)
        finest = options.pop("finest", None)
        self.loss = MDFLoss.load(source, check_range=False, **options)
        if finest is not None:
            n = len(self.loss.metadata["scale_factors"])
            if finest > n:
                raise InvalidInputError(f"loss {name}: finest={finest} but the loss has {n} scales")
            self.loss = MDFLoss.load(source, check_range=False, scales=list(range(n - finest, n)), **options)

    def forward(self, p, t):
        if self.bf16:
            with torch.autocast(p.device.type, dtype=torch.bfloat16):
                return self.loss(p, t).float()
        return self.loss(p, t)


def _int_list(text: str, what: str) -> list[int]:
    try:
        if "-" in text:
            a, b = text.split("-")
            return list(range(int(a), int(b) + 1))
        return [int(v) for v in text.split(".")]
    except ValueError:
        raise InvalidInputError(f"loss {what}: expected scales as A-B or A.B.C, got {text!r}") from None


def parse_mdf_options(term: str, options: list[str]) -> dict:
    """``["pyramid", "finest=2", "bf16"]`` -> keyword arguments of :class:`MDFTerm`."""
    out: dict = {}
    for opt in options:
        key, sep, value = opt.partition("=")
        if not sep and key in ("reference", "pyramid"):
            out["mode"] = key
        elif not sep and key == "bf16":
            out["bf16"] = True
        elif sep and key == "finest" and value.isdigit() and int(value) >= 1:
            out["finest"] = int(value)
        elif sep and key == "scales":
            out["scales"] = _int_list(value, term)
        elif sep and key == "taps":
            out["taps"] = value.split(".")
        else:
            raise InvalidInputError(
                f"loss {term}: unknown option {opt!r}; use @pyramid, @reference, @finest=N, @scales=A-B, "
                "@taps=head.body or @bf16"
            )
    if "finest" in out and "scales" in out:
        raise InvalidInputError(f"loss {term}: give @finest=N or @scales=..., not both")
    return out


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
            source, *options = (arg or "").split("@")
            if not source:
                raise InvalidInputError("loss mdf: name a shipped loss or a file, as 'mdf:jpeg' or 'mdf:path.safetensors'")
            term = MDFTerm(raw.strip(), source, parse_mdf_options(raw.strip(), options))
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
