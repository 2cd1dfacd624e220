"""The paper's comparison as a rerunnable benchmark: the protocol.

Pretrain one network with L1; fine-tune a copy with each loss and each of ``seeds`` seeds
(patch order) for the same number of iterations (or, with ``from_scratch``, train each loss
from scratch, the seed also drawing the initial weights); evaluate every network on the
task's evaluation sets. :mod:`mdfloss.restoration.report` writes the report.

Layout of the output folder (runs share nothing else, so reruns reuse finished work):

* ``pretrain_l1/``: the L1-pretrained network;
* ``loss_<spec>/`` (first seed) and ``loss_<spec>__seed<S>/``: one fine-tune each;
* ``per_image_<set>_<spec>[__seed<S>].csv``: metrics per image;
* ``results.md|csv|json``, ``diffs_<set>.png``, ``crops_<set>.png``: the report.
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from mdfloss.common.errors import InvalidInputError
from mdfloss.common.files import atomic_write_bytes
from mdfloss.common.runs import normal_settings, recorded_settings
from mdfloss.restoration.data import resolve_set
from mdfloss.restoration.degradations import Degradation
from mdfloss.restoration.evaluate import evaluate, load_restorer
from mdfloss.restoration.losses import build_loss
from mdfloss.restoration.perceptual import DEFAULT_JOD_DISPLAY, cvvdp_model
from mdfloss.restoration.presets import restorer_preset
from mdfloss.restoration.train import train_restorer

EVAL_SETS = {"sisr": ["Set5", "Set14", "BSD100"], "denoise": ["CBSD68", "McMaster"], "jpeg": ["LIVE1", "Classic5"]}


@dataclass(frozen=True)
class BenchPreset:
    """The L1 pretraining preset, then what every loss gets for fine-tuning."""

    base: str  # restorer preset of the L1 pretraining
    finetune_iterations: int
    finetune_batch: int
    finetune_patch: int
    finetune_lr: float
    eval_limit: int | None  # images per evaluation set (the first N by name); None = all
    perceptual: bool = True
    eval_sets: dict[str, list[str]] = field(default_factory=lambda: EVAL_SETS)
    screen: bool = False  # a quick sweep: its reports say "screen", never "result"


# cpu: on 2 cores a step of 8 patches of 64 px costs 0.3 s with an MDF loss in pyramid mode,
# 0.65 s in reference mode and about 0.1 s with a pixel loss (benchmarks/bench_restoration_losses.py),
# so 600 fine-tuning steps for 7 losses, the L1 pretraining and the evaluation take 22-35 minutes.
# screen: the cpu pretraining (shared with cpu runs when copied in), 200 steps and the first 20
# images of one set, about 10 minutes for four losses.
BENCH_PRESETS = {
    "smoke": BenchPreset("smoke", 3, 4, 48, 1e-4, 2),
    "screen": BenchPreset("cpu", 200, 8, 64, 1e-4, 20, screen=True,
                          eval_sets={"sisr": ["BSD100"], "denoise": ["CBSD68"], "jpeg": ["LIVE1"]}),
    "cpu": BenchPreset("cpu", 600, 8, 64, 1e-4, None),
    "gpu": BenchPreset("gpu", 20_000, 16, 192, 1e-4, None),
}


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def expand_loss(spec: str, task: str) -> str:
    """A term ``mdf`` or ``mdf@OPTIONS`` is the task's shipped MDF loss: ``l2+0.1*mdf@pyramid`` ->
    ``l2+0.1*mdf:TASK@pyramid``."""
    terms = []
    for term in spec.strip().split("+"):
        weight, star, name = term.strip().rpartition("*")
        if name.strip() == "mdf" or name.strip().startswith("mdf@"):
            name = f"mdf:{task}{name.strip()[3:]}"
        terms.append(f"{weight.strip()}*{name.strip()}" if star else name.strip())
    return "+".join(terms)


def _train_or_reuse(task: str, loss: str, out_dir: Path, preset, init: Path | None, *, seed: int, **kw) -> Path:
    """A finished run with the same task, loss, preset and seed is reused; an unfinished one resumes;
    a run started with other settings (finished or not) is discarded and trained again."""
    final = out_dir / "model.pt"
    wanted = {"task": task, "loss": loss, "preset": preset.to_dict(), "seed": seed}
    if final.exists():
        record = load_restorer(final)[1]
        if {k: record.get(k) for k in wanted} == normal_settings(wanted):
            return final
        shutil.rmtree(out_dir)  # finished with other settings: its checkpoints and log do not apply
    recorded = recorded_settings(out_dir)
    if recorded is not None and {k: recorded.get(k) for k in wanted} != normal_settings(wanted):
        shutil.rmtree(out_dir)
    return train_restorer(task, loss, out_dir, preset, init=init, resume=True, seed=seed, **kw)


def run_name(loss: str, seed: int, first_seed: int) -> str:
    """Folder and CSV stem of one fine-tune: the first seed keeps the plain name."""
    return _safe(loss) + ("" if seed == first_seed else f"__seed{seed}")


def read_per_image(path: Path) -> dict[str, dict[str, float]]:
    """``{image: {metric: value}}`` from an evaluation CSV (its MEAN row left out)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["image"] != "MEAN"]
    names = [r["image"] for r in rows]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"{path}: an image name appears twice")
    return {r["image"]: {k: float(v) for k, v in r.items() if k != "image"} for r in rows}


@dataclass
class BenchmarkRuns:
    """What the report is written from."""

    task: str
    preset: str
    bench: BenchPreset
    tuned: object  # RestorerPreset of the fine-tunes (or of the from-scratch runs)
    base_model: dict
    from_scratch: bool
    seeds: list[int]
    jod_display: str
    models: dict[str, list[Path]]  # loss -> model per seed
    timing: dict[str, list[dict[str, float]]]  # loss -> {seconds, patches_per_s} per seed
    # set -> loss -> metric -> per seed {image: value}
    per_image: dict[str, dict[str, dict[str, list[dict[str, float]]]]]
    set_paths: dict[str, Path]
    degradation: Degradation


def _finetune_preset(task: str, bench: BenchPreset, from_scratch: bool, iterations: int | None):
    base = restorer_preset(task, bench.base)
    if from_scratch:
        return base, (replace(base, iterations=iterations) if iterations else base)
    its = iterations or bench.finetune_iterations
    return base, replace(base, iterations=its, batch=bench.finetune_batch, patch=bench.finetune_patch,
                         lr=bench.finetune_lr, val_every=max(1, its // 4))


def _evaluate_all(out_dir: Path, runs: dict[str, list[Path]], names: dict[str, list[str]], bench: BenchPreset,
                  sets: dict[str, Path], settings: dict, jod_display: str, eval_seed: int, jod_model):
    """Evaluate every model on every set, reusing CSVs written after the model with the same settings."""
    marker = out_dir / "eval_settings.json"
    previous = json.loads(marker.read_text()) if marker.is_file() else None
    if marker.is_file():
        marker.unlink()  # until every CSV below is written with the current settings
    per_image: dict = {}
    for set_name, set_path in sets.items():
        per_image[set_name] = {}
        for loss, paths in runs.items():
            by_metric: dict[str, list[dict[str, float]]] = {}
            for model, name in zip(paths, names[loss]):
                out_csv = out_dir / f"per_image_{set_name}_{name}.csv"
                fresh = previous == settings and out_csv.is_file() and (
                    out_csv.stat().st_mtime_ns >= model.stat().st_mtime_ns)
                if not fresh:
                    evaluate(model, set_path, out_csv=out_csv, limit=bench.eval_limit, seed=eval_seed,
                             perceptual=bench.perceptual, jod_display=jod_display, jod_model=jod_model)
                rows = read_per_image(out_csv)
                for metric in next(iter(rows.values())):
                    by_metric.setdefault(metric, []).append({img: r[metric] for img, r in rows.items()})
            per_image[set_name][loss] = by_metric
    atomic_write_bytes(marker, json.dumps(settings).encode())
    return per_image


def run_benchmark(task: str, losses: list[str], preset: str, out_dir: str | Path, *, from_scratch: bool = False,
                  seed: int = 0, seeds: int = 1, iterations: int | None = None, data_root: Path | None = None,
                  progress: bool | None = None, jod_display: str = DEFAULT_JOD_DISPLAY) -> dict:
    """Pretrain, fine-tune each loss with ``seeds`` seeds, evaluate and write the report; returns its numbers.

    Fine-tune ``i`` of every loss uses seed ``seed + i`` (its patch order); the pretraining and
    the evaluation inputs use ``seed``. ``iterations`` overrides the preset's fine-tuning steps.
    Rerunning into the same ``out_dir`` reuses finished runs and resumes unfinished ones
    from their checkpoints, so a crash loses at most ``checkpoint_every`` iterations.
    """
    from mdfloss.restoration.report import write_report

    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise InvalidInputError(f"seeds: expected a positive number of seeds, got {seeds!r}")
    if preset not in BENCH_PRESETS:
        raise InvalidInputError(f"preset: expected one of {', '.join(BENCH_PRESETS)}, got {preset!r}")
    out_dir = Path(out_dir)
    losses = [expand_loss(s, task) for s in losses]
    for spec in losses:
        build_loss(spec)  # refuse a bad spec before hours of training
    bench = BENCH_PRESETS[preset]
    # Built once for every evaluation below; it also refuses an unknown display before any training.
    jod_model = cvvdp_model(jod_display) if bench.perceptual else None
    base, tuned = _finetune_preset(task, bench, from_scratch, iterations)
    seed_list = [seed + i for i in range(seeds)]
    out_dir.mkdir(parents=True, exist_ok=True)
    kw = dict(data_root=data_root, progress=progress)
    init = None if from_scratch else _train_or_reuse(task, "l1", out_dir / "pretrain_l1", base, None, seed=seed, **kw)
    models: dict[str, list[Path]] = {}
    names: dict[str, list[str]] = {}
    timing: dict[str, list[dict[str, float]]] = {}
    for loss in losses:
        names[loss] = [run_name(loss, s, seed) for s in seed_list]
        models[loss] = [_train_or_reuse(task, loss, out_dir / f"loss_{n}", tuned, init, seed=s, **kw)
                        for s, n in zip(seed_list, names[loss])]
        records = [load_restorer(m)[1] for m in models[loss]]
        timing[loss] = [{"seconds": r["seconds"], "patches_per_s": r["patches_per_s"]} for r in records]
    sets = {name: resolve_set(name, data_root) for name in bench.eval_sets[task]}
    settings = {"jod_display": jod_display, "limit": bench.eval_limit, "perceptual": bench.perceptual, "seed": seed}
    per_image = _evaluate_all(out_dir, models, names, bench, sets, settings, jod_display, seed, jod_model)
    runs = BenchmarkRuns(task, preset, bench, tuned, base.model, from_scratch, seed_list, jod_display, models,
                         timing, per_image, sets, Degradation(task, **base.degradation))
    return write_report(runs, out_dir)
