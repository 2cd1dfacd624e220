"""Evaluate a trained restoration network on a set: a CSV row per image and the means."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from mdfloss.common.errors import InvalidInputError, WeightFileError
from mdfloss.common.files import write_csv
from mdfloss.common.runs import load_checked
from mdfloss.restoration.data import EvalPairs, PairedFolders, resolve_set
from mdfloss.restoration.metric_table import compute
from mdfloss.restoration.metrics import crop_border, quantize
from mdfloss.restoration.models import MODEL_KIND, build_model
from mdfloss.tasks import Task, get_task


def is_restorer_file(path: str | Path) -> bool:
    """Whether ``path`` is a model written by ``train_restorer`` (False for other projects' weight files)."""
    try:
        load_checked(path, argument="model", kind=MODEL_KIND, keys=("model", "preset", "task"))
    except WeightFileError:
        return False
    return True


def load_restorer(path: str | Path, *, argument: str = "model",
                  task: str | None = None) -> tuple[torch.nn.Module, dict[str, Any]]:
    """A model written by ``train_restorer`` (weights-only checkpoint) and its record, or, given ``task``, a
    network from another project's weight file that spandrel recognises (:mod:`.foreign_models`).

    Raises:
        WeightFileError: missing, unreadable, or another kind of file (one line for the CLI).
    """
    from mdfloss.restoration import foreign_models

    try:
        record = load_checked(path, argument=argument, kind=MODEL_KIND, keys=("model", "preset", "task"))
    except WeightFileError:
        if task is None or not Path(path).is_file():
            raise
        # Not a train-restorer model: another project's network, scored for the task given.
        model, spec = foreign_models.load_foreign(path, argument=argument)
        params = {"scale": spec["scale"]} if get_task(task).factor > 1 else {}
        factor = get_task(task, params).factor
        if factor != spec["scale"]:
            raise WeightFileError(f"{argument}: '{path}' is a {spec['scale']}x {spec['architecture']} network; "
                                  f"task {task!r} needs {factor}x") from None
        return model.eval(), {"task": task, "loss": None, "preset": {"degradation": params, "model": spec}}
    deg = get_task(record["task"], record["preset"]["degradation"])
    spec = record["preset"]["model"]
    if spec.get("arch") == foreign_models.ARCH:
        return foreign_models.rebuild(spec, record["model"], source=str(path), argument=argument).eval(), record
    model = build_model(spec, scale=deg.factor)
    try:
        model.load_state_dict(record["model"])
    except Exception:  # noqa: BLE001 - the record does not describe these weights
        raise WeightFileError(f"{argument}: '{path}' is corrupt: its weights do not fit the network it names") from None
    return model.eval(), record


def restorer_and_task(model_path: str | Path, task: str | None = None, *,
                      argument: str = "model") -> tuple[torch.nn.Module, Task]:
    """A ``train-restorer`` model in eval mode and the task it was trained for, with the parameters it recorded;
    ``task`` refuses a model trained for another task."""
    model, record = load_restorer(model_path, task=task, argument=argument)
    if task is not None and record["task"] != task:
        raise InvalidInputError(f"--task: the model was trained for {record['task']!r}, not {task!r}")
    return model, get_task(record["task"], record["preset"]["degradation"])


@torch.no_grad()
def evaluate(model_path: str | Path, set_name: str | Path | PairedFolders, *, out_csv: str | Path | None = None,
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
    model, deg = restorer_and_task(model_path, task)
    return evaluate_network(model.to(device), deg, set_name, out_csv=out_csv, data_root=data_root, seed=seed,
                            limit=limit, perceptual=perceptual, jod_display=jod_display, jod_model=jod_model)


class DegradedInput(torch.nn.Module):
    """The degraded input itself as the "restoration" (SISR: bicubic up to the reference's size), so the input
    can be scored as every network is: the row a restorer must beat.

    Example:
        >>> import torch
        >>> DegradedInput(4)(torch.rand(1, 3, 8, 10)).shape  # SISR: brought to the reference's size
        torch.Size([1, 3, 32, 40])
    """

    def __init__(self, factor: int) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, lq: torch.Tensor) -> torch.Tensor:
        from mdfloss.common.resize import resize

        return resize(lq, (lq.shape[-2] * self.factor, lq.shape[-1] * self.factor)) if self.factor > 1 else lq


@torch.no_grad()
def evaluate_network(model: torch.nn.Module, deg, set_name: str | Path | PairedFolders, *,
                     out_csv: str | Path | None = None, data_root: Path | None = None, seed: int = 0,
                     limit: int | None = None, perceptual: bool = True, jod_display: str | None = None,
                     jod_model=None) -> dict[str, float]:
    """:func:`evaluate` for a network object on the task ``deg`` (a :class:`~mdfloss.tasks.Task`)."""
    from mdfloss.restoration.perceptual import DEFAULT_JOD_DISPLAY, cvvdp_model

    jod_display = jod_display or DEFAULT_JOD_DISPLAY
    device = next(iter(model.parameters()), torch.zeros(())).device
    pairs = EvalPairs(resolve_set(set_name, data_root), deg, seed=seed)
    border = deg.factor if deg.factor > 1 else 0
    if perceptual and jod_model is None:
        jod_model = cvvdp_model(jod_display)
    rows = []
    for i in range(len(pairs) if limit is None else min(limit, len(pairs))):
        name, lq, hq = pairs[i]
        out = model(lq[None].to(device)).clamp(0, 1).cpu()
        rows.append({"image": name, **score_pair(out, hq[None], border, jod_model if perceptual else None,
                                                 jod_display)})
    return write_rows(rows, out_csv)


def score_pair(pred: torch.Tensor, target: torch.Tensor, border: int, jod_model=None,
               jod_display: str | None = None) -> dict[str, float]:
    """Every metric of one pair (1, 3, H, W) in [0, 1]: the fidelity metrics, and the perceptual ones when
    ``jod_model`` is given. All see the same 8-bit, border-cropped pair (quantize is idempotent in fidelity).

    Example:
        >>> import torch
        >>> x = torch.rand(1, 3, 32, 32)
        >>> score_pair(x, x, border=0)["ssim_rgb"]
        1.0
    """
    pred, target = crop_border(quantize(pred), border), crop_border(quantize(target), border)
    if jod_model is not None:
        pred, target = pred.float(), target.float()
    return compute(pred, target, perceptual=jod_model is not None,
                   context={"jod_model": jod_model, "jod_display": jod_display})


def write_rows(rows: list[dict], out_csv: str | Path | None) -> dict[str, float]:
    """The means of per-image rows, written after them (as a MEAN row) to ``out_csv`` when given."""
    means = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0] if k != "image"}
    if out_csv is not None:
        write_csv(out_csv, rows + [{"image": "MEAN", **means}])
    return means
