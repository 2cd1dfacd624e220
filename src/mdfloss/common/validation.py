"""Checks of user tensors and arguments, with messages that say how to fix them."""

from __future__ import annotations

from typing import Any, Iterable

import torch

from mdfloss.common.errors import InvalidInputError, InvalidTypeError

#: Values may leave [0, data_range] by this fraction of data_range before they are refused.
RANGE_TOLERANCE = 0.01
#: What every loss's ``reduction`` may be: over the batch, or one value per image.
REDUCTIONS = ("mean", "sum", "none")


def reduce_per_image(per_image: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce a loss's values per image (N,) as ``reduction`` says: mean, sum, or none (kept per image).

    Example:
        >>> import torch
        >>> v = torch.tensor([1.0, 3.0])
        >>> float(reduce_per_image(v, "mean")), float(reduce_per_image(v, "sum")), reduce_per_image(v, "none").shape
        (2.0, 4.0, torch.Size([2]))
    """
    if reduction == "mean":
        return per_image.mean()
    return per_image.sum() if reduction == "sum" else per_image


def check_int(argument: str, value: Any, lo: int) -> int:
    """``value`` when it is an integer (not a bool) of at least ``lo``; else one line naming ``argument``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise InvalidInputError(f"{argument}: expected an integer of at least {lo}, got {value!r}")
    return value


def check_choice(argument: str, value: Any, choices: Iterable[Any]) -> None:
    choices = list(choices)
    if value not in choices:
        raise InvalidInputError(
            f"{argument}: expected one of {', '.join(map(repr, choices))}, got {value!r}"
        )


def check_image_tensor(argument: str, x: Any, data_range: float, check_range: bool) -> None:
    """Check one (N, C, H, W) float image tensor with C in {1, 3}."""
    if not isinstance(x, torch.Tensor):
        raise InvalidTypeError(f"{argument}: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        hint = ""
        if x.ndim == 3:  # (C, H, W) needs a batch dimension; (H, W, C), as images load, needs its channels moved too
            hint = ("; it looks like (H, W, C): use x.permute(2, 0, 1).unsqueeze(0)"
                    if x.shape[-1] in (1, 3) and x.shape[0] not in (1, 3) else
                    "; add a batch dimension with x.unsqueeze(0)")
        raise InvalidInputError(f"{argument}: expected shape (N, C, H, W), got {tuple(x.shape)}{hint}")
    if x.shape[1] not in (1, 3):
        raise InvalidInputError(
            f"{argument}: expected 1 or 3 channels (N, C, H, W), got {x.shape[1]} channels in "
            f"shape {tuple(x.shape)}; drop alpha or convert to RGB first"
        )
    if x.shape[0] == 0:
        raise InvalidInputError(f"{argument}: the batch is empty (shape {tuple(x.shape)})")
    if not x.is_floating_point():
        raise InvalidTypeError(
            f"{argument}: expected a floating-point tensor, got {x.dtype}; convert with "
            f"x.float() / 255 for 8-bit images"
        )
    with torch.no_grad():
        if not torch.isfinite(x).all():
            raise InvalidInputError(f"{argument}: holds NaN or Inf values; check the model that produced it")
        if check_range:
            tol = RANGE_TOLERANCE * data_range
            lo, hi = float(x.min()), float(x.max())
            if lo < -tol or hi > data_range + tol:
                raise InvalidInputError(
                    f"{argument}: values must lie in [0, data_range={data_range:g}], got [{lo:.4g}, {hi:.4g}]; "
                    "rescale the images, set data_range, or pass check_range=False"
                )


def check_pair(prediction: Any, target: Any, data_range: float, check_range: bool) -> None:
    check_image_tensor("prediction", prediction, data_range, check_range)
    check_image_tensor("target", target, data_range, check_range)
    if prediction.shape != target.shape:
        raise InvalidInputError(
            f"prediction and target: shapes must match, got {tuple(prediction.shape)} and "
            f"{tuple(target.shape)}; crop or resize one of them"
        )
