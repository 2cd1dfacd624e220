"""``train_loss``: the Phase-1 run loop, with checkpoints, resume, a JSONL log and progress bars."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch

from mdfloss._version import __version__
from mdfloss.common.checkpoint import list_checkpoints, load_latest, save_checkpoint
from mdfloss.common.device import resolve_device
from mdfloss.common.errors import (
    InvalidInputError,
    OutputPathError,
    TrainingDivergedError,
)
from mdfloss.common.extras import require
from mdfloss.common.files import check_output_path
from mdfloss.common.imageio import IMAGE_SUFFIXES, image_files, read_image
from mdfloss.common.progress import WorkClock, note, progress_bar
from mdfloss.common.resize import resize, scale_size
from mdfloss.common.runs import JsonlLog, derive_generator, prepare_workdir
from mdfloss.common.tensorboard import TensorBoard
from mdfloss.loss.assets import bundled_image_path
from mdfloss.loss.weights import LossWeights, loss_metadata, save_loss_file
from mdfloss.phase1 import steps
from mdfloss.phase1.config import OPTIONAL_TERMS
from mdfloss.phase1.distortions import Distortion, make_distortion
from mdfloss.phase1.nets import Critic, Generator
from mdfloss.phase1.presets import preset_config
from mdfloss.phase1.pyramid import Pyramid, build_pyramid, to_01
from mdfloss.tasks import Task

CHECKPOINT_FORMAT = "mdfloss-phase1-checkpoint"


#: Optional terms' values shown on the progress line (all of them go to log.jsonl).
_SHOWN_TERMS = {"specificity_term": "spec", "alignment_term": "align"}


def _fingerprint(config: steps.Phase1Config, distortion: Distortion, image_sha: str | list[str], seed: int) -> str:
    # Kept as it was in 0.1, so checkpoints written then still resume.
    blob = json.dumps([config.to_dict(), distortion.spec, image_sha, seed], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class _State:
    """A run in progress: finished scales, their critics, and where to start."""

    done: steps.Finished
    critics: list[Critic] = field(default_factory=list)
    scale: int = 0
    iteration: int = 0
    current: dict[str, Any] | None = None  # the unfinished scale's models and optimisers


def _payload(fingerprint: str, state: _State, k: int, iteration: int, models: steps.ScaleModels | None) -> dict:
    return {
        "format": CHECKPOINT_FORMAT, "version": 1, "fingerprint": fingerprint, "scale": k, "iteration": iteration,
        "z_rec": None if state.done.z_rec is None else state.done.z_rec.cpu(),
        "finished": [{"generator": g.state_dict(), "critic": c.state_dict(), "amp": a}
                     for g, c, a in zip(state.done.generators, state.critics, state.done.noise_amps)],
        "current": None if models is None else {
            "generator": models.generator.state_dict(), "critic": models.critic.state_dict(),
            "opt_g": models.opt_g.state_dict(), "opt_d": models.opt_d.state_dict()},
    }


def _output_weights(state: _State, pyr: Pyramid, distortion: Distortion, task: str, image_info: dict | list[dict],
                    config: steps.Phase1Config, seed: int, preset: str | None, seconds: float,
                    device: torch.device) -> LossWeights:
    states = [{k: v.detach().cpu() for k, v in c.state_dict().items()} for c in state.critics]
    meta = loss_metadata(
        [c.width for c in state.critics], input_range=[-1.0, 1.0], scale_factors=list(pyr.factors), task=task,
        source=f"trained by mdfloss {__version__} (Phase 1)",
        license="MIT (mdfloss); trained on the image(s) named in training_image",
        scale_sizes=[list(r.shape[-2:]) for r in pyr.reals], distortion=distortion.spec, training_image=image_info,
        training_config={**config.to_dict(), "seed": seed, "preset": preset},
        training_run={"seconds": round(seconds, 1), "device": str(device), "torch": torch.__version__,
                      "mdfloss": __version__},
        published=False,
    )
    return LossWeights(states, meta)


def _read_one(path: Path, config: steps.Phase1Config) -> tuple[torch.Tensor, dict]:
    img01 = read_image(path, argument="image")
    h, w = img01.shape[-2:]
    if min(h, w) < config.min_size:
        raise InvalidInputError(
            f"image: '{path.name}' is {w}x{h} px, smaller than the pyramid's coarsest size ({config.min_size} px on "
            "the shorter side); use a larger image"
        )
    return img01, {"name": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "size": [w, h]}


def _image_paths(image: str | Path | Sequence[str | Path] | None) -> list[Path]:
    if image is None:
        return [bundled_image_path()]
    items = [image] if isinstance(image, (str, Path)) else list(image)
    paths: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            found = image_files(item)
            if not found:
                raise InvalidInputError(f"image: folder '{item}' holds no images ({', '.join(IMAGE_SUFFIXES)})")
            paths += found
        else:
            paths.append(item)
    if not paths:
        raise InvalidInputError("image: expected at least one training image")
    return paths


def _read_training_images(image, config: steps.Phase1Config) -> tuple[torch.Tensor, dict | list[dict]]:
    """One image: (1, 3, H, W) as it is. Several: each fitted to ``max_size`` as the pyramid would, then
    centre-cropped to their common size and stacked as a batch (K, 3, H, W): every Phase-1 step works
    on batches, so the critics learn from all K images at once."""
    paths = _image_paths(image)
    read = [_read_one(p, config) for p in paths]
    if len(read) == 1:
        return read[0]
    fitted = []
    for img, _ in read:
        h, w = img.shape[-2:]
        fitted.append(resize(img, scale_size(h, w, min(1.0, config.max_size / max(h, w)))).clamp(0, 1))
    ch, cw = min(f.shape[-2] for f in fitted), min(f.shape[-1] for f in fitted)
    if min(ch, cw) < config.min_size:
        raise InvalidInputError(f"image: the images' common crop is {cw}x{ch} px, smaller than the pyramid's "
                                f"coarsest size ({config.min_size} px); use images of similar shape")
    crops = [f[..., (f.shape[-2] - ch) // 2:(f.shape[-2] - ch) // 2 + ch,
               (f.shape[-1] - cw) // 2:(f.shape[-1] - cw) // 2 + cw] for f in fitted]
    return torch.cat(crops), [info for _, info in read]


def _calibration_artefact(task: str, distortion: Distortion, method: str | None):
    """The artefact calibrated taps are fitted against, checked before any training (None: no calibration)."""
    if method is None:
        return None
    from mdfloss.analysis.artefacts import distortion_artefact
    from mdfloss.analysis.calibrate import METHODS

    if method not in METHODS:
        raise InvalidInputError(f"calibrate_taps: expected one of {', '.join(METHODS)}, got {method!r}")
    return distortion_artefact(task, distortion)


def _restore(workdir: Path, fingerprint: str, state: _State, pyr: Pyramid, distortion: Distortion,
             config: steps.Phase1Config, seed: int, dev: torch.device, log: JsonlLog, show: bool | None) -> None:
    """Load the newest good checkpoint into ``state`` (nothing when there is none), and say which."""
    payload, skipped = load_latest(workdir)
    for p in skipped:
        log.write(event="skipped-corrupt-checkpoint", file=p.name)
    if payload is None:
        note(f"--resume: no checkpoint in '{workdir}' yet, so the run starts from the beginning", enabled=show)
        return
    if payload.get("format") != CHECKPOINT_FORMAT or payload.get("fingerprint") != fingerprint:
        raise OutputPathError(f"workdir: '{workdir}' holds a run with other settings (task, image, preset or "
                              "seed); use another --workdir or --force to start over")
    state.scale, state.iteration, state.current = payload["scale"], payload["iteration"], payload["current"]
    state.done.z_rec = payload["z_rec"].to(dev)
    for j, fin in enumerate(payload["finished"]):
        g, c = Generator(config.width(j)), Critic(config.width(j))
        g.load_state_dict(fin["generator"])
        c.load_state_dict(fin["critic"])
        rec_in = steps.reconstruction_input(j, pyr, state.done, distortion, seed)
        steps.finish_scale(g.to(dev), state.done, rec_in, fin["amp"])
        state.critics.append(c.to(dev).eval())
    log.write(event="resumed", scale=state.scale, iteration=state.iteration)
    note(f"resumed from the newest good checkpoint in '{workdir}': scale {state.scale + 1}/{len(pyr.reals)}, "
         f"iteration {state.iteration}", enabled=show)


def _scale_run(k: int, state: _State, pyr: Pyramid, distortion: Distortion, config: steps.Phase1Config,
               seed: int, dev: torch.device) -> tuple[steps.ScaleRun, int]:
    """Models of scale k (restored when the run stopped inside it) and the first iteration to run."""
    previous = (state.done.generators[k - 1], state.critics[k - 1]) if k > 0 else None
    models = steps.new_scale(k, config, previous, seed, dev)
    start = 0
    if k == state.scale and state.current is not None:
        for name in ("generator", "critic", "opt_g", "opt_d"):
            getattr(models, name).load_state_dict(state.current[name])
        start = state.iteration
    rec_in = steps.reconstruction_input(k, pyr, state.done, distortion, seed)
    amp = steps.noise_amplitude(k, pyr, state.done, config)
    return steps.ScaleRun(k, models, pyr, state.done, rec_in, amp, distortion, config, seed, dev), start


def _workdir(out: Path, workdir: str | Path | None, settings: dict, *, resume: bool, force: bool) -> Path:
    """The run's folder (default ``OUT.work``), checked against ``settings`` (see prepare_workdir)."""
    workdir = Path(workdir) if workdir is not None else out.with_name(out.name + ".work")
    if workdir.exists() and not workdir.is_dir():
        raise OutputPathError(f"workdir: '{workdir}' exists and is not a folder")
    try:
        prepare_workdir(workdir, settings, resume=resume, force=force,
                        has_checkpoints=bool(list_checkpoints(workdir)), clear=[workdir])
    except OSError as exc:
        raise OutputPathError(f"workdir: cannot create '{workdir}' ({exc.strerror})") from None
    return workdir


def _calibrated(weights: LossWeights, artefact, image, method: str, task: str) -> LossWeights:
    """``weights`` with calibrated taps fitted on the training images against the task's artefact."""
    from mdfloss.analysis.calibrate import calibrate

    paths = _image_paths(image)
    images = [read_image(p, argument="image").expand(-1, 3, -1, -1) for p in paths]
    return calibrate(weights, artefact, images, method=method,
                     description={"artefact": task, "images": [p.name for p in paths]})


def _diverged(exc: TrainingDivergedError, workdir: Path, log: JsonlLog) -> TrainingDivergedError:
    """Log a diverged run and say where its last good checkpoint is (no loss file is written)."""
    newest = list_checkpoints(workdir)
    log.write(event="diverged", message=str(exc), last_good_checkpoint=newest[0].name if newest else None)
    return TrainingDivergedError(f"{exc}. No loss file was written; the last good checkpoint is kept in '{workdir}'")


def _check_run_options(config: steps.Phase1Config, seed: int, checkpoint_every: int, tensorboard: bool) -> None:
    """The seed, the optional terms' weights, the checkpoint interval and the TensorBoard extra, each refused in
    one line before anything is written."""
    if tensorboard:
        require("tensorboard", "tensorboard", "TensorBoard logging")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InvalidInputError(f"seed: expected a non-negative integer, got {seed!r}")
    for name in OPTIONAL_TERMS:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
            kind = "ratio" if name == "specificity_cap" else "weight"
            raise InvalidInputError(f"{name}: expected a {kind} >= 0 (0 = off), got {value!r}")
    if config.specificity_cap and not config.feature_specificity:
        raise InvalidInputError("specificity_cap: caps the feature-specificity term; give feature_specificity > 0 "
                                "too, or leave the cap at 0")
    if not isinstance(checkpoint_every, int) or checkpoint_every < 1:
        raise InvalidInputError(f"checkpoint_every: expected a positive integer, got {checkpoint_every!r}")


def train_loss(
    task: str | Task = "sisr",
    *,
    out: str | Path,
    image: str | Path | Sequence[str | Path] | None = None,
    preset: str | None = "fast",
    config: steps.Phase1Config | None = None,
    distortion_params: dict[str, Any] | None = None,
    plugins: Mapping[str, Callable[..., torch.Tensor]] | None = None,
    workdir: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    seed: int = 0,
    device: str | torch.device = "auto",
    checkpoint_every: int = 50,
    progress: bool | None = None,
    stop_after: int | None = None,
    calibrate_taps: str | None = None,
    tensorboard: bool = False,
) -> LossWeights | None:
    """Train a task-specific MDF loss on one image and write it to ``out``.

    Args:
        task: ``sisr``, ``denoise``, ``jpeg``, a name in ``plugins`` or registered with
            :func:`mdfloss.tasks.register_task`, ``"module:function"``, or a :class:`mdfloss.tasks.Task`
            (``get_task("denoise", {"sigma": 25})``: its parameters in the units every command uses).
        out: the loss file to write (atomically, only once the run has finished).
        image: the training image, a list of images or a folder; default the bundled CC0 photograph.
            Several images are fitted to the pyramid, centre-cropped to a common size and trained on
            as one batch; ``training_image`` in the metadata then lists them all.
        preset: ``fast`` (<= 10 min on 2 CPU cores), ``standard`` (<= 30 min), ``paper``
            (SinGAN's defaults, for a GPU). Ignored when ``config`` is given.
        distortion_params: the task's parameters in the units of :mod:`mdfloss.tasks`, e.g. ``{"sigma": 25}``
            (noise on the 0-255 scale, as everywhere) or ``{"quality": [5, 30]}`` (a range: a random value per
            image). Not with a ``Task``.
        plugins: ``{name: tensor -> tensor}`` distortions that ``task`` may name.
        workdir: checkpoints, ``run.json`` and ``log.jsonl``; default ``<out>.work``.
        resume: continue from the newest good checkpoint in ``workdir``.
        force: overwrite ``out`` and discard an earlier run in ``workdir``.
        seed: all randomness derives from it; a resumed run ends with the same weights.
        checkpoint_every: iterations between checkpoints (one is also written after each scale).
        progress: True: progress bars; False: none; None (default): bars on a terminal, else a plain line
            every few iterations (under Slurm or nohup).
        stop_after: stop (without writing ``out``) after this many iterations in total;
            for tests of resume.
        calibrate_taps: ``"ratio"`` or ``"likelihood"``: fit calibrated taps on the training images against
            the task's artefact before writing ``out`` (:mod:`mdfloss.analysis.calibrate`); default none.
        tensorboard: also log the losses of every scale, and each scale's generator input (the task's
            artefact) and reconstruction, to ``workdir/tensorboard`` (the ``[tensorboard]`` extra).

    Returns:
        The trained :class:`LossWeights`, or None when stopped by ``stop_after``.

    Example:
        >>> from mdfloss import train_loss
        >>> weights = train_loss("jpeg", out="jpeg.safetensors", preset="fast")  # doctest: +SKIP
    """
    config = config or preset_config(preset or "fast")
    if isinstance(task, Task) and distortion_params:
        raise InvalidInputError("distortion_params: a Task carries its parameters; give one or the other")
    distortion = make_distortion(task, distortion_params, plugins)
    task = distortion.name
    out = check_output_path(out, force=force, argument="out")
    _check_run_options(config, seed, checkpoint_every, tensorboard)
    dev = resolve_device(device)
    artefact = _calibration_artefact(task, distortion, calibrate_taps)
    img01, image_info = _read_training_images(image, config)
    shas = image_info["sha256"] if isinstance(image_info, dict) else [i["sha256"] for i in image_info]
    fingerprint = _fingerprint(config, distortion, shas, seed)
    settings = {"task": task, "distortion": distortion.spec, "config": config.to_dict(),
                "image_sha256": shas, "seed": seed}
    workdir = _workdir(out, workdir, settings, resume=resume, force=force)
    pyr = build_pyramid(img01, config, dev)
    state = _State(steps.Finished(z_rec=steps.randn(pyr.reals[0].shape, derive_generator(seed, "z-rec"), dev)))
    tb = TensorBoard(workdir / "tensorboard" if tensorboard else None)
    with JsonlLog(workdir / "log.jsonl", mirror=tb.log_event) as log, contextlib.closing(tb):
        if resume:
            _restore(workdir, fingerprint, state, pyr, distortion, config, seed, dev, log, progress)
        log.write(event="start", task=task, distortion=distortion.spec, scales=len(pyr.reals),
                  sizes=[list(r.shape[-2:]) for r in pyr.reals], config=config.to_dict(), seed=seed, device=str(dev))
        t_start = time.perf_counter()
        try:
            if not _run_scales(state, pyr, distortion, config, seed, dev, workdir, fingerprint, log,
                               checkpoint_every, progress, stop_after, tb):
                return None
        except TrainingDivergedError as exc:
            raise _diverged(exc, workdir, log) from None
        weights = _output_weights(state, pyr, distortion, task, image_info, config, seed, preset,
                                  time.perf_counter() - t_start, dev)
        if artefact is not None:
            weights = _calibrated(weights, artefact, image, str(calibrate_taps), task)
            log.write(event="calibrated", method=calibrate_taps)
        save_loss_file(out, weights)
        for ckpt in list_checkpoints(workdir):  # the loss file is written: the checkpoints are no longer needed
            ckpt.unlink(missing_ok=True)
        log.write(event="done", out=str(out), seconds=round(time.perf_counter() - t_start, 2))
    return weights


def _run_scales(state: _State, pyr: Pyramid, distortion: Distortion, config: steps.Phase1Config, seed: int,
                dev: torch.device, workdir: Path, fingerprint: str, log: JsonlLog, checkpoint_every: int,
                show: bool | None, stop_after: int | None, tb: TensorBoard) -> bool:
    """Train the remaining scales; False when stopped early by ``stop_after``."""
    num_scales, total_done = len(pyr.reals), 0
    step_counter = state.scale * (config.iterations + 1) + state.iteration  # checkpoint numbers
    pixels = [r.shape[-2] * r.shape[-1] for r in pyr.reals]  # an iteration's cost grows with its scale's pixels
    work = WorkClock((config.iterations - state.iteration) * pixels[state.scale]
                     + config.iterations * sum(pixels[state.scale + 1:]))
    work_done = 0
    for k in range(state.scale, num_scales):
        run, it0 = _scale_run(k, state, pyr, distortion, config, seed, dev)
        size = "x".join(map(str, pyr.reals[k].shape[-2:]))
        t_scale = time.perf_counter()
        with progress_bar(config.iterations, initial=it0, desc=f"scale {k + 1}/{num_scales} ({size})",
                          enabled=show, leave=False) as bar:
            for it in range(it0, config.iterations):
                stats = steps.train_iteration(run, it)
                bar.update(1)
                work_done += pixels[k]
                bar.set_postfix(d=f"{stats['loss_d']:.3f}", g=f"{stats['loss_g']:.3f}", rec=f"{stats['rec']:.4f}",
                                **{short: f"{stats[key]:.3f}" for key, short in _SHOWN_TERMS.items() if key in stats},
                                run_eta=work.eta(work_done))
                if it % 10 == 0 or it == config.iterations - 1:
                    log.write(event="iteration", scale=k, iteration=it, **stats)
                total_done += 1
                step_counter += 1
                if (it + 1) % checkpoint_every == 0 and it + 1 < config.iterations:
                    save_checkpoint(workdir, step_counter, _payload(fingerprint, state, k, it + 1, run.models))
                if stop_after is not None and total_done >= stop_after:
                    return False
        steps.finish_scale(run.models.generator, state.done, run.rec_in, run.amp)
        tb.image(f"scale{k}/generator_input", to_01(run.rec_in[0][0]), config.iterations)
        tb.image(f"scale{k}/reconstruction", to_01(state.done.recs[-1][0].detach()), config.iterations)
        state.critics.append(run.models.critic.eval())
        step_counter += 1
        save_checkpoint(workdir, step_counter, _payload(fingerprint, state, k + 1, 0, None))
        log.write(event="scale-done", scale=k, size=list(pyr.reals[k].shape[-2:]), width=config.width(k),
                  noise_amp=run.amp, seconds=round(time.perf_counter() - t_scale, 2))
    return True
