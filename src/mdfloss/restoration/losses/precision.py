"""Running a loss term in bfloat16, so that every feature loss can be timed at the precision the MDF term uses."""

from __future__ import annotations

import torch
from torch import nn

from mdfloss.common.device import warn_if_slow_bfloat16


class Bfloat16Term(nn.Module):
    """``inner(prediction, target)`` under bfloat16 autocast, returned as float32.

    Pays on CPUs with native bfloat16 (AVX-512 BF16 or AMX) and on GPUs; on a CPU without it the convolutions are
    emulated and run many times slower than float32, and a warning says so once.

    Example:
        >>> import torch
        >>> from mdfloss.restoration.losses.pixel import L2Loss
        >>> Bfloat16Term("l2", L2Loss())(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)).dtype
        torch.float32
    """

    def __init__(self, term: str, inner: nn.Module) -> None:
        super().__init__()
        self.term, self.inner = term, inner

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        warn_if_slow_bfloat16(prediction.device, f"loss {self.term}")
        with torch.autocast(prediction.device.type, dtype=torch.bfloat16):
            return self.inner(prediction, target).float()

    def extra_repr(self) -> str:
        return f"{self.term} (bfloat16)"
