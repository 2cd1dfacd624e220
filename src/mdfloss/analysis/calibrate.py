"""Calibrated taps: per-channel weights that make a loss weigh its task's artefact above equal-MSE noise.

For every critic k, tap t and channel c, on the loss's *training images only*,

    a_c = mean (phi_c(artefact) - phi_c(clean))^2        b_c = mean (phi_c(noisy) - phi_c(clean))^2

where ``noisy`` is the clean image plus white noise of the artefact's MSE. Two weightings (``method``):

- ``ratio``: the channel's artefact-to-noise ratio, ``w_c = a_c / b_c``. Weighting each channel by its own
  ratio can only raise the tap's ratio (``sum a^2/b / sum a >= sum a / sum b`` by Cauchy-Schwarz).
- ``likelihood``: ``w_c = max(0, 1/b_c - 1/a_c)``, the weights of the log-likelihood ratio that tells
  zero-mean Gaussian changes of variance ``a_c`` (artefact) from ``b_c`` (noise): channels that noise
  moves more than the artefact get weight 0, channels that noise barely moves get the most.

Either is scaled so that ``sum_c w_c b_c = sum_c b_c``: the calibrated tap weighs white noise exactly as the
raw tap does, and the artefact more, on the images it was fitted on; whether that carries over to other
images is what :mod:`mdfloss.analysis.specificity` measures. LPIPS fits such channel weights on human judgements; here
the task's own degradation is the judge. Channels that noise does not move (``b_c = 0``) keep weight 1.

Example:
    >>> import torch
    >>> from mdfloss import load_loss_file
    >>> from mdfloss.loss.assets import pretrained_path
    >>> from mdfloss.analysis.artefacts import task_artefact
    >>> from mdfloss.analysis.calibrate import calibrate
    >>> w = load_loss_file(pretrained_path("jpeg"))
    >>> cal = calibrate(w, task_artefact("jpeg", {"quality": 10}), [torch.rand(1, 3, 64, 64)], draws=1)
    >>> cal.metadata["calibration"].get("mode"), len(cal.calibration) == 3 * len(w.critics)
    ('pyramid', True)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

from mdfloss.analysis.artefacts import Artefact, equal_mse_noise
from mdfloss.common.errors import InvalidInputError
from mdfloss.common.imageio import read_image
from mdfloss.common.runs import derive_generator, sha256_file
from mdfloss.loss.critic_layout import TAPS
from mdfloss.loss.mdf import MODES, MDFLoss
from mdfloss.loss.weights import LossWeights

#: Channel weightings (see the module docstring).
METHODS = ("ratio", "likelihood")


def channel_ratios(weights: LossWeights, artefact: Artefact, images: Sequence[torch.Tensor], *, draws: int,
                   mode: str, seed: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """``(a, b)``: per ``"k.tap"``, the channel means of the squared feature change under the artefact and under
    equal-MSE white noise, over ``images`` and ``draws`` draws of each (raw features, no calibration)."""
    loss = MDFLoss(weights, mode=mode, calibrated=False, check_range=False, reduction="none",
                   scales=list(range(len(weights.critics))))
    a: dict[str, torch.Tensor] = {}
    b: dict[str, torch.Tensor] = {}
    for i, img in enumerate(images):
        for d in range(draws):
            bad = artefact(img, derive_generator(seed, "calibrate-artefact", i, d)).float()
            clean = img[..., : bad.shape[-2], : bad.shape[-1]]
            noisy = equal_mse_noise(clean, bad, derive_generator(seed, "calibrate-noise", i, d))
            for target, acc in ((bad, a), (noisy, b)):
                for (k, tap), dist in loss.channel_distances(target, clean).items():
                    key = f"{k}.{tap}"
                    acc[key] = acc.get(key, 0) + dist.sum(0)
    return a, b


def calibrate(weights: LossWeights, artefact: Artefact, images: Sequence[torch.Tensor], *, draws: int = 4,
              mode: str = "pyramid", method: str = "ratio", seed: int = 0,
              description: dict[str, Any] | None = None) -> LossWeights:
    """A copy of ``weights`` with calibrated taps fitted on ``images`` (each (1, 3, H, W) in [0, 1]).

    ``mode``: the view the weights are fitted on (``pyramid``: critic k sees the image at its own scale).
    ``description``: recorded in ``metadata["calibration"]`` (what the artefact is, which images).
    """
    if mode not in MODES:
        raise InvalidInputError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    if method not in METHODS:
        raise InvalidInputError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    if not isinstance(draws, int) or isinstance(draws, bool) or draws < 1:
        raise InvalidInputError(f"draws: expected a positive integer, got {draws!r}")
    if not images:
        raise InvalidInputError("images: expected at least one training image to calibrate on")
    a, b = channel_ratios(weights, artefact, images, draws=draws, mode=mode, seed=seed)
    calibration = {}
    for k, state in enumerate(weights.critics):
        width = int(state["head.conv.weight"].shape[0])
        for tap in TAPS:
            key = f"{k}.{tap}"
            n = 1 if tap == "tail" else width
            if key not in b:  # pyramid mode skipped this scale on these images: leave the tap as it is
                calibration[key] = torch.ones(n)
                continue
            moved = (b[key] > 0) & (a[key] > 0)
            ak, bk = a[key].clamp_min(1e-30), b[key].clamp_min(1e-30)
            raw = ak / bk if method == "ratio" else (1 / bk - 1 / ak).clamp_min(0)
            raw = torch.where(moved, raw, torch.ones(n, dtype=raw.dtype))
            total = (raw * b[key]).sum()
            scale = b[key].sum() / total if total > 0 else torch.tensor(1.0, dtype=raw.dtype)
            calibration[key] = (raw * scale).float()
    meta = dict(weights.metadata)
    meta["calibration"] = {"method": method,
                           "mode": mode, "draws": draws, "seed": seed, **(description or {})}
    return LossWeights(weights.critics, meta, calibration)


def training_images(metadata: dict[str, Any], given: Sequence[str | Path] = ()) -> tuple[list[torch.Tensor], list[str]]:
    """The loss's own training images (RGB, full size) and their names: ``given`` paths, each checked against
    the sha256 recorded in the loss file, or the bundled photo when the loss was trained on it.

    Raises:
        InvalidInputError: the loss records no training image, or an image is not one of them.
    """
    from mdfloss.loss.assets import bundled_image_path

    recorded = metadata.get("training_image")
    recorded = recorded if isinstance(recorded, list) else [recorded] if recorded else []
    shas = {r.get("sha256") for r in recorded if isinstance(r, dict)}
    if not shas:
        raise InvalidInputError("loss: the file records no training image, and calibration is fitted on the "
                                "training images only (never on evaluation images)")
    paths = [Path(p) for p in given] or [bundled_image_path()]
    images, names = [], []
    for p in paths:
        if not p.is_file():
            raise InvalidInputError(f"--image: '{p}' is not a file")
        if sha256_file(p) not in shas:
            names_known = ", ".join(str(r.get("name")) for r in recorded)
            raise InvalidInputError(f"--image: '{p.name}' is not among the loss's training images ({names_known}); "
                                    "calibration is fitted on the training images only")
        img = read_image(p, argument="image")
        images.append(img.expand(-1, 3, -1, -1) if img.shape[1] == 1 else img)
        names.append(p.name)
    return images, names
