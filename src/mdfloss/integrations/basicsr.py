"""BasicSR drop-in: ``type: MDFLoss`` in a BasicSR training YAML.

Importing this module registers :class:`MDFLoss` in BasicSR's ``LOSS_REGISTRY`` (BasicSR finds only its own
losses by itself, so import it in the script that starts the training, as ``examples/basicsr/train.py`` does).
As ``pixel_opt`` it replaces the pixel loss; as ``perceptual_opt`` with ``as_perceptual: true`` it is added to the
pixel loss (BasicSR's SRModel expects a (perceptual, style) pair there):

.. code-block:: yaml

    train:
      pixel_opt: {type: L1Loss, loss_weight: 1.0}
      perceptual_opt: {type: MDFLoss, loss: sisr, mode: pyramid, loss_weight: 0.01, as_perceptual: true}

Arguments: ``loss`` (a shipped loss name or a loss file), ``mode``, ``scales``, ``taps``, ``normalize``,
``calibrated`` (as :class:`mdfloss.MDFLoss`), ``loss_weight`` and ``reduction`` (as BasicSR's losses).
The network's output is not range-checked (training outputs overshoot [0, 1] a little); BasicSR's
element-wise ``weight`` is not supported by a feature loss and is refused.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from mdfloss.common.errors import InvalidInputError
from mdfloss.common.extras import require
from mdfloss.integrations._frozen import frozen_mdf
from mdfloss.integrations._frozen import weight as check_weight


class MDFLoss(nn.Module):
    """An MDF loss with BasicSR's conventions (``loss_weight``, ``reduction``, ``forward(pred, target, weight)``).

    Example:
        >>> import torch
        >>> loss = MDFLoss(loss="sisr", loss_weight=0.5, as_perceptual=True)
        >>> perceptual, style = loss(torch.rand(1, 3, 96, 96), torch.rand(1, 3, 96, 96))
        >>> float(perceptual) > 0 and style is None
        True
    """

    def __init__(self, loss: str = "sisr", mode: str = "pyramid", scales: Sequence[int] | None = None,
                 taps: Sequence[str] | None = None, normalize: bool = False, calibrated: bool | None = None,
                 loss_weight: float = 1.0, reduction: str = "mean", as_perceptual: bool = False) -> None:
        super().__init__()
        self.loss_weight = check_weight(loss_weight)  # finite and positive, as every drop-in's
        self.mdf = frozen_mdf(loss, mode, scales, taps, normalize, calibrated, reduction)
        self.as_perceptual = bool(as_perceptual)

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None, **kwargs):
        if weight is not None:
            raise InvalidInputError("weight: MDFLoss compares critic features, not pixels; an element-wise weight "
                                    "does not apply (leave it out)")
        value = self.loss_weight * self.mdf(pred, target)
        return (value, None) if self.as_perceptual else value


def register() -> None:
    """Put :class:`MDFLoss` into BasicSR's ``LOSS_REGISTRY`` (idempotent)."""
    registry = require("basicsr.utils.registry", "basicsr", "the BasicSR integration").LOSS_REGISTRY
    if "MDFLoss" not in registry:
        registry.register(MDFLoss)


register()
