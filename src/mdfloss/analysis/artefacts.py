"""The errors a task-specific loss should weigh: a task's artefact and its equal-energy white-noise twin.

An *artefact* function maps clean images (N, 3, H, W) in [0, 1] and a generator to images of the
same shape that carry the task's error: the degraded input at full size (SISR: the low-resolution
image resized back) or, given a restoration network, that network's output (its *residual* is what a
loss must weigh while fine-tuning it). :func:`equal_mse_noise` draws white Gaussian noise with the
same mean squared error, the reference against which both calibration and specificity are measured.

Example:
    >>> import torch
    >>> from mdfloss.analysis.artefacts import task_artefact, equal_mse_noise
    >>> art = task_artefact("jpeg", {"quality": 10})
    >>> x = torch.rand(1, 3, 32, 32)
    >>> bad = art(x, torch.Generator().manual_seed(0))
    >>> noisy = equal_mse_noise(x, bad, torch.Generator().manual_seed(1))
    >>> bool(abs(float(((noisy - x) ** 2).mean() / ((bad - x) ** 2).mean()) - 1) < 0.2)
    True
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import torch

from mdfloss.common.errors import InvalidInputError
from mdfloss.tasks import builtin_tasks, get_task
from mdfloss.tasks.registry import DEFAULT_QUALITY, DEFAULT_SIGMA

TASKS = builtin_tasks()

Artefact = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def task_artefact(task: str, params: dict[str, Any] | None = None, restorer: str | Path | None = None) -> Artefact:
    """The degraded input of a task (built-in or plug-in) at full size, or ``restorer``'s output on it.

    ``params``: the restoration task's ``scale``, ``sigma`` (0-255) or ``quality``. With ``restorer``
    (a ``train-restorer`` model.pt of the same task) the degradation is the one it was trained for.
    """
    if restorer is None:
        deg = get_task(task, params)
        return lambda x, gen: deg.full_size(deg.crop_multiple(x), gen)
    from mdfloss.restoration.as_distortion import RestoredDistortion

    return restored_artefact(RestoredDistortion(restorer, task))


def restored_artefact(restored) -> Artefact:
    """A :class:`~mdfloss.restoration.as_distortion.RestoredDistortion`'s network output on the degraded image."""

    def residual(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        x = restored.degradation.crop_multiple(x)
        with torch.no_grad():
            return restored.model.to(x.device)(restored.degradation(x, gen).to(x.device)).clamp(0, 1)

    return residual


def distortion_artefact(task: str, distortion) -> Artefact:
    """The artefact of a Phase-1 run: the restoration task's degradation for a built-in task (its parameters
    from the distortion), the restorer's output for a ``--restorer`` run, else the plug-in distortion itself.

    Raises:
        InvalidInputError: the distortion leaves a test image unchanged (nothing to calibrate against).
    """
    fn = getattr(distortion, "_fn", None)
    if task in TASKS:
        art = loss_artefact({"distortion": distortion.spec})[0]
    elif hasattr(fn, "degradation") and hasattr(fn, "model"):
        art = restored_artefact(fn)
    else:
        art = lambda x, gen: distortion(x, gen)  # noqa: E731 - a one-line helper used only in this function
    probe = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    if torch.equal(art(probe, torch.Generator().manual_seed(1)), probe):
        raise InvalidInputError(f"calibrate_taps: the distortion of task {task!r} leaves images unchanged, so there "
                                "is no artefact to calibrate against")
    return art


def equal_mse_noise(clean: torch.Tensor, artefact: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """``clean`` plus white Gaussian noise whose expected MSE equals that of ``artefact`` (same shape as
    ``clean``; not clamped, so the energy matches in expectation).

    Example:
        >>> import torch
        >>> clean = torch.full((1, 3, 64, 64), 0.5)
        >>> noisy = equal_mse_noise(clean, clean + 0.1, torch.Generator().manual_seed(0))
        >>> round(float(((noisy - clean) ** 2).mean()), 3)  # the artefact's MSE, 0.01
        0.01
    """
    mse = float(((artefact - clean) ** 2).mean())
    if not mse > 0:
        raise InvalidInputError("artefact: the task's degradation leaves the image unchanged (mean squared error "
                                "0), so there is nothing to weigh against noise; check the task and its parameters")
    noise = torch.randn(clean.shape, generator=gen) * math.sqrt(mse)
    return clean + noise.to(clean.device, clean.dtype)


def _mid(value: Any) -> float:
    return (value[0] + value[1]) / 2 if isinstance(value, (list, tuple)) else value


def loss_artefact(metadata: dict[str, Any], restorer: str | Path | None = None,
                  scale: int = 4) -> tuple[Artefact, dict]:
    """The artefact a loss file was trained against, from its metadata, and a description of it.

    Built-in tasks use the restoration task's degradation at full size (``sisr``: ×``scale``; a sampled
    ``sigma`` or ``quality`` range: its middle); ``restorer`` adds that network's restoration (a loss trained
    with ``--restorer`` needs the same network, checked by hash); a plug-in distortion is called as trained.

    Raises:
        InvalidInputError: the loss records no distortion, or the restorer does not fit the loss.
    """
    dist = metadata.get("distortion") or {}
    name, params = dist.get("name"), dict(dist.get("params") or {})
    if not name:
        raise InvalidInputError("loss: the file records no task distortion (a converted published loss?); "
                                "calibration needs the task the loss was trained for")
    if name.endswith("_restored"):
        base = name[: -len("_restored")]
        if restorer is None:
            raise InvalidInputError(f"--restorer: the loss was trained on a restorer's output ({name}); give the same "
                                    "model.pt")
        from mdfloss.common.runs import sha256_file

        if sha256_file(restorer) != params.get("restorer_sha256"):
            raise InvalidInputError(f"--restorer: '{restorer}' is not the network the loss was trained with "
                                    "(its sha256 differs from the one recorded)")
        return task_artefact(base, restorer=restorer), {"artefact": f"{base} + restorer", "restorer": str(restorer)}
    if name in TASKS:
        table: dict[str, dict[str, Any]] = {"sisr": {"scale": scale},
                                       "denoise": {"sigma": _mid(params.get("sigma", DEFAULT_SIGMA / 255)) * 255},
                                       "jpeg": {"quality": int(round(_mid(params.get("quality",
                                                                                     DEFAULT_QUALITY))))}}
        task_params = table[name]
        desc = {"artefact": name, "params": task_params}
        if restorer is not None:
            desc.update(artefact=f"{name} + restorer", restorer=str(restorer))
            return task_artefact(name, restorer=restorer), desc
        return task_artefact(name, task_params), desc
    if restorer is not None:
        raise InvalidInputError(f"--restorer: only for the built-in tasks ({', '.join(TASKS)}), not {name!r}")
    task = get_task(name, params)  # a plug-in: its parameters are recorded in its own units
    return (lambda x, gen: task.phase1_distortion(x, gen).to(x.dtype)), {"artefact": name, "params": params}
