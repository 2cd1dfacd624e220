"""``mdfloss train``: Phase 1 from the command line."""

from __future__ import annotations

import click

from mdfloss.cli.options import parse_params
from mdfloss.common.errors import InvalidInputError
from mdfloss.phase1.presets import PRESETS


def _range_or_number(text: str | None, name: str, cast=float):
    """'25' -> 25.0; '5-30' or '5,30' -> [5.0, 30.0]."""
    if text is None:
        return None
    parts = text.replace(",", "-").split("-") if not text.startswith("-") else [text]
    try:
        vals = [cast(p) for p in parts if p != ""]
    except ValueError:
        raise InvalidInputError(f"--{name}: expected a number or MIN-MAX, got {text!r}") from None
    if len(vals) not in (1, 2):
        raise InvalidInputError(f"--{name}: expected a number or MIN-MAX, got {text!r}")
    return vals[0] if len(vals) == 1 else vals


def _params(sigma: str | None, quality: str | None, extra: tuple[str, ...]) -> dict:
    """The task's parameters in the units every command uses (sigma on the 0-255 scale); ``--sigma`` and
    ``--quality`` are short for ``--param sigma=`` and ``--param quality=``."""
    params: dict = {}
    if sigma is not None:
        params["sigma"] = _range_or_number(sigma, "sigma")
    if quality is not None:
        params["quality"] = _range_or_number(quality, "quality", int)
    extra_params = parse_params(extra)
    both = sorted(set(params) & set(extra_params))
    if both:
        raise InvalidInputError(f"--param {both[0]}: given twice (also as --{both[0]}); give one of them")
    return {**params, **extra_params}


@click.command()
@click.option("--task", required=True, help="sisr, denoise, jpeg, a registered name, or package.module:function.")
@click.option("--image", type=click.Path(), multiple=True,
              help="Training image or folder; repeat for several (default: the bundled CC0 photo).")
@click.option("--preset", type=click.Choice(list(PRESETS)), default="fast", show_default=True)
@click.option("--out", required=True, type=click.Path(), help="Loss file to write (.safetensors).")
@click.option("--workdir", type=click.Path(), default=None, help="Checkpoints and log.jsonl [default: OUT.work].")
@click.option("--resume", is_flag=True, help="Continue from the newest good checkpoint in the workdir.")
@click.option("--force", is_flag=True, help="Overwrite OUT and discard an earlier run in the workdir.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N].")
@click.option("--sigma", default=None,
              help="denoise: noise sigma on the 0-255 scale, or MIN-MAX for blind denoising [25].")
@click.option("--quality", default=None, help="jpeg: quality 1-100, or MIN-MAX [10].")
@click.option("--param", "extra", multiple=True,
              help="KEY=VALUE of the task (JSON values), as every command takes them: sigma=25 (0-255 scale), "
                   "quality=10, [5, 30] for a range, or a plug-in's own parameters.")
@click.option("--restorer", type=click.Path(dir_okay=False), default=None,
              help="A train-restorer model.pt: the distortion becomes 'degrade as TASK does, then run this network'.")
@click.option("--iterations", type=int, default=None, help="Override the preset's iterations per scale.")
@click.option("--degraded-negatives", type=float, default=None,
              help="Also show the critics the real image degraded as the generator's input is, as a fake, with "
                   "this weight (0 = off, SinGAN's critic).")
@click.option("--feature-specificity", type=float, default=None,
              help="Weight of a term that makes the critics' loss taps move more for the task's artefact than for "
                   "white noise of the same MSE (0 = off; experimental, see docs/specificity.md).")
@click.option("--descent-alignment", type=float, default=None,
              help="Weight of a term that makes a descent step on the loss taps' distance, from between the real "
                   "image and its artefact, point back to the real image (0 = off; experimental, see "
                   "docs/specificity.md).")
@click.option("--specificity-cap", type=float, default=None,
              help="With --feature-specificity: stop asking once the taps weigh the artefact this many times "
                   "equal-MSE noise (0 = never stop).")
@click.option("--calibrate-taps", type=click.Choice(["ratio", "likelihood"]), default=None,
              help="Fit calibrated taps on the training images against the task's artefact (as mdfloss calibrate).")
@click.option("--checkpoint-every", type=int, default=50, show_default=True)
@click.option("--tensorboard", is_flag=True, help="Also log losses and images to WORKDIR/tensorboard (the extra).")
def train(task, image, preset, out, workdir, resume, force, seed, device, sigma, quality, extra, restorer,
          iterations, degraded_negatives, feature_specificity, descent_alignment, specificity_cap,
          calibrate_taps, checkpoint_every, tensorboard):
    """Train a task-specific MDF loss on one image or several (Phase 1)."""
    import dataclasses

    from mdfloss.phase1.presets import preset_config
    from mdfloss.phase1.trainer import train_loss

    config = preset_config(preset)
    if iterations is not None:
        if iterations < 1:
            raise InvalidInputError(f"--iterations: expected a positive integer, got {iterations}")
        config = dataclasses.replace(config, iterations=iterations)
    for name, value in (("degraded_negatives", degraded_negatives), ("feature_specificity", feature_specificity),
                        ("descent_alignment", descent_alignment), ("specificity_cap", specificity_cap)):
        if value is not None:
            config = dataclasses.replace(config, **{name: value})
    params, plugins = _params(sigma, quality, extra), None
    if restorer is not None:
        from mdfloss.restoration.degradations import TASKS

        if task not in TASKS:
            raise InvalidInputError(f"--restorer: needs --task sisr, denoise or jpeg, got {task!r}")
        if params:
            raise InvalidInputError("--restorer: the degradation is the restorer's own; "
                                    "drop --sigma, --quality and --param")
        from mdfloss.restoration.as_distortion import RestoredDistortion

        restored = RestoredDistortion(restorer, task)
        task, plugins = restored.name, {restored.name: restored}
    weights = train_loss(task, out=out, image=list(image) or None, preset=preset, config=config, plugins=plugins,
                         distortion_params=params, workdir=workdir,
                         resume=resume, force=force, seed=seed, device=device,
                         checkpoint_every=checkpoint_every, calibrate_taps=calibrate_taps, tensorboard=tensorboard)
    run = weights.metadata["training_run"]
    click.echo(f"wrote {out}: {len(weights.critics)} scales, task {task}, {run['seconds']:.0f} s on {run['device']}")
