"""neosr drop-in: ``type = "mdf_loss"`` in a neosr training TOML, in the perceptual slot.

neosr imports every ``neosr/losses/*_loss.py`` file and registers its classes under their exact names (the
registry is case-sensitive); its image model calls each loss slot as ``loss(output, gt)`` and adds what comes
back, so each loss applies its own ``loss_weight``. Put the two-line file that
``mdfloss.integrations.dropin_source("neosr")`` returns into ``neosr/losses/mdf_loss.py``, then:

.. code-block:: toml

    [train.pixel_opt]
    type = "L1Loss"
    loss_weight = 1.0

    [train.perceptual_opt]
    type = "mdf_loss"
    loss = "sisr"
    mode = "pyramid"
    scales = [7]
    loss_weight = 0.0025

Arguments: ``loss`` (a shipped loss name or a loss file), ``mode``, ``scales``, ``taps``, ``normalize``,
``calibrated`` (as :class:`mdfloss.MDFLoss`) and ``loss_weight``. neosr needs Python 3.12 or newer; the contract
was read from neosr's ``neosr/utils/registry.py``, ``neosr/losses/__init__.py`` and ``neosr/models/image.py`` at
commit 31c7022 (2025-04-12, neosr 1.0.0) and is tested with a registry built the way neosr builds it.

Example:
    >>> import torch
    >>> loss = mdf_loss(loss="sisr", loss_weight=0.5)
    >>> x, y = torch.rand(1, 3, 96, 96), torch.rand(1, 3, 96, 96)
    >>> bool(torch.isclose(loss(x, y), 0.5 * loss.mdf(x, y)))
    True
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from mdfloss.integrations._frozen import frozen_mdf, weight


class mdf_loss(nn.Module):  # noqa: N801 - neosr's losses are named in snake case, and the registry uses the name
    """An MDF loss with neosr's conventions: ``forward(output, gt)`` returns ``loss_weight`` × the loss.

    Shape: output and gt (N, 3, H, W) in [0, 1] -> scalar.
    """

    def __init__(self, loss: str = "sisr", mode: str = "pyramid", scales: Sequence[int] | None = None,
                 taps: Sequence[str] | None = None, normalize: bool = False, calibrated: bool | None = None,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = weight(loss_weight)
        self.mdf = frozen_mdf(loss, mode, scales, taps, normalize, calibrated)

    def forward(self, output: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * self.mdf(output, gt)
