"""The MDF loss as a term of a restoration loss spec, with the options a spec may give."""

from __future__ import annotations

import torch
from torch import nn

from mdfloss.common.device import warn_if_slow_bfloat16
from mdfloss.common.errors import InvalidInputError
from mdfloss.loss import MODES, MDFLoss
from mdfloss.loss.assets import resolve_loss_path
from mdfloss.loss.random_critics import random_critics
from mdfloss.loss.weights import load_loss_file

OPTIONS_HELP = ("@pyramid, @reference, @finest=N, @scales=A-B, @taps=head.body, @bf16, @normalize, @uncalibrated "
                "or @random=SEED")


def _int_list(text: str, term: str) -> list[int]:
    try:
        if "-" in text:
            a, b = text.split("-")
            return list(range(int(a), int(b) + 1))
        return [int(v) for v in text.split(".")]
    except ValueError:
        raise InvalidInputError(f"loss {term}: expected scales as A-B or A.B.C, got {text!r}") from None


def parse_mdf_options(term: str, options: list[str]) -> dict:
    """``["pyramid", "finest=2", "bf16"]`` -> keyword arguments of :class:`MDFTerm`."""
    out: dict = {}
    for opt in options:
        key, sep, value = opt.partition("=")
        if not sep and key in MODES:
            out["mode"] = key
        elif not sep and key == "bf16":
            out["bf16"] = True
        elif not sep and key == "normalize":
            out["normalize"] = True
        elif not sep and key == "uncalibrated":
            out["calibrated"] = False
        elif sep and key == "finest" and value.isdigit() and int(value) >= 1:
            out["finest"] = int(value)
        elif sep and key == "scales":
            out["scales"] = _int_list(value, term)
        elif sep and key == "random" and value.isdigit():
            out["random"] = int(value)
        elif sep and key == "taps":
            out["taps"] = value.split(".")
        else:
            raise InvalidInputError(f"loss {term}: unknown option {opt!r}; use {OPTIONS_HELP}")
    if "finest" in out and "scales" in out:
        raise InvalidInputError(f"loss {term}: give @finest=N or @scales=..., not both")
    return out


class MDFTerm(nn.Module):
    """An MDF loss for training: unclamped outputs allowed; ``finest=N`` keeps the N finest
    scales; ``bf16`` runs the term under bfloat16 autocast (its value is returned as float32);
    ``normalize`` and ``calibrated`` as in :class:`~mdfloss.loss.MDFLoss` (a calibrated file is used
    calibrated unless ``@uncalibrated``); ``random=SEED`` replaces the trained weights with Phase 1's initial
    ones drawn from SEED (:func:`mdfloss.loss.random_critics.random_critics`), keeping the architecture.

    Example:
        >>> import torch
        >>> term = MDFTerm("mdf:sisr@finest=1", "sisr", finest=1)
        >>> term.loss.scales, float(term(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64))) > 0
        ([7], True)
    """

    def __init__(self, term: str, source: str, *, mode: str = "pyramid", scales: list[int] | None = None,
                 taps: list[str] | None = None, finest: int | None = None, bf16: bool = False,
                 normalize: bool = False, calibrated: bool | None = None,
                 random: int | None = None) -> None:
        super().__init__()
        self.term, self.bf16 = term, bf16
        weights = load_loss_file(resolve_loss_path(source))
        if random is not None:
            weights = random_critics(weights, random)
        if finest is not None:
            n = len(weights.critics)
            if finest > n:
                raise InvalidInputError(f"loss {term}: finest={finest} but the loss has {n} scales")
            scales = list(range(n - finest, n))
        self.loss = MDFLoss(weights, mode=mode, scales=scales, taps=taps, check_range=False, normalize=normalize,
                            calibrated=calibrated)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.bf16:
            warn_if_slow_bfloat16(prediction.device, f"loss {self.term}")
            with torch.autocast(prediction.device.type, dtype=torch.bfloat16):
                return self.loss(prediction, target).float()
        return self.loss(prediction, target)

    def extra_repr(self) -> str:
        return self.term
