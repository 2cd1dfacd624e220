"""``mdfloss restore``: a trained network applied to your images."""

from __future__ import annotations

import click


@click.command("restore")
@click.option("--model", "model_path", required=True, type=click.Path(dir_okay=False),
              help="A train-restorer model.pt, or a network file that spandrel recognises (the [spandrel] extra).")
@click.option("--input", "inputs", required=True, type=click.Path(), help="An image file or a folder of images.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the restored images (NAME.png for each input NAME.*).")
@click.option("--tile", type=int, default=256, show_default=True,
              help="Input pixels per tile side, the memory bound (0: whole images).")
@click.option("--overlap", type=int, default=32, show_default=True,
              help="Context pixels around each tile; at least the network's receptive radius for seamless output.")
@click.option("--bits", type=click.Choice(["8", "16"]), default="8", show_default=True, help="PNG bit depth.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N].")
@click.option("--force", is_flag=True, help="Overwrite restored images already in --out.")
def restore(model_path, inputs, out_dir, tile, overlap, bits, device, force):
    """Restore an image or a folder of images of any size (tiled, with overlap), as PNGs."""
    from mdfloss.restoration.restore import restore_files

    report = restore_files(model_path, inputs, out_dir, tile=tile, overlap=overlap, device=device, force=force,
                           bits=int(bits))
    n = len(report.written)
    click.echo(f"wrote {n} image{'s' * (n != 1)} to {out_dir} in {report.seconds:.1f} s "
               f"({n / report.seconds:.2f} images/s, {report.megapixels_out / report.seconds:.2f} output megapixels/s)")
