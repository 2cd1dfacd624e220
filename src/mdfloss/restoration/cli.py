"""``mdfloss train-restorer`` and ``mdfloss evaluate``."""

from __future__ import annotations

import click

from .degradations import TASKS


def register(cli: click.Group) -> None:
    @cli.command("train-restorer")
    @click.option("--task", type=click.Choice(TASKS), required=True)
    @click.option("--loss", "loss_spec", required=True, help="e.g. l1, msssim, mdf:jpeg@pyramid, l1+0.1*mdf:jpeg")
    @click.option("--preset", type=click.Choice(["smoke", "cpu", "gpu"]), default="smoke", show_default=True)
    @click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
    @click.option("--init", type=click.Path(dir_okay=False), default=None, help="Checkpoint to fine-tune from.")
    @click.option("--resume", is_flag=True)
    @click.option("--force", is_flag=True)
    @click.option("--seed", type=int, default=0, show_default=True)
    @click.option("--device", default="auto", show_default=True)
    @click.option("--iterations", type=int, default=None, help="Override the preset's iterations.")
    @click.option("--batch", type=int, default=None, help="Override the preset's global batch.")
    @click.option("--data-root", type=click.Path(file_okay=False), default=None, help="Folder of the named sets.")
    @click.option("--checkpoint-every", type=int, default=100, show_default=True)
    def train_restorer_cmd(task, loss_spec, preset, out_dir, init, resume, force, seed, device, iterations, batch,
                           data_root, checkpoint_every):
        """Train a restoration network with any loss (runs under torchrun for DDP)."""
        from pathlib import Path

        from .presets import restorer_preset
        from .train import train_restorer

        p = restorer_preset(task, preset, iterations=iterations, batch=batch)
        path = train_restorer(task, loss_spec, out_dir, p, init=init, resume=resume, force=force, seed=seed,
                              device=device, data_root=Path(data_root) if data_root else None,
                              checkpoint_every=checkpoint_every)
        if path is not None:
            click.echo(f"wrote {path}")
