"""Every image-quality metric the evaluation computes, in one table: its function and its direction.

A metric is ``fn(pred, target, context) -> float`` on one 8-bit, border-cropped pair (1, 3, H, W) in
[0, 1]; ``context`` holds what some metrics share across images (``jod_model``, ``jod_display``).
Perceptual metrics need the ``[metrics]`` extra and are skipped with ``--no-perceptual``. Adding a metric
is one :func:`register_metric` call (or one entry below): it then appears in every CSV, report and ranking.

Example:
    >>> import torch
    >>> from mdfloss.restoration.metric_table import register_metric, METRICS
    >>> register_metric("max_abs", lambda p, t, ctx: float((p - t).abs().max()), higher_is_better=False)
    >>> METRICS["max_abs"].fn(torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4), {})
    1.0
    >>> del METRICS["max_abs"]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from pytorch_msssim import ssim

from mdfloss.common.errors import InvalidInputError
from mdfloss.common.registry import Registry
from mdfloss.restoration.metrics import psnr, to_y

MetricFn = Callable[[torch.Tensor, torch.Tensor, dict[str, Any]], float]


@dataclass(frozen=True)
class MetricEntry:
    fn: MetricFn
    higher_is_better: bool
    perceptual: bool = False  # needs the [metrics] extra


def _perceptual(name: str) -> MetricFn:
    def fn(pred: torch.Tensor, target: torch.Tensor, ctx: dict[str, Any]) -> float:
        from mdfloss.restoration import perceptual

        if name == "jod":
            return perceptual.jod(pred, target, ctx["jod_display"], model=ctx.get("jod_model"))
        if name == "flip":
            return perceptual.flip(pred, target)
        return perceptual.piq_metric(name, pred, target)
    return fn


#: Metric name -> function and direction, in the column order of the CSVs.
METRICS: Registry[MetricEntry] = Registry("metric")
for _name, _entry in {
    "psnr_rgb": MetricEntry(lambda p, t, ctx: psnr(p, t), True),
    "ssim_rgb": MetricEntry(lambda p, t, ctx: float(ssim(p, t, data_range=1.0)), True),
    "psnr_y": MetricEntry(lambda p, t, ctx: psnr(to_y(p), to_y(t)), True),
    "ssim_y": MetricEntry(lambda p, t, ctx: float(ssim(to_y(p), to_y(t), data_range=1.0)), True),
    "jod": MetricEntry(_perceptual("jod"), True, perceptual=True),
    "flip": MetricEntry(_perceptual("flip"), False, perceptual=True),
    "haarpsi": MetricEntry(_perceptual("haarpsi"), True, perceptual=True),
    "mdsi": MetricEntry(_perceptual("mdsi"), False, perceptual=True),
}.items():
    METRICS.register(_name, _entry, builtin=True)


def register_metric(name: str, fn: MetricFn, *, higher_is_better: bool, perceptual: bool = False,
                    replace: bool = False) -> None:
    """Add a metric: ``fn(pred, target, context) -> float`` on one pair (1, 3, H, W) in [0, 1]; ``name`` a
    lower-case identifier, not taken unless ``replace=True`` (the built-ins stay)."""
    if not callable(fn) or not isinstance(higher_is_better, bool):
        raise InvalidInputError("register_metric: give fn(pred, target, context) -> float and "
                                "higher_is_better=True/False")
    METRICS.register(name, MetricEntry(fn, higher_is_better, perceptual), replace=replace)


def higher_is_better(name: str) -> bool:
    """The direction of a metric (True for metrics not in the table, such as columns of older CSVs)."""
    entry = METRICS.get(name)
    return True if entry is None else entry.higher_is_better


def compute(pred: torch.Tensor, target: torch.Tensor, *, perceptual: bool, context: dict[str, Any]) -> dict[str, float]:
    """Every metric of the table (the perceptual ones only with ``perceptual``) for one prepared pair."""
    return {name: float(m.fn(pred, target, context)) for name, m in METRICS.items() if perceptual or not m.perceptual}
