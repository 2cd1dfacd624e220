"""Evaluate a trained restoration network on a set: a CSV row per image and the means."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from mdfloss.common.errors import InvalidInputError, WeightFileError
from mdfloss.common.files import write_csv
from mdfloss.common.runs import load_checked
from mdfloss.restoration.data import EvalPairs, resolve_set
from mdfloss.restoration.degradations import Degradation
from mdfloss.restoration.metrics import crop_border, fidelity, quantize
from mdfloss.restoration.models import MODEL_KIND, build_model


def load_restorer(path: str | Path, *, argument: str = "model") -> tuple[torch.nn.Module, dict[str, Any]]:
    """A model written by ``train_restorer`` (weights-only checkpoint) and its record.

    Raises:
        WeightFileError: missing, unreadable, or another kind of file (one line for the CLI).
    """
    record = load_checked(path, argument=argument, kind=MODEL_KIND, keys=("model", "preset", "task"))
    deg = Degradation(record["task"], **record["preset"]["degradation"])
    model = build_model(record["preset"]["model"], scale=deg.factor)
    try:
        model.load_state_dict(record["model"])
    except Exception:  # noqa: BLE001 - the record does not describe these weights
        raise WeightFileError(f"{argument}: '{path}' is corrupt: its weights do not fit the network it names") from None
    return model.eval(), record


@torch.no_grad()
def evaluate(model_path: str | Path, set_name: str | Path, *, out_csv: str | Path | None = None,
             data_root: Path | None = None, seed: int = 0, limit: int | None = None,
             device: str | torch.device = "cpu", perceptual: bool = True,
             jod_display: str | None = None, task: str | None = None, jod_model=None) -> dict[str, float]:
    """Metrics per image; returns their means over the set.

    PSNR/SSIM on RGB and Y with BasicSR's border crop and, with ``perceptual``, JOD
    (ColorVideoVDP on ``jod_display``), FLIP, HaarPSI and MDSI on the same cropped 8-bit
    images (see :mod:`mdfloss.restoration.perceptual`). ``task``: refuse a model trained for another task.
    ``jod_model``: a :func:`~mdfloss.restoration.perceptual.cvvdp_model` for ``jod_display`` to reuse
    across calls (built here when None; about a second).
    """
    from mdfloss.restoration.perceptual import DEFAULT_JOD_DISPLAY, cvvdp_model
    from mdfloss.restoration.perceptual import perceptual as perceptual_metrics

    jod_display = jod_display or DEFAULT_JOD_DISPLAY
    model, record = load_restorer(model_path)
    if task is not None and record["task"] != task:
        raise InvalidInputError(f"--task: the model was trained for {record['task']!r}, not {task!r}")
    model = model.to(device)
    deg = Degradation(record["task"], **record["preset"]["degradation"])
    pairs = EvalPairs(resolve_set(set_name, data_root), deg, seed=seed)
    border = deg.factor if deg.factor > 1 else 0
    if perceptual and jod_model is None:
        jod_model = cvvdp_model(jod_display)
    rows = []
    for i in range(len(pairs) if limit is None else min(limit, len(pairs))):
        name, lq, hq = pairs[i]
        out = model(lq[None].to(device)).clamp(0, 1).cpu()
        # Every metric sees the same 8-bit, border-cropped pair (quantize is idempotent in fidelity).
        pred, target = crop_border(quantize(out), border), crop_border(quantize(hq[None]), border)
        row = {"image": name, **fidelity(pred, target)}
        if perceptual:
            row.update(perceptual_metrics(pred, target, jod_display, jod_model=jod_model))
        rows.append(row)
    means = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0] if k != "image"}
    if out_csv is not None:
        write_csv(out_csv, rows + [{"image": "MEAN", **means}])
    return means
