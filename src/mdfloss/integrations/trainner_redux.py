"""traiNNer-redux drop-in: ``type: MDFLoss`` in a traiNNer-redux training YAML's ``train.losses`` list.

traiNNer-redux imports every ``traiNNer/losses/*_loss.py`` file and registers its classes under their names in
lower case; its model multiplies each loss's output by ``abs(loss.loss_weight)``. So the class keeps
``self.loss_weight`` and ``forward(output, gt)`` returns the unweighted loss. Put the two-line file that
``mdfloss.integrations.dropin_source("trainner-redux")`` returns into ``traiNNer/losses/mdfloss_loss.py`` (the
docs show the command), then:

.. code-block:: yaml

    train:
      losses:
        - {type: l1loss, loss_weight: 1.0}
        - {type: MDFLoss, loss_weight: 0.0025, loss: sisr, mode: pyramid, scales: [7]}

Arguments: ``loss_weight`` (required by traiNNer-redux; negative means "against the bicubic-upscaled input", as
for its other losses), ``loss`` (a shipped loss name or a loss file), ``mode``, ``scales``, ``taps``,
``normalize`` and ``calibrated`` (as :class:`mdfloss.MDFLoss`). The contract was read from traiNNer-redux's
``traiNNer/utils/registry.py``, ``traiNNer/losses/__init__.py`` and ``traiNNer/models/sr_model.py`` at commit
6862931 (2026-06-09).

Example:
    >>> import torch
    >>> loss = MDFLoss(loss_weight=0.01, loss="sisr")
    >>> loss.loss_weight, float(loss(torch.rand(1, 3, 96, 96), torch.rand(1, 3, 96, 96))) > 0
    (0.01, True)
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from mdfloss.integrations._frozen import frozen_mdf, weight


class MDFLoss(nn.Module):
    """An MDF loss with traiNNer-redux's conventions: ``self.loss_weight``, unweighted ``forward(output, gt)``.

    Shape: output and gt (N, 3, H, W) in [0, 1] -> scalar.
    """

    def __init__(self, loss_weight: float, loss: str = "sisr", mode: str = "pyramid",
                 scales: Sequence[int] | None = None, taps: Sequence[str] | None = None, normalize: bool = False,
                 calibrated: bool | None = None) -> None:
        super().__init__()
        self.loss_weight = weight(loss_weight, allow_negative=True)
        self.mdf = frozen_mdf(loss, mode, scales, taps, normalize, calibrated)

    def forward(self, output: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        return self.mdf(output, gt)
