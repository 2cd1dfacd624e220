"""``train_loss``: run Phase 1 with checkpoints, resume, a JSONL log and progress bars."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from . import __version__, phase1
from .assets import bundled_image_path
from .checkpoint import list_checkpoints, load_latest, save_checkpoint
from .distortions import Distortion, make_distortion
from .errors import InvalidInputError, OutputPathError, TrainingDivergedError
from .fileio import check_output_path
from .imageio import read_image
from .nets import Critic, Generator
from .presets import preset_config
from .weights import FORMAT_NAME, FORMAT_VERSION, LossWeights, architecture_of, save_loss_file

CHECKPOINT_FORMAT = "mdfloss-phase1-checkpoint"


def resolve_device(device: str | torch.device) -> torch.device:
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidInputError("device: 'cuda' was asked for but no CUDA device is available; use --device cpu")
    if device != "cpu" and not device.startswith("cuda"):
        raise InvalidInputError(f"device: expected auto, cpu or cuda[:N], got {device!r}")
    return torch.device(device)


class _Log:
    """Append-only JSONL log; one flushed line per record."""

    def __init__(self, path: Path) -> None:
        self._f = open(path, "a", encoding="utf-8")

    def write(self, **record: Any) -> None:
        self._f.write(json.dumps(record) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def _fingerprint(config: phase1.Phase1Config, distortion: Distortion, image_sha: str, seed: int) -> str:
    blob = json.dumps([config.to_dict(), distortion.spec, image_sha, seed], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _payload(fingerprint: str, k: int, iteration: int, done: phase1.Finished, critics: list[Critic],
             models: phase1.ScaleModels | None) -> dict[str, Any]:
    return {
        "format": CHECKPOINT_FORMAT,
        "version": 1,
        "fingerprint": fingerprint,
        "scale": k,
        "iteration": iteration,
        "z_rec": done.z_rec.cpu(),
        "finished": [
            {"generator": g.state_dict(), "critic": c.state_dict(), "amp": a}
            for g, c, a in zip(done.generators, critics, done.noise_amps)
        ],
        "current": None if models is None else {
            "generator": models.generator.state_dict(), "critic": models.critic.state_dict(),
            "opt_g": models.opt_g.state_dict(), "opt_d": models.opt_d.state_dict(),
        },
    }


def _output_weights(critics: list[Critic], pyr: phase1.Pyramid, distortion: Distortion, task: str,
                    image_info: dict[str, Any], config: phase1.Phase1Config, seed: int, preset: str | None,
                    seconds: float, device: torch.device) -> LossWeights:
    states = [{k: v.detach().cpu() for k, v in c.state_dict().items()} for c in critics]
    widths = [c.width for c in critics]
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "architecture": architecture_of(widths),
        "input_range": [-1.0, 1.0],
        "scale_factors": list(pyr.factors),
        "scale_sizes": [list(r.shape[-2:]) for r in pyr.reals],
        "default_scales": list(range(len(critics))),
        "default_taps": ["head", "body", "tail"],
        "task": task,
        "distortion": distortion.spec,
        "training_image": image_info,
        "training_config": {**config.to_dict(), "seed": seed, "preset": preset},
        "training_run": {"seconds": round(seconds, 1), "device": str(device), "torch": torch.__version__,
                         "mdfloss": __version__},
        "source": f"trained by mdfloss {__version__} (Phase 1)",
        "published": False,
        "license": "MIT (mdfloss); trained on the image named in training_image",
    }
    return LossWeights(states, meta)


def train_loss(
    task: str = "sisr",
    *,
    out: str | Path,
    image: str | Path | None = None,
    preset: str | None = "fast",
    config: phase1.Phase1Config | None = None,
    distortion_params: dict[str, Any] | None = None,
    workdir: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    seed: int = 0,
    device: str | torch.device = "auto",
    checkpoint_every: int = 50,
    progress: bool | None = None,
    stop_after: int | None = None,
) -> LossWeights | None:
    """Train a task-specific MDF loss on one image and write it to ``out``.

    Args:
        task: ``sisr``, ``denoise``, ``jpeg``, a registered name, or ``"module:function"``.
        out: the loss file to write (atomically, only once the run has finished).
        image: the training image; default the bundled CC0 photograph.
        preset: ``fast`` (<= 10 min on 2 CPU cores), ``standard`` (<= 30 min), ``paper``
            (SinGAN's defaults, for a GPU). Ignored when ``config`` is given.
        distortion_params: e.g. ``{"sigma": 25/255}`` or ``{"quality": [5, 30]}``.
        workdir: checkpoints and ``log.jsonl``; default ``<out>.work``.
        resume: continue from the newest good checkpoint in ``workdir``.
        force: overwrite ``out`` and discard an earlier run in ``workdir``.
        seed: all randomness derives from it; a resumed run ends with the same weights.
        checkpoint_every: iterations between checkpoints (one is also written after each scale).
        progress: show progress bars (default: when stderr is a terminal).
        stop_after: stop (without writing ``out``) after this many iterations in total;
            for tests of resume.

    Returns:
        The trained :class:`LossWeights`, or None when stopped by ``stop_after``.
    """
    if config is None:
        config = preset_config(preset or "fast")
    distortion = make_distortion(task, distortion_params)
    out = check_output_path(out, force=force, argument="out")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InvalidInputError(f"seed: expected a non-negative integer, got {seed!r}")
    if not isinstance(checkpoint_every, int) or checkpoint_every < 1:
        raise InvalidInputError(f"checkpoint_every: expected a positive integer, got {checkpoint_every!r}")
    dev = resolve_device(device)
    image_path = Path(image) if image is not None else bundled_image_path()
    img01 = read_image(image_path, argument="image")
    h, w = img01.shape[-2:]
    if min(h, w) < config.min_size:
        raise InvalidInputError(
            f"image: {w}x{h} px is smaller than the pyramid's coarsest size ({config.min_size} px on the "
            "shorter side); use a larger image"
        )
    image_sha = hashlib.sha256(image_path.read_bytes()).hexdigest()
    image_info = {"name": image_path.name, "sha256": image_sha, "size": [w, h]}
    fingerprint = _fingerprint(config, distortion, image_sha, seed)

    workdir = Path(workdir) if workdir is not None else out.with_name(out.name + ".work")
    if workdir.exists() and not workdir.is_dir():
        raise OutputPathError(f"workdir: '{workdir}' exists and is not a folder")
    if list_checkpoints(workdir) and not resume:
        if not force:
            raise OutputPathError(
                f"workdir: '{workdir}' holds checkpoints of an earlier run; pass --resume to continue it "
                "or --force to start over"
            )
        shutil.rmtree(workdir)
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"workdir: cannot create '{workdir}' ({exc.strerror})") from None

    pyr = phase1.build_pyramid(img01, config, dev)
    num_scales = len(pyr.reals)
    done = phase1.Finished(z_rec=phase1.randn(pyr.reals[0].shape, phase1.derive_generator(seed, "z-rec"), dev))
    critics: list[Critic] = []
    start_scale, start_it, current = 0, 0, None
    log = _Log(workdir / "log.jsonl")
    if resume:
        payload, skipped = load_latest(workdir)
        for p in skipped:
            log.write(event="skipped-corrupt-checkpoint", file=p.name)
        if payload is not None:
            if payload.get("format") != CHECKPOINT_FORMAT or payload.get("fingerprint") != fingerprint:
                log.close()
                raise OutputPathError(
                    f"workdir: '{workdir}' holds a run with other settings (task, image, preset or seed); "
                    "use another --workdir or --force to start over"
                )
            start_scale, start_it, current = payload["scale"], payload["iteration"], payload["current"]
            done.z_rec = payload["z_rec"].to(dev)
            for j, fin in enumerate(payload["finished"]):
                g, c = Generator(config.width(j)), Critic(config.width(j))
                g.load_state_dict(fin["generator"])
                c.load_state_dict(fin["critic"])
                rec_in = phase1.reconstruction_input(j, pyr, done, distortion, seed)
                phase1.finish_scale(g.to(dev), done, rec_in, fin["amp"])
                critics.append(c.to(dev).eval())
            log.write(event="resumed", scale=start_scale, iteration=start_it)
    log.write(event="start", task=task, distortion=distortion.spec, scales=num_scales,
              sizes=[list(r.shape[-2:]) for r in pyr.reals], config=config.to_dict(), seed=seed, device=str(dev))

    show = sys.stderr.isatty() if progress is None else progress
    t_start = time.perf_counter()
    total_done = 0
    step_counter = start_scale * (config.iterations + 1) + start_it
    try:
        for k in range(start_scale, num_scales):
            previous = (done.generators[k - 1], critics[k - 1]) if k > 0 else None
            models = phase1.new_scale(k, config, previous, seed, dev)
            it0 = 0
            if k == start_scale and current is not None:
                models.generator.load_state_dict(current["generator"])
                models.critic.load_state_dict(current["critic"])
                models.opt_g.load_state_dict(current["opt_g"])
                models.opt_d.load_state_dict(current["opt_d"])
                it0 = start_it
            rec_in = phase1.reconstruction_input(k, pyr, done, distortion, seed)
            amp = phase1.noise_amplitude(k, pyr, done, config)
            size = "x".join(map(str, pyr.reals[k].shape[-2:]))
            bar = tqdm(total=config.iterations, initial=it0, desc=f"scale {k + 1}/{num_scales} ({size})",
                       disable=not show, leave=False, unit="it")
            t_scale = time.perf_counter()
            for it in range(it0, config.iterations):
                stats = phase1.train_iteration(k, it, models, pyr, done, rec_in, amp, distortion, config, seed, dev)
                bar.update(1)
                bar.set_postfix(d=f"{stats['loss_d']:.3f}", g=f"{stats['loss_g']:.3f}", rec=f"{stats['rec']:.4f}")
                if it % 10 == 0 or it == config.iterations - 1:
                    log.write(event="iteration", scale=k, iteration=it, **stats)
                total_done += 1
                step_counter += 1
                if (it + 1) % checkpoint_every == 0 and it + 1 < config.iterations:
                    save_checkpoint(workdir, step_counter, _payload(fingerprint, k, it + 1, done, critics, models))
                if stop_after is not None and total_done >= stop_after:
                    bar.close()
                    return None
            bar.close()
            phase1.finish_scale(models.generator, done, rec_in, amp)
            critics.append(models.critic.eval())
            step_counter += 1
            save_checkpoint(workdir, step_counter, _payload(fingerprint, k + 1, 0, done, critics, None))
            log.write(event="scale-done", scale=k, size=list(pyr.reals[k].shape[-2:]), width=config.width(k),
                      noise_amp=amp, seconds=round(time.perf_counter() - t_scale, 2))
        weights = _output_weights(critics, pyr, distortion, task, image_info, config, seed, preset,
                                  time.perf_counter() - t_start, dev)
        save_loss_file(out, weights)
        log.write(event="done", out=str(out), seconds=round(time.perf_counter() - t_start, 2))
        return weights
    except TrainingDivergedError as exc:
        newest = list_checkpoints(workdir)
        log.write(event="diverged", message=str(exc), last_good_checkpoint=newest[0].name if newest else None)
        raise TrainingDivergedError(
            f"{exc}. No loss file was written; the last good checkpoint is kept in '{workdir}'"
        ) from None
    finally:
        log.close()

