"""Task specificity: does a loss weigh its task's error more than any natural-image critic would?

For a loss, a *probe* (clean images and their artefacts: the task's degraded input, or a restorer's
output) and a mode, per image:

- **sensitivity** of critic k: its MDF distance to the artefact divided by its distance to the clean
  image plus white noise of the same MSE, divided again by the same ratio of plain MSE on the image the
  critic sees (1 at full resolution; in pyramid mode resizing alone favours the smoother error). Above 1,
  the critic weighs the artefact more than L2 does. For the **loss as used** (the sum over its critics,
  with its calibration and normalisation), the same ratio at full resolution.
- **specificity**: that sensitivity divided by a *control* loss's, a loss trained on another task, on the
  same image and the same noise draw. 1.0 means "no more task-specific than a critic that never saw the
  task"; critics are matched from the finest down, so losses with different pyramids compare.

Values are geometric means over images with a 95 % Student-t interval of the mean log.

Example:
    >>> import torch
    >>> from mdfloss import load_loss_file
    >>> from mdfloss.loss.assets import pretrained_path
    >>> from mdfloss.analysis.artefacts import task_artefact
    >>> from mdfloss.analysis.specificity import probe, sensitivities
    >>> pairs = probe(task_artefact("jpeg", {"quality": 10}), [torch.rand(1, 3, 64, 64)] * 2, seed=0)
    >>> s = sensitivities(load_loss_file(pretrained_path("jpeg")), "pyramid", pairs)
    >>> s.log_critics.shape[0], s.log_loss.shape
    (2, (2,))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from mdfloss.analysis.artefacts import Artefact, equal_mse_noise
from mdfloss.common.resize import resize, scale_size
from mdfloss.common.runs import derive_generator
from mdfloss.loss.critic_layout import RECEPTIVE_FIELD
from mdfloss.loss.mdf import MDFLoss, _resolve_scales
from mdfloss.loss.weights import LossWeights


@dataclass(frozen=True)
class Pair:
    """One probe image: clean, its artefact and the equal-MSE noisy copy (each (1, 3, H, W))."""

    clean: torch.Tensor
    artefact: torch.Tensor
    noisy: torch.Tensor


def probe(artefact: Artefact, images: Sequence[torch.Tensor], seed: int = 0) -> list[Pair]:
    """Artefact and noise for each image (image i draws from streams of ``(seed, i)``)."""
    pairs = []
    for i, img in enumerate(images):
        bad = artefact(img, derive_generator(seed, "probe-artefact", i)).float()
        clean = img[..., : bad.shape[-2], : bad.shape[-1]]
        pairs.append(Pair(clean, bad, equal_mse_noise(clean, bad, derive_generator(seed, "probe-noise", i))))
    return pairs


@dataclass(frozen=True)
class Sensitivities:
    """Log sensitivities per image: ``log_critics`` (images, critics; 0 = coarsest; NaN where pyramid mode
    skips a critic) and ``log_loss`` (images,) for the loss as used."""

    log_critics: np.ndarray
    log_loss: np.ndarray


def _mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b) ** 2).mean())


def sensitivities(weights: LossWeights, mode: str, pairs: Sequence[Pair], *, normalize: bool = False,
                  calibrated: bool | None = None, scales: Sequence[int] | None = None,
                  taps: Sequence[str] | None = None) -> Sensitivities:
    """Per-image log sensitivities of every critic of ``weights`` and of the loss over ``scales``
    (default: the file's default scales), with the loss's calibration unless ``calibrated=False``; ``taps``:
    only these feature taps (default: the file's).

    The loss's distances are the sums of its critics' (as :class:`MDFLoss` adds them), so each critic runs once."""
    n = len(weights.critics)
    kw: dict[str, Any] = dict(mode=mode, reduction="none", check_range=False, normalize=normalize,
                              calibrated=calibrated)
    if taps is not None:
        kw["taps"] = list(taps)
    single = [MDFLoss(weights, scales=[k], **kw) for k in range(n)]
    in_loss = set(_resolve_scales(scales, weights))
    factors = weights.metadata["scale_factors"]
    crit = np.full((len(pairs), n), np.nan)
    total = np.full(len(pairs), np.nan)
    with torch.no_grad():
        for i, p in enumerate(pairs):
            loss_art = loss_noise = 0.0
            for k, fn in enumerate(single):
                factor = factors[k] if mode == "pyramid" else None

                def view(x: torch.Tensor, factor: float | None = factor) -> torch.Tensor:
                    return x if factor is None else resize(x, scale_size(x.shape[-2], x.shape[-1], factor))

                clean = view(p.clean)
                if min(clean.shape[-2:]) < RECEPTIVE_FIELD:
                    continue  # pyramid mode skips this critic, in the loss too
                d_art, d_noise = float(fn(p.artefact, p.clean)[0]), float(fn(p.noisy, p.clean)[0])
                mse_ratio = _mse(view(p.artefact), clean) / _mse(view(p.noisy), clean)
                crit[i, k] = math.log(d_art / max(d_noise, 1e-30) / mse_ratio)
                if k in in_loss:
                    loss_art, loss_noise = loss_art + d_art, loss_noise + d_noise
            if loss_art > 0:
                mse_ratio = _mse(p.artefact, p.clean) / _mse(p.noisy, p.clean)
                total[i] = math.log(loss_art / max(loss_noise, 1e-30) / mse_ratio)
    return Sensitivities(crit, total)


@dataclass(frozen=True)
class GeoMean:
    """A geometric mean over images and its 95 % interval."""

    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:.2f} [{self.low:.2f}, {self.high:.2f}]"


def geo_mean(logs: np.ndarray) -> GeoMean:
    """Geometric mean of ``exp(logs)`` (NaNs dropped) with a Student-t interval of the mean log."""
    x = np.asarray(logs, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return GeoMean(math.nan, math.nan, math.nan)
    m = float(x.mean())
    if x.size < 2:
        return GeoMean(math.exp(m), math.nan, math.nan)
    from mdfloss.restoration.stats import t_quantile

    half = t_quantile(x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return GeoMean(math.exp(m), math.exp(m - half), math.exp(m + half))


def finest(s: Sensitivities, nth: int = 0) -> np.ndarray:
    """Log sensitivities of the ``nth`` critic counted from the finest (0 = finest)."""
    return s.log_critics[:, s.log_critics.shape[1] - 1 - nth]


def specificity(loss: Sensitivities, control: Sensitivities) -> dict[str, GeoMean]:
    """Paired specificity against ``control`` (same probe): of the finest critic and of the loss as used."""
    return {"finest": geo_mean(finest(loss) - finest(control)), "loss": geo_mean(loss.log_loss - control.log_loss)}


def loss_sensitivities(loss, pairs: Sequence[Pair]) -> np.ndarray:
    """Per-image log sensitivity of any loss ``loss(prediction, target) -> scalar`` (a loss spec's module, a
    VGG or LPIPS loss, ...): log(L(artefact, clean) / L(noise, clean)) less log of the two MSEs' ratio, so 0
    means the loss weighs the artefact as much as white noise of the same MSE, as :func:`sensitivities` does
    for each critic."""
    out = np.full(len(pairs), np.nan)
    with torch.no_grad():
        for i, p in enumerate(pairs):
            d_art, d_noise = float(loss(p.artefact, p.clean)), float(loss(p.noisy, p.clean))
            if d_art > 0 and d_noise > 0:
                out[i] = math.log(d_art / d_noise / (_mse(p.artefact, p.clean) / _mse(p.noisy, p.clean)))
    return out
