"""Command-line interface: ``mdfloss`` or ``python -m mdfloss``.

Every user mistake ends as one line on stderr and exit status 2; nothing is
written on failure.
"""

from __future__ import annotations

import json
import sys

import click

from .errors import MDFError

EXIT_USER_ERROR = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mdfloss")
def cli() -> None:
    """Train and use task-specific image reconstruction losses (MDF)."""


@cli.command()
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print the whole metadata as JSON.")
def info(file: str, as_json: bool) -> None:
    """Say what a loss file (or shipped loss name) holds."""
    from .assets import resolve_loss_path
    from .weights import load_loss_file

    path = resolve_loss_path(file)
    w = load_loss_file(path)
    meta = w.metadata
    if as_json:
        click.echo(json.dumps(meta, indent=2, sort_keys=True))
        return
    dist = meta.get("distortion") or {}
    img = meta.get("training_image") or {}
    rows = [
        ("file", str(path)),
        ("task", meta.get("task")),
        ("distortion", f"{dist.get('name')} {json.dumps(dist.get('params', {}))}" if dist else "not recorded"),
        ("scales", f"{len(w.critics)} (widths {', '.join(map(str, w.widths))}; 0 = coarsest)"),
        ("scale factors", ", ".join(f"{f:.3f}" for f in meta["scale_factors"])),
        ("default scales", meta.get("default_scales")),
        ("default taps", meta.get("default_taps")),
        ("input range", meta["input_range"]),
        ("training image", f"{img.get('name')} sha256 {img.get('sha256', '')[:16]}… {img.get('size')}" if img else "not recorded"),
        ("format version", meta["format_version"]),
        ("source", meta.get("source")),
        ("license", meta.get("license")),
    ]
    for k, v in rows:
        click.echo(f"{k:>15}: {v}")


@cli.command()
@click.argument("image_a", type=click.Path(dir_okay=True))
@click.argument("image_b", type=click.Path(dir_okay=True))
@click.option("--loss", "loss_name", default="sisr", show_default=True, help="Shipped loss name or loss file.")
@click.option("--mode", type=click.Choice(["reference", "pyramid"]), default="reference", show_default=True)
def compare(image_a: str, image_b: str, loss_name: str, mode: str) -> None:
    """Print the MDF loss between two images of the same size."""
    import torch

    from .errors import InvalidInputError
    from .imageio import read_image

    a = read_image(image_a, argument="IMAGE_A")
    b = read_image(image_b, argument="IMAGE_B")
    if a.shape != b.shape:
        raise InvalidInputError(
            f"IMAGE_A is {a.shape[-1]}x{a.shape[-2]} but IMAGE_B is {b.shape[-1]}x{b.shape[-2]}; "
            "the images must have the same size"
        )
    from .loss import MDFLoss

    loss = MDFLoss.load(loss_name, mode=mode)
    with torch.no_grad():
        value = float(loss(a, b))
    click.echo(f"{value:.6g}")


@cli.command("convert-reference")
@click.argument("src", type=click.Path(dir_okay=True))
@click.argument("dst", type=click.Path(dir_okay=True))
@click.option("--force", is_flag=True, help="Overwrite DST if it exists.")
def convert_reference_cmd(src: str, dst: str, force: bool) -> None:
    """Convert a published Ds_*.pth pickle into a safe loss file (nothing is unpickled unrestricted)."""
    from .convert import convert_reference
    from .fileio import check_output_path

    check_output_path(dst, force=force, argument="DST")
    w = convert_reference(src, dst)
    click.echo(f"wrote {dst}: {len(w.critics)} critics, task {w.metadata['task']}")


from . import train_cli  # noqa: E402  (commands register themselves on the group)
from .restoration import cli as restoration_cli  # noqa: E402

train_cli.register(cli)
restoration_cli.register(cli)
restoration_cli.register_evaluate(cli)
restoration_cli.register_benchmark(cli)


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="mdfloss", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.UsageError as exc:
        cmd = exc.ctx.command_path if exc.ctx else "mdfloss"
        click.echo(f"{cmd}: error: {exc.format_message()} (see '{cmd} --help')", err=True)
        return EXIT_USER_ERROR
    except click.ClickException as exc:
        click.echo(f"mdfloss: error: {exc.format_message()}", err=True)
        return EXIT_USER_ERROR
    except MDFError as exc:
        click.echo(f"mdfloss: error: {exc}", err=True)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
