"""What the framework drop-ins share: an MDF loss built from a framework's YAML or TOML options."""

from __future__ import annotations

from typing import Sequence

from mdfloss.common.errors import InvalidInputError


def weight(value: object, *, allow_negative: bool = False) -> float:
    """A framework's ``loss_weight``: a finite number, positive (or, where the framework gives the sign a meaning,
    non-zero)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < float("inf")
    if not ok or (value == 0 if allow_negative else not value > 0):  # type: ignore[operator]
        kind = "a non-zero number" if allow_negative else "a positive number"
        raise InvalidInputError(f"loss_weight: expected {kind}, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def frozen_mdf(loss: str, mode: str, scales: Sequence[int] | None, taps: Sequence[str] | None, normalize: bool,
               calibrated: bool | None, reduction: str = "mean"):
    """:class:`mdfloss.MDFLoss` with the drop-ins' options; network outputs are not range-checked (they overshoot
    [0, 1] a little while training)."""
    from mdfloss.loss.mdf import MDFLoss

    kw = dict(mode=mode, scales=None if scales is None else list(scales), taps=None if taps is None else list(taps),
              reduction=reduction, normalize=normalize, calibrated=calibrated, check_range=False)
    return MDFLoss.load(loss, **{k: v for k, v in kw.items() if v is not None})
