"""Evaluate a trained restoration network on a set: a CSV row per image and the means."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import torch

from ..errors import WeightFileError
from ..fileio import atomic_write_bytes
from .data import EvalPairs, resolve_set
from .degradations import Degradation
from .metrics import crop_border, fidelity, quantize
from .models import build_model


def load_restorer(path: str | Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """A model written by ``train_restorer`` (weights-only checkpoint) and its record."""
    path = Path(path)
    if not path.is_file():
        raise WeightFileError(f"model: '{path}' does not exist or is not a file")
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure is a bad file to the user
        raise WeightFileError(f"model: '{path}' is not a readable model file ({exc.__class__.__name__})") from None
    if not isinstance(record, dict) or "model" not in record or "preset" not in record:
        raise WeightFileError(f"model: '{path}' was not written by mdfloss train-restorer")
    deg = Degradation(record["task"], **record["preset"]["degradation"])
    model = build_model(record["preset"]["model"], scale=deg.factor)
    model.load_state_dict(record["model"])
    return model.eval(), record


@torch.no_grad()
def evaluate(model_path: str | Path, set_name: str | Path, *, out_csv: str | Path | None = None,
             data_root: Path | None = None, seed: int = 0, limit: int | None = None,
             device: str | torch.device = "cpu", perceptual: bool = True,
             jod_display: str | None = None) -> dict[str, float]:
    """Metrics per image; returns their means over the set.

    PSNR/SSIM on RGB and Y with BasicSR's border crop and, with ``perceptual``, JOD
    (ColorVideoVDP on ``jod_display``), FLIP, HaarPSI and MDSI on the same cropped 8-bit
    images (see :mod:`mdfloss.restoration.perceptual`).
    """
    from .perceptual import DEFAULT_JOD_DISPLAY
    from .perceptual import perceptual as perceptual_metrics

    jod_display = jod_display or DEFAULT_JOD_DISPLAY
    model, record = load_restorer(model_path)
    model = model.to(device)
    deg = Degradation(record["task"], **record["preset"]["degradation"])
    pairs = EvalPairs(resolve_set(set_name, data_root), deg, seed=seed)
    border = deg.factor if deg.factor > 1 else 0
    rows = []
    for i in range(len(pairs) if limit is None else min(limit, len(pairs))):
        name, lq, hq = pairs[i]
        out = model(lq[None].to(device)).clamp(0, 1).cpu()
        # Every metric sees the same 8-bit, border-cropped pair (quantize is idempotent in fidelity).
        pred, target = crop_border(quantize(out), border), crop_border(quantize(hq[None]), border)
        row = {"image": name, **fidelity(pred, target)}
        if perceptual:
            row.update(perceptual_metrics(pred, target, jod_display))
        rows.append(row)
    means = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0] if k != "image"}
    if out_csv is not None:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
        w.writerow({"image": "MEAN", **means})
        atomic_write_bytes(out_csv, buf.getvalue().encode())
    return means
