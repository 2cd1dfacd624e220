"""``mdfloss info``, ``mdfloss compare`` and ``mdfloss convert-reference``: the loss and its files."""

from __future__ import annotations

import json

import click

from mdfloss.loss.critic_layout import MODES


@click.command()
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print the whole metadata as JSON.")
def info(file: str, as_json: bool) -> None:
    """Say what a loss file (or shipped loss name) holds."""
    from mdfloss.loss.assets import resolve_loss_path
    from mdfloss.loss.weights import load_loss_file

    path = resolve_loss_path(file)
    w = load_loss_file(path)
    meta = w.metadata
    if as_json:
        click.echo(json.dumps(meta, indent=2, sort_keys=True))
        return
    dist = meta.get("distortion") or {}
    rows = [
        ("file", str(path)),
        ("task", meta.get("task")),
        ("distortion", f"{dist.get('name')} {json.dumps(dist.get('params', {}))}" if dist else "not recorded"),
        ("scales", f"{len(w.critics)} (widths {', '.join(map(str, w.widths))}; 0 = coarsest)"),
        ("scale factors", ", ".join(f"{f:.3f}" for f in meta["scale_factors"])),
        ("default scales", meta.get("default_scales")),
        ("default taps", meta.get("default_taps")),
        ("input range", meta["input_range"]),
        ("training image", _images_line(meta.get("training_image"))),
        ("calibration", _calibration_line(w)),
        ("format version", meta["format_version"]),
        ("source", meta.get("source")),
        ("license", meta.get("license")),
    ]
    for k, v in rows:
        click.echo(f"{k:>15}: {v}")


def _images_line(images) -> str:
    """The training image, or each of several (a loss trained with --image A --image B records a list)."""
    if not images:
        return "not recorded"
    items = images if isinstance(images, list) else [images]
    text = "; ".join(f"{i.get('name')} sha256 {str(i.get('sha256', ''))[:16]}… {i.get('size')}" for i in items)
    return text if len(items) == 1 else f"{len(items)} images: {text}"


def _calibration_line(w) -> str:
    """What the calibrated taps were fitted on, and the spread of the finest critic's weights."""
    cal = w.metadata.get("calibration")
    if not cal or w.calibration is None:
        return "none"
    k = len(w.critics) - 1
    spread = ", ".join(f"{t} {float(w.calibration[f'{k}.{t}'].min()):.2f}-{float(w.calibration[f'{k}.{t}'].max()):.2f}"
                       for t in ("head", "body"))
    return (f"{cal.get('method')} weights against {cal.get('artefact')} on {', '.join(cal.get('images', []))} "
            f"({cal.get('mode')} mode, "
            f"{cal.get('draws')} draws); finest critic's weights: {spread}")


@click.command()
@click.argument("image_a", type=click.Path(dir_okay=True))
@click.argument("image_b", type=click.Path(dir_okay=True))
@click.option("--loss", "loss_name", default="sisr", show_default=True, help="Shipped loss name or loss file.")
@click.option("--mode", type=click.Choice(MODES), default="pyramid", show_default=True,
              help="pyramid: each critic at its own scale (the default); reference: as published.")
def compare(image_a: str, image_b: str, loss_name: str, mode: str) -> None:
    """Print the MDF loss between two images of the same size."""
    import torch

    from mdfloss.common.errors import InvalidInputError
    from mdfloss.common.imageio import read_image

    a = read_image(image_a, argument="IMAGE_A")
    b = read_image(image_b, argument="IMAGE_B")
    if a.shape != b.shape:
        raise InvalidInputError(
            f"IMAGE_A is {a.shape[-1]}x{a.shape[-2]} but IMAGE_B is {b.shape[-1]}x{b.shape[-2]}; "
            "the images must have the same size"
        )
    from mdfloss.loss.mdf import MDFLoss

    loss = MDFLoss.load(loss_name, mode=mode)
    with torch.no_grad():
        value = float(loss(a, b))
    click.echo(f"{value:.6g}")


@click.command("convert-reference")
@click.argument("src", type=click.Path(dir_okay=True))
@click.argument("dst", type=click.Path(dir_okay=True))
@click.option("--force", is_flag=True, help="Overwrite DST if it exists.")
def convert_reference_cmd(src: str, dst: str, force: bool) -> None:
    """Convert a published Ds_*.pth pickle into a safe loss file (nothing is unpickled unrestricted)."""
    from mdfloss.common.files import check_output_path
    from mdfloss.loss.convert import convert_reference

    check_output_path(dst, force=force, argument="DST")
    w = convert_reference(src, dst)
    click.echo(f"wrote {dst}: {len(w.critics)} critics, task {w.metadata['task']}")
