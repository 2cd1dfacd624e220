"""Restorations for a study from a finished benchmark: each loss's network run on one set.

The inputs are degraded exactly as the benchmark's evaluation did (same degradation, same seed per
image), and the first seed's network of each loss is used, so the study shows what the metrics scored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from mdfloss.common.errors import InvalidInputError
from mdfloss.restoration.benchmark import run_name
from mdfloss.restoration.data import EvalPairs, resolve_set
from mdfloss.restoration.evaluate import load_restorer
from mdfloss.restoration.metrics import quantize
from mdfloss.tasks import get_task


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    return (quantize(x) * 255).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()


def benchmark_models(out_dir: Path) -> tuple[dict, dict[str, Path]]:
    """The benchmark's report and ``{loss: model.pt of its first seed}``."""
    out_dir = Path(out_dir)
    report_file = out_dir / "results.json"
    if not report_file.is_file():
        raise InvalidInputError(f"--from-benchmark: '{out_dir}' has no results.json; give the --out folder of a "
                                "finished 'mdfloss benchmark'")
    try:
        report = json.loads(report_file.read_text())
        first_set = next(iter(report["results"].values()))
        seed = report["seeds"][0]
    except (ValueError, KeyError, StopIteration, TypeError, IndexError):
        raise InvalidInputError(f"--from-benchmark: '{report_file}' is not a benchmark report") from None
    models = {}
    for loss in first_set:
        model = out_dir / f"loss_{run_name(loss, seed, seed)}" / "model.pt"
        if not model.is_file():
            raise InvalidInputError(f"--from-benchmark: the network for {loss!r} is missing ({model}); rerun the "
                                    "benchmark into that folder to finish it")
        models[loss] = model
    return report, models


@torch.no_grad()
def restorations(out_dir: Path, set_name: str, *, data_root: Path | None = None, limit: int | None = None,
                 progress: Callable[[str], None] | None = None, losses: list[str] | None = None,
                 only: list[str] | None = None) -> tuple[dict, dict, dict]:
    """``(references, {loss: {image: restoration}}, source)`` as uint8 ``(H, W, 3)`` arrays.

    ``losses``: the benchmark's losses to use (default: all); ``only``: image names to restore (default: all,
    or the first ``limit``).
    """
    report, models = benchmark_models(out_dir)
    if losses:
        unknown = [loss for loss in losses if loss not in models]
        if unknown:
            raise InvalidInputError(f"--condition: the benchmark has no loss {unknown[0]!r}; it has "
                                    f"{', '.join(models)}")
        models = {loss: models[loss] for loss in losses}
    if len(models) < 2:
        raise InvalidInputError(f"--from-benchmark: the benchmark compared {len(models)} loss; a study needs 2")
    seed = report["seeds"][0]
    refs: dict[str, np.ndarray] = {}
    images: dict[str, dict[str, np.ndarray]] = {}
    for loss, path in models.items():
        if progress:
            progress(f"restoring {set_name} with the network trained with {loss}")
        model, record = load_restorer(path, argument="--from-benchmark")
        if record["task"] != report["task"]:
            raise InvalidInputError(f"--from-benchmark: {path} was trained for {record['task']!r}, not "
                                    f"{report['task']!r}")
        where = report.get("set_paths", {}).get(set_name, set_name)  # a set given as NAME=DIR to the benchmark
        pairs = EvalPairs(resolve_set(where, data_root), get_task(record["task"], record["preset"]["degradation"]),
                          seed=seed)
        images[loss] = {}
        for i in range(len(pairs) if limit is None else min(limit, len(pairs))):
            if only is not None and pairs.files[i].stem not in only:
                continue
            name, lq, hq = pairs[i]
            images[loss][name] = _to_uint8(model(lq[None]))
            refs.setdefault(name, _to_uint8(hq[None]))
    if only is not None and set(only) - set(refs):
        missing = ", ".join(sorted(set(only) - set(refs)))
        raise InvalidInputError(f"images: the set {set_name} has no image(s) {missing}")
    source = {"benchmark": str(Path(out_dir).resolve()), "set": set_name, "task": report["task"], "seed": seed}
    return refs, images, source
