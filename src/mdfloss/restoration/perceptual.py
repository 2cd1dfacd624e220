"""Full-reference perceptual metrics that run offline, from well-kept libraries.

* ``jod``: ColorVideoVDP (``cvvdp``), in just-objectionable-difference units (10 = no visible
  difference). The display model is ``standard_fhd`` by default: a 24-inch 1920x1080 SDR
  display seen from 0.6 m, 38 pixels per degree. At that density the tasks' artefacts are
  clearly visible: on 256-px CBSD68 crops, noise of sigma 25 scores 7.3 JOD, JPEG q10 8.0,
  bicubic x4 7.2 and a 0.8-px blur 9.1; on ``standard_4k`` (75 ppd) 8.5, 8.8, 8.0 and 9.6
  (``benchmarks/jod_display_visibility.py``).
* ``flip``: NVIDIA FLIP (``flip-evaluator``), LDR, its default 67 ppd; mean error, lower is better.
* ``haarpsi`` (higher is better) and ``mdsi`` (lower is better): piq.

All take one image pair (1, 3, H, W) in [0, 1], display-encoded (sRGB).
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from mdfloss.common.errors import InvalidInputError
from mdfloss.common.extras import require

if TYPE_CHECKING:  # torch is imported where it is used, so the command line can read the defaults fast
    import torch

DEFAULT_JOD_DISPLAY = "standard_fhd"


@contextlib.contextmanager
def _quiet_cpp_extension():
    # torch's C++-extension helper logs a CUDA warning when pycvvdp imports it on a CPU machine;
    # silence it for the import only, and put the level back.
    logger = logging.getLogger("torch.utils.cpp_extension")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def cvvdp_model(display: str):
    """A ColorVideoVDP metric for ``display`` (built once by each caller that needs it; about a second)."""
    with _quiet_cpp_extension():
        pycvvdp = require("pycvvdp", "metrics", "the JOD metric")

    import torch

    try:
        return pycvvdp.cvvdp(display_name=display, quiet=True, device=torch.device("cpu"))
    except Exception as exc:  # noqa: BLE001 - cvvdp raises plain errors for unknown displays
        raise InvalidInputError(
            f"jod_display: {display!r} is not a ColorVideoVDP display model ({exc}); "
            "try 'standard_fhd' or 'standard_4k'"
        ) from None


def display_ppd(display: str) -> float:
    """Pixels per degree of visual angle of a ColorVideoVDP display model."""
    return float(cvvdp_model(display).display_geometry.get_ppd())


def jod(pred: torch.Tensor, target: torch.Tensor, display: str = DEFAULT_JOD_DISPLAY, *, model=None) -> float:
    """ColorVideoVDP quality of ``pred`` against ``target`` on ``display``, in JOD.

    ``model``: a :func:`cvvdp_model` to reuse across calls (built for ``display`` when None).

    Example:
        >>> import torch
        >>> x = torch.rand(1, 3, 64, 64)
        >>> round(jod(x, x), 3)  # identical images: 10 JOD
        10.0
    """
    metric = model if model is not None else cvvdp_model(display)
    p, t = (x[0].permute(1, 2, 0).float().cpu().contiguous() for x in (pred, target))
    import torch

    with torch.no_grad():
        value, _ = metric.predict(p, t, dim_order="HWC")
    return float(value)


def flip(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Mean NVIDIA FLIP error (LDR) of ``pred`` against ``target``.

    Example:
        >>> import torch
        >>> x = torch.rand(1, 3, 32, 32)
        >>> flip(x, x)
        0.0
    """
    flip_evaluator = require("flip_evaluator", "metrics", "the FLIP metric")

    p, t = (x[0].permute(1, 2, 0).float().cpu().numpy().copy() for x in (pred, target))
    _, mean_error, _ = flip_evaluator.evaluate(t, p, "LDR", applyMagma=False)
    return float(mean_error)


def piq_metric(name: str, pred: torch.Tensor, target: torch.Tensor) -> float:
    """piq's ``haarpsi`` or ``mdsi`` of one pair.

    Example:
        >>> import torch
        >>> x = torch.rand(1, 3, 64, 64)
        >>> round(piq_metric("haarpsi", x, x), 4)
        1.0
    """
    piq = require("piq", "metrics", "the HaarPSI and MDSI metrics")
    return float(getattr(piq, name)(pred.float().clamp(0, 1), target.float().clamp(0, 1), data_range=1.0))
