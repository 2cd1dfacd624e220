"""``mdfloss calibrate``: fit a loss's calibrated taps on its own training images."""

from __future__ import annotations

import click

from mdfloss.loss.critic_layout import MODES


@click.command()
@click.argument("loss")
@click.option("--out", required=True, type=click.Path(), help="Calibrated loss file to write (.safetensors).")
@click.option("--image", type=click.Path(), multiple=True,
              help="The loss's training image(s), checked by hash [default: the bundled photo, if trained on it].")
@click.option("--restorer", type=click.Path(dir_okay=False), default=None,
              help="A train-restorer model.pt of the task: calibrate on its output (the residual) instead of the "
                   "degraded input. Needed for a loss trained with --restorer.")
@click.option("--scale", type=int, default=4, show_default=True, help="sisr: the SR factor of the artefact.")
@click.option("--draws", type=int, default=4, show_default=True, help="Artefact and noise draws per image.")
@click.option("--mode", type=click.Choice(MODES), default="pyramid", show_default=True,
              help="The view the weights are fitted on (use the mode you train with).")
@click.option("--method", type=click.Choice(["ratio", "likelihood"]), default="ratio", show_default=True,
              help="ratio: w = a/b; likelihood: w = max(0, 1/b - 1/a), a and b a channel's response to the "
                   "artefact and to equal-MSE noise (docs/phase1.md).")
@click.option("--force", is_flag=True, help="Overwrite OUT.")
def calibrate(loss, out, image, restorer, scale, draws, mode, method, force):
    """Weigh each critic channel by how much more it responds to the task's artefact than to noise.

    The weights are fitted on LOSS's own training images (never on evaluation images) and stored in OUT,
    which the loss then uses by default (MDFLoss(calibrated=False) turns them off).
    """
    from mdfloss.analysis.artefacts import loss_artefact
    from mdfloss.analysis.calibrate import calibrate as fit
    from mdfloss.analysis.calibrate import training_images
    from mdfloss.common.files import check_output_path
    from mdfloss.loss.assets import resolve_loss_path
    from mdfloss.loss.weights import load_loss_file, save_loss_file

    out = check_output_path(out, force=force, argument="out")
    weights = load_loss_file(resolve_loss_path(loss))
    artefact, desc = loss_artefact(weights.metadata, restorer, scale)
    images, names = training_images(weights.metadata, image)
    calibrated = fit(weights, artefact, images, draws=draws, mode=mode, method=method,
                     description={**desc, "images": names})
    save_loss_file(out, calibrated)
    click.echo(f"wrote {out}: calibrated taps of {len(weights.critics)} critics on {', '.join(names)} "
               f"against {desc['artefact']} ({method}, {mode} mode)")
