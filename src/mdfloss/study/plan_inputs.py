"""Expected JODs for ``study plan``: typed on the command line, or read from a finished benchmark, where
ColorVideoVDP's JOD of each restored image stands in for what observers would say."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mdfloss.common.errors import InvalidInputError
from mdfloss.common.files import safe_name


def parse_jods(items: list[str], scenes: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """``NAME=JOD`` items → the same expected JODs in each of ``scenes`` scenes."""
    names, values = [], []
    for item in items:
        name, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not sep or not name or not np.isfinite(number):
            raise InvalidInputError(f"--jod: expected NAME=JOD with a finite number, got {item!r}")
        if name in names:
            raise InvalidInputError(f"--jod: {name!r} is given twice")
        names.append(name)
        values.append(number)
    if len(names) < 2:
        raise InvalidInputError("--jod: give the expected JOD of 2 or more conditions, e.g. --jod mdf=0.1 --jod l2=0")
    if scenes < 1:
        raise InvalidInputError(f"--scenes: expected 1 or more, got {scenes}")
    return {f"scene{k}": np.array(values) for k in range(scenes)}, names


def _per_image_jod(folder: Path, set_name: str, loss: str, seeds: list[int]) -> dict[str, float]:
    """Mean over seeds of each image's JOD in a benchmark's per-image CSVs (named as the benchmark names them)."""
    from mdfloss.restoration.benchmark import read_per_image, run_name

    values: dict[str, list[float]] = {}
    for seed in seeds:
        path = folder / f"per_image_{safe_name(set_name)}_{run_name(loss, seed, seeds[0])}.csv"
        if not path.is_file():
            raise InvalidInputError(f"--from-benchmark: '{path}' is missing; finish the benchmark (or give --jod)")
        for image, metrics in read_per_image(path).items():
            if "jod" not in metrics:
                raise InvalidInputError(f"--from-benchmark: the benchmark of {loss!r} on {set_name} has no JOD "
                                        "column; run it with the perceptual metrics")
            values.setdefault(image, []).append(metrics["jod"])
    if not values:
        raise InvalidInputError(f"--from-benchmark: '{folder}' holds no per-image rows for {loss!r} on {set_name}")
    return {image: float(np.mean(v)) for image, v in values.items()}


def jods_from_benchmark(folder: Path, set_name: str | None, losses: list[str], scenes: int
                        ) -> tuple[dict[str, np.ndarray], list[str], dict]:
    """Per-image JODs of ``losses`` (default: every loss) on the ``scenes`` images where they differ most.

    Returns the truth per scene (image), the condition names (the loss specs) and what was read.
    """
    folder = Path(folder)
    path = folder / "results.json"
    if not path.is_file():
        raise InvalidInputError(f"--from-benchmark: '{folder}' has no results.json; give a finished benchmark's --out")
    meta = json.loads(path.read_text())
    results, seeds = meta.get("results") or {}, meta.get("seeds") or [0]
    if set_name is None:
        if len(results) != 1:
            raise InvalidInputError(f"--set: the benchmark has the sets {', '.join(results)}; name one")
        set_name = next(iter(results))
    if set_name not in results:
        raise InvalidInputError(f"--set: the benchmark has no set {set_name!r}; it has {', '.join(results)}")
    losses = list(losses) or list(results[set_name])
    unknown = [loss for loss in losses if loss not in results[set_name]]
    if unknown:
        raise InvalidInputError(f"--condition: the benchmark has no loss {unknown[0]!r} on {set_name}; it has "
                                f"{', '.join(results[set_name])}")
    if len(losses) < 2:
        raise InvalidInputError("--condition: a study compares 2 or more losses")
    if scenes < 1:
        raise InvalidInputError(f"--scenes: expected 1 or more, got {scenes}")
    per_loss = [_per_image_jod(folder, set_name, loss, seeds) for loss in losses]
    images = sorted(set.intersection(*(set(p) for p in per_loss)))
    table = np.array([[p[image] for p in per_loss] for image in images])
    order = np.argsort(-table.std(axis=1), kind="stable")[:scenes]  # where the losses differ most
    truth = {images[k]: table[k] for k in sorted(order)}
    source = {"benchmark": str(folder), "set": set_name, "seeds": seeds, "images": len(images),
              "scenes": "the images where the conditions' JODs differ most (largest standard deviation)"}
    return truth, losses, source
