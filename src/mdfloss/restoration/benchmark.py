"""The paper's comparison as a rerunnable benchmark: the protocol.

Pretrain one network with L1; fine-tune a copy with each loss and each of ``seeds`` seeds
(patch order) for the same number of iterations (or, with ``from_scratch``, train each loss
from scratch, the seed also drawing the initial weights); evaluate every network on the
task's evaluation sets. :mod:`mdfloss.restoration.report` writes the report.

Layout of the output folder (runs share nothing else, so reruns reuse finished work):

* ``pretrain_l1/``: the L1-pretrained network;
* ``loss_<spec>/`` (first seed) and ``loss_<spec>__seed<S>/``: one fine-tune each;
* ``per_image_<set>_<spec>[__seed<S>].csv``: metrics per image, and beside it ``.settings.json``,
  the evaluation settings it was written with;
* ``results.md|csv|json``, ``diffs_<set>.png``, ``crops_<set>.png``: the report.
"""

from __future__ import annotations

import csv
import fcntl
import functools
import json
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from mdfloss.common.device import launched_rank
from mdfloss.common.errors import InvalidInputError
from mdfloss.common.files import atomic_write_bytes, safe_name
from mdfloss.common.runs import normal_settings, recorded_settings
from mdfloss.restoration.bench_presets import BENCH_PRESETS, BenchPreset
from mdfloss.restoration.data import PairedFolders, resolve_set, set_record
from mdfloss.restoration.evaluate import evaluate, load_restorer
from mdfloss.restoration.losses.spec import build_loss, implicit_settings
from mdfloss.restoration.perceptual import DEFAULT_JOD_DISPLAY, cvvdp_model
from mdfloss.restoration.presets import RestorerPreset, restorer_preset
from mdfloss.restoration.train import train_restorer
from mdfloss.tasks import Task, get_task


def _train_or_reuse(task: str, loss: str, out_dir: Path, preset, init: Path | None, *, seed: int,
                    criterion=None, **kw) -> Path | None:
    """A finished run with the same task, loss, preset and seed is reused; an unfinished one resumes;
    a run started with other settings (finished or not) is discarded and trained again."""
    final = out_dir / "model.pt"
    wanted = {"task": task, "loss": loss, "preset": preset.to_dict(), "seed": seed, **implicit_settings(loss)}
    if final.exists():
        record = load_restorer(final)[1]
        if {k: record.get(k) for k in wanted} == normal_settings(wanted):
            return final
        shutil.rmtree(out_dir)  # finished with other settings: its checkpoints and log do not apply
    recorded = recorded_settings(out_dir)
    if recorded is not None and {k: recorded.get(k) for k in wanted} != normal_settings(wanted):
        shutil.rmtree(out_dir)
    # None on the ranks other than 0 under torchrun: rank 0 alone writes (and evaluates) the model
    return train_restorer(task, criterion or loss, out_dir, preset, init=init, resume=True, seed=seed, **kw)


def run_name(loss: str, seed: int, first_seed: int) -> str:
    """Folder and CSV stem of one fine-tune: the first seed keeps the plain name."""
    return safe_name(loss) + ("" if seed == first_seed else f"__seed{seed}")


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
    tuned: RestorerPreset  # of the fine-tunes (or of the from-scratch runs)
    base_model: dict
    from_scratch: bool
    seeds: list[int]
    jod_display: str
    models: dict[str, list[Path]]  # loss -> model per seed
    timing: dict[str, list[dict[str, float]]]  # loss -> {seconds, patches_per_s} per seed
    # set -> loss -> metric -> per seed {image: value}
    per_image: dict[str, dict[str, dict[str, list[dict[str, float]]]]]
    set_paths: dict[str, Path | PairedFolders]
    set_records: dict[str, str]  # what results.json records of each set: see set_record
    degradation: Task
    missing: list[str] = field(default_factory=list)  # runs a --report-only report leaves out
    # set -> {image: {metric: value}} of the degraded input itself (SISR: bicubic up): what a restorer must beat
    degraded_input: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)


def _finetune_preset(task: str, bench: BenchPreset, from_scratch: bool, iterations: int | None,
                     params: dict | None = None, train_set: str | None = None):
    base = restorer_preset(task, bench.base, params=params, train_set=train_set)
    if from_scratch:
        return base, (replace(base, iterations=iterations) if iterations else base)
    its = iterations or bench.finetune_iterations
    return base, replace(base, iterations=its, batch=bench.finetune_batch, patch=bench.finetune_patch,
                         lr=bench.finetune_lr, val_every=max(1, its // 4))


def _eval_marker(csv_path: Path) -> Path:
    return csv_path.with_suffix(".settings.json")


def _cached_per_image(out_csv: Path, settings: dict, compute: Callable[[], object],
                      newer_than: Path | None = None) -> dict[str, dict[str, float]]:
    """``{image: {metric: value}}`` from ``out_csv`` when its settings file records ``settings`` (and the CSV is
    newer than ``newer_than``); else ``compute()`` writes it first. Each CSV has its own settings file, so runs in
    other processes (``--only``) never invalidate each other's results."""
    marker = _eval_marker(out_csv)
    recorded = json.loads(marker.read_text()) if marker.is_file() else None
    fresh = recorded == settings and out_csv.is_file() and (
        newer_than is None or out_csv.stat().st_mtime_ns >= newer_than.stat().st_mtime_ns)
    if not fresh:
        marker.unlink(missing_ok=True)
        compute()
        atomic_write_bytes(marker, json.dumps(settings).encode())
    return read_per_image(out_csv)


def _evaluate_run(plan: _Plan, sets: dict[str, Path | PairedFolders], model: Path, loss: str, seed: int,
                  jod_model) -> dict[str, dict[str, dict[str, float]]]:
    """``{set: {image: {metric: value}}}`` of one network, reusing its CSVs when they were written after the
    model with the same settings (:func:`_cached_per_image`)."""
    bench, out_dir, name = plan.bench, plan.out_dir, run_name(loss, seed, plan.first_seed)
    common = {"jod_display": plan.jod_display, "limit": bench.eval_limit, "perceptual": bench.perceptual,
              "seed": plan.first_seed}
    out = {}
    for set_name, set_path in sets.items():
        out_csv = out_dir / f"per_image_{safe_name(set_name)}_{name}.csv"
        spec = str(plan.eval_sets.get(set_name, set_name))
        # A set given as NAME=DIR records where it came from, so another folder under the same name is evaluated anew.
        settings = common if spec == set_name else {**common, "set": spec}
        out[set_name] = _cached_per_image(out_csv, settings, functools.partial(
            evaluate, model, set_path, out_csv=out_csv, limit=bench.eval_limit, seed=plan.first_seed,
            perceptual=bench.perceptual, jod_display=plan.jod_display, jod_model=jod_model), newer_than=model)
    return out


def _by_metric(rows_per_seed: list[dict[str, dict[str, float]]]) -> dict[str, list[dict[str, float]]]:
    by_metric: dict[str, list[dict[str, float]]] = {}
    for rows in rows_per_seed:
        for metric in next(iter(rows.values())):
            by_metric.setdefault(metric, []).append({img: r[metric] for img, r in rows.items()})
    return by_metric


@contextmanager
def _locked(path: Path):
    """An exclusive lock on ``path`` (flock), so concurrent ``--only`` runs pretrain once."""
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@dataclass
class _Plan:
    task: str
    preset: str
    bench: BenchPreset
    base: RestorerPreset
    tuned: RestorerPreset
    losses: list[str]
    seeds: list[int]  # the seeds in the report
    first_seed: int  # names the runs and seeds the pretraining and the evaluation inputs
    out_dir: Path
    from_scratch: bool
    jod_display: str
    kw: dict
    eval_sets: dict[str, str]  # name -> named set, folder or DEGRADED_DIR:CLEAN_DIR
    criteria: dict  # loss spec -> the loss, built once


def _plan(task, losses, preset, out_dir, *, from_scratch, seed, seeds, iterations, data_root, progress,
          jod_display, params=None, train_set=None, eval_sets=None) -> _Plan:
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise InvalidInputError(f"seeds: expected a positive number of seeds, got {seeds!r}")
    if preset not in BENCH_PRESETS:
        raise InvalidInputError(f"preset: expected one of {', '.join(BENCH_PRESETS)}, got {preset!r}")
    get_task(task, params)  # an unknown task or parameter is refused before anything else
    # Built once here (refusing a bad spec before hours of training), then handed to every run of that loss.
    criteria = {c.spec: c for c in (build_loss(s, task=task) for s in losses)}
    bench = BENCH_PRESETS[preset]
    base, tuned = _finetune_preset(task, bench, from_scratch, iterations, params, train_set)
    if eval_sets is None:
        named = bench.eval_sets.get(task) or list(get_task(task, params).eval_sets)
        eval_sets = {name: name for name in named}
    if not eval_sets:
        raise InvalidInputError("--eval-set: give at least one evaluation set")
    return _Plan(task, preset, bench, base, tuned, list(criteria), [seed + i for i in range(seeds)], seed,
                 Path(out_dir), from_scratch, jod_display, dict(data_root=data_root, progress=progress),
                 dict(eval_sets), criteria)


def _eval_sets(plan: _Plan) -> dict[str, Path | PairedFolders]:
    return {name: resolve_set(spec, plan.kw["data_root"]) for name, spec in plan.eval_sets.items()}


def _pretrained(plan: _Plan, *, train: bool = True) -> Path | None:
    if plan.from_scratch:
        return None
    run = plan.out_dir / "pretrain_l1"
    if not train:
        return run / "model.pt" if (run / "model.pt").is_file() else None
    with _locked(plan.out_dir / ".pretrain.lock"):  # the first process trains it, the others then reuse it
        return _train_or_reuse(plan.task, "l1", run, plan.base, None, seed=plan.first_seed, **plan.kw)


def _fine_tune(plan: _Plan, loss: str, seed: int, init: Path | None) -> Path | None:
    name = run_name(loss, seed, plan.first_seed)
    return _train_or_reuse(plan.task, loss, plan.out_dir / f"loss_{name}", plan.tuned, init, seed=seed,
                           criterion=plan.criteria.get(loss), **plan.kw)


def _finished(plan: _Plan, loss: str, seed: int) -> Path | None:
    """The run's model when it finished with this plan's settings (what ``--report-only`` may use)."""
    model = plan.out_dir / f"loss_{run_name(loss, seed, plan.first_seed)}" / "model.pt"
    if not model.is_file():
        return None
    record = load_restorer(model)[1]
    wanted = {"task": plan.task, "loss": loss, "preset": plan.tuned.to_dict(), "seed": seed,
              **implicit_settings(loss)}
    return model if {k: record.get(k) for k in wanted} == normal_settings(wanted) else None


def _report(plan: _Plan, models: dict[str, list[Path]], jod_model, missing: list[str]) -> dict:
    from mdfloss.restoration.report import write_report

    sets = _eval_sets(plan)
    per_image: dict = {name: {} for name in sets}
    timing: dict[str, list[dict[str, float]]] = {}
    for loss, paths in models.items():
        rows = [_evaluate_run(plan, sets, m, loss, s, jod_model) for m, s in zip(paths, plan.seeds)]
        for set_name in sets:
            per_image[set_name][loss] = _by_metric([r[set_name] for r in rows])
        records = [load_restorer(m)[1] for m in paths]
        timing[loss] = [{"seconds": r["seconds"], "patches_per_s": r["patches_per_s"]} for r in records]
    runs = BenchmarkRuns(plan.task, plan.preset, plan.bench, plan.tuned, plan.base.model, plan.from_scratch,
                         plan.seeds, plan.jod_display, models, timing, per_image, sets,
                         {name: set_record(plan.eval_sets.get(name, name), path) for name, path in sets.items()},
                         get_task(plan.task, plan.base.degradation), missing,
                         {name: _evaluate_input(plan, name, path, jod_model) for name, path in sets.items()})
    return write_report(runs, plan.out_dir)


def _evaluate_input(plan: _Plan, set_name: str, set_path: Path | PairedFolders, jod_model) -> dict:
    """``{image: {metric: value}}`` of the degraded input on one set, from its own CSV when it is up to date."""
    from mdfloss.restoration.evaluate import DegradedInput, evaluate_network

    out_csv = plan.out_dir / f"per_image_{safe_name(set_name)}__degraded_input.csv"
    deg = get_task(plan.task, plan.base.degradation)
    settings = {"jod_display": plan.jod_display, "limit": plan.bench.eval_limit, "perceptual": plan.bench.perceptual,
                "seed": plan.first_seed, "set": str(plan.eval_sets.get(set_name, set_name)), "task": deg.name,
                "params": deg.params}
    return _cached_per_image(out_csv, settings, lambda: evaluate_network(
        DegradedInput(deg.factor), deg, set_path, out_csv=out_csv, data_root=plan.kw["data_root"],
        seed=plan.first_seed, limit=plan.bench.eval_limit, perceptual=plan.bench.perceptual,
        jod_display=plan.jod_display, jod_model=jod_model))


def run_benchmark(task: str, losses: list[str], preset: str, out_dir: str | Path, *, from_scratch: bool = False,
                  seed: int = 0, seeds: int = 1, iterations: int | None = None, data_root: Path | None = None,
                  progress: bool | None = None, jod_display: str = DEFAULT_JOD_DISPLAY, params: dict | None = None,
                  train_set: str | None = None, eval_sets: dict[str, str] | None = None,
                  on_start: Callable[[], None] | None = None) -> dict:
    """Pretrain, fine-tune each loss with ``seeds`` seeds, evaluate and write the report; returns its numbers.

    Fine-tune ``i`` of every loss uses seed ``seed + i`` (its patch order); the pretraining and
    the evaluation inputs use ``seed``. ``iterations`` overrides the preset's fine-tuning steps.
    Rerunning into the same ``out_dir`` reuses finished runs and resumes unfinished ones
    from their checkpoints, so a crash loses at most ``checkpoint_every`` iterations.
    ``params``: the task's degradation parameters; ``train_set``: a named set, folder or
    ``DEGRADED_DIR:CLEAN_DIR`` to train on; ``eval_sets``: ``{name: set}`` to evaluate on instead of the task's.
    """
    plan = _plan(task, losses, preset, out_dir, from_scratch=from_scratch, seed=seed, seeds=seeds,
                 iterations=iterations, data_root=data_root, progress=progress, jod_display=jod_display,
                 params=params, train_set=train_set, eval_sets=eval_sets)
    # Built once for every evaluation below; it also refuses an unknown display before any training.
    jod_model = cvvdp_model(jod_display) if plan.bench.perceptual else None
    if on_start is not None:
        on_start()  # every argument is checked: the work starts
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    init = _pretrained(plan)
    # One process (run_benchmark is not for torchrun: spread runs with run_one): every run returns its model.
    models = {loss: [m for s in plan.seeds if (m := _fine_tune(plan, loss, s, init)) is not None]
              for loss in plan.losses}
    return _report(plan, models, jod_model, missing=[])


def run_one(task: str, loss: str, preset: str, out_dir: str | Path, *, run_seed: int, first_seed: int = 0,
            from_scratch: bool = False, iterations: int | None = None, data_root: Path | None = None,
            progress: bool | None = None, jod_display: str = DEFAULT_JOD_DISPLAY, params: dict | None = None,
            train_set: str | None = None, eval_sets: dict[str, str] | None = None,
            on_start: Callable[[], None] | None = None) -> Path | None:
    """One fine-tune of a benchmark (``--only``), evaluated; the pretraining is shared through a lock.

    ``loss`` ``"pretrain"`` runs only the L1 pretraining (a first job that the others can wait for).
    Runs share nothing but ``out_dir``, so many can run at once, on one machine or many.
    """
    if run_seed < first_seed:
        raise InvalidInputError(f"seed: the run's seed {run_seed} is below --base-seed {first_seed}")
    specs = [] if loss == "pretrain" else [loss]
    plan = _plan(task, specs, preset, out_dir, from_scratch=from_scratch, seed=first_seed,
                 seeds=run_seed - first_seed + 1, iterations=iterations, data_root=data_root, progress=progress,
                 jod_display=jod_display,
                 params=params, train_set=train_set, eval_sets=eval_sets)
    rank, world = launched_rank()
    jod_model = cvvdp_model(jod_display) if plan.bench.perceptual and specs and rank == 0 else None
    if on_start is not None and rank == 0:
        on_start()
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    if world > 1:
        # Under torchrun every rank takes part in the training, so ranks cannot queue on the pretraining lock.
        init = _pretrained(plan, train=False)
        if init is None and not from_scratch:
            raise InvalidInputError(f"--only: under torchrun the pretraining must exist first; run "
                                    f"'mdfloss benchmark --only pretrain' into '{plan.out_dir}' before this job")
    else:
        init = _pretrained(plan)
    if not specs:
        return init
    model = _fine_tune(plan, plan.losses[0], run_seed, init)
    if rank != 0 or model is None:
        return None  # rank 0 alone evaluates and writes
    _evaluate_run(plan, _eval_sets(plan), model, plan.losses[0], run_seed, jod_model)
    return model


def report_only(task: str, losses: list[str], preset: str, out_dir: str | Path, *, from_scratch: bool = False,
                seed: int = 0, seeds: int = 1, iterations: int | None = None, data_root: Path | None = None,
                jod_display: str = DEFAULT_JOD_DISPLAY, params: dict | None = None, train_set: str | None = None,
                eval_sets: dict[str, str] | None = None,
                on_start: Callable[[], None] | None = None) -> tuple[dict, list[str]]:
    """The report from the runs that are finished (evaluating any not yet evaluated; training nothing).

    Returns the report's numbers and the runs left out (unfinished, or whose seed is not finished for every
    loss: differences are paired over seeds). Refuses when no seed is finished in every loss that has a run.
    """
    plan = _plan(task, losses, preset, out_dir, from_scratch=from_scratch, seed=seed, seeds=seeds,
                 iterations=iterations, data_root=data_root, progress=False, jod_display=jod_display,
                 params=params, train_set=train_set, eval_sets=eval_sets)
    done = {loss: {s: _finished(plan, loss, s) for s in plan.seeds} for loss in plan.losses}
    missing = [f"{loss} (seed {s})" for loss, runs in done.items() for s, m in runs.items() if m is None]
    common = [s for s in plan.seeds if all(done[loss][s] for loss in plan.losses if any(done[loss].values()))]
    usable = [loss for loss in plan.losses if any(done[loss].values())]
    if len(usable) < 1 or not common:
        raise InvalidInputError(f"--report-only: no seed of {', '.join(plan.losses)} is finished in every loss "
                                f"in '{plan.out_dir}'; missing: {', '.join(missing)}")
    missing += [f"{loss} (seed {s}: left out, not finished for every loss)" for loss in usable
                for s in plan.seeds if s not in common and done[loss][s]]
    plan.seeds = common
    jod_model = cvvdp_model(jod_display) if plan.bench.perceptual else None
    if on_start is not None:
        on_start()
    models = {loss: [m for s in common if (m := done[loss][s]) is not None] for loss in usable}  # all finished
    return _report(plan, models, jod_model, missing), missing
