"""``mdfloss train-restorer``, ``mdfloss evaluate`` and ``mdfloss benchmark``: restoration networks."""

from __future__ import annotations

import click

from mdfloss.restoration.benchmark import BENCH_PRESETS
from mdfloss.restoration.degradations import TASKS
from mdfloss.restoration.perceptual import DEFAULT_JOD_DISPLAY
from mdfloss.restoration.presets import PRESETS


@click.command("train-restorer")
@click.option("--task", type=click.Choice(TASKS), required=True)
@click.option("--loss", "loss_spec", required=True, help="e.g. l1, msssim, mdf:jpeg@pyramid, l1+0.1*mdf:jpeg")
@click.option("--preset", type=click.Choice(list(PRESETS["sisr"])), default="smoke", show_default=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--init", type=click.Path(dir_okay=False), default=None, help="Checkpoint to fine-tune from.")
@click.option("--resume", is_flag=True)
@click.option("--force", is_flag=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--iterations", type=int, default=None, help="Override the preset's iterations.")
@click.option("--batch", type=int, default=None, help="Override the preset's global batch.")
@click.option("--data-root", type=click.Path(file_okay=False), default=None, help="Folder of the named sets.")
@click.option("--train-set", default=None, help="Named set or folder to train on [BSDS500_train].")
@click.option("--val-set", default=None, help="Named set or folder to validate on.")
@click.option("--checkpoint-every", type=int, default=100, show_default=True)
def train_restorer_cmd(task, loss_spec, preset, out_dir, init, resume, force, seed, device, iterations, batch,
                       data_root, train_set, val_set, checkpoint_every):
    """Train a restoration network with any loss (runs under torchrun for DDP)."""
    from pathlib import Path

    from mdfloss.restoration.presets import restorer_preset
    from mdfloss.restoration.train import train_restorer

    p = restorer_preset(task, preset, iterations=iterations, batch=batch, train_set=train_set, val_set=val_set)
    path = train_restorer(task, loss_spec, out_dir, p, init=init, resume=resume, force=force, seed=seed,
                          device=device, data_root=Path(data_root) if data_root else None,
                          checkpoint_every=checkpoint_every)
    if path is not None:
        click.echo(f"wrote {path}")


@click.command()
@click.option("--model", "model_path", required=True, type=click.Path(), help="model.pt from train-restorer.")
@click.option("--set", "set_name", required=True, help="Named set (Set5, BSD100, ...) or a folder.")
@click.option("--task", type=click.Choice(TASKS), default=None, help="Check the model was trained for this task.")
@click.option("--out", "out_csv", type=click.Path(dir_okay=False), default=None, help="CSV: a row per image, then the means.")
@click.option("--data-root", type=click.Path(file_okay=False), default=None)
@click.option("--limit", type=int, default=None, help="Only the first N images.")
@click.option("--jod-display", default=DEFAULT_JOD_DISPLAY, show_default=True,
              help="ColorVideoVDP display model for the JOD metric.")
@click.option("--no-perceptual", is_flag=True, help="Only PSNR and SSIM (skip JOD, FLIP, HaarPSI, MDSI).")
def evaluate_cmd(model_path, set_name, task, out_csv, data_root, limit, jod_display, no_perceptual):
    """PSNR/SSIM (RGB and Y, BasicSR border crop), JOD, FLIP, HaarPSI and MDSI of a trained network."""
    from pathlib import Path

    from mdfloss.restoration.evaluate import evaluate

    jod_model = None
    if not no_perceptual:
        from mdfloss.restoration.perceptual import cvvdp_model

        jod_model = cvvdp_model(jod_display)  # refuses an unknown display before any work
    means = evaluate(model_path, set_name, out_csv=out_csv, data_root=Path(data_root) if data_root else None,
                     limit=limit, perceptual=not no_perceptual, jod_display=jod_display, task=task,
                     jod_model=jod_model)
    for k, v in means.items():
        click.echo(f"{k:>9}: {v:.4f}")


@click.command()
@click.option("--task", type=click.Choice(TASKS), required=True)
@click.option("--losses", default="l1,l2,ssim,msssim,mdf", show_default=True,
              help="Comma-separated loss specs; 'mdf' is the task's shipped loss, 'mdf@pyramid' in pyramid mode.")
@click.option("--preset", type=click.Choice(list(BENCH_PRESETS)), default="smoke",
              show_default=True, help="screen: a quick sweep on 20 images of one set, labelled as a screen.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--from-scratch", is_flag=True, help="Train each loss from scratch instead of fine-tuning.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--seeds", type=int, default=1, show_default=True,
              help="Fine-tune each loss with N seeds (SEED, SEED+1, ...) from the same pretrained network.")
@click.option("--iterations", type=int, default=None, help="Override the preset's fine-tuning iterations.")
@click.option("--data-root", type=click.Path(file_okay=False), default=None)
@click.option("--jod-display", default=DEFAULT_JOD_DISPLAY, show_default=True,
              help="ColorVideoVDP display model for the JOD metric.")
@click.option("--only", "only", default=None, metavar="SPEC",
              help="Run one fine-tune (loss SPEC, seed --seed) and evaluate it; 'pretrain': only the pretraining.")
@click.option("--base-seed", type=int, default=None,
              help="With --only: the first seed of the benchmark (default 0), which seeds the shared pretraining.")
@click.option("--report-only", is_flag=True, help="Write the report from the finished runs; train nothing.")
def benchmark(task, losses, preset, out_dir, from_scratch, seed, seeds, iterations, data_root, jod_display, only,
              base_seed, report_only):
    """Pretrain with L1, fine-tune with each loss, evaluate, and write a report.

    To spread a benchmark over processes or machines, run each fine-tune with --only SPEC --seed S (into the
    same --out), then --report-only with the full --losses and --seeds.
    """
    from pathlib import Path

    from mdfloss.common.errors import InvalidInputError
    from mdfloss.restoration.benchmark import report_only as write_report_only
    from mdfloss.restoration.benchmark import run_benchmark, run_one

    if seeds < 1:
        raise InvalidInputError(f"--seeds: expected a positive number of seeds, got {seeds}")
    if iterations is not None and iterations < 1:
        raise InvalidInputError(f"--iterations: expected a positive number of iterations, got {iterations}")
    if only is not None and report_only:
        raise InvalidInputError("--only/--report-only: give one; run the --only jobs first, then --report-only")
    if base_seed is not None and only is None:
        raise InvalidInputError("--base-seed: only with --only (elsewhere --seed is the first seed)")
    if only is not None and seeds != 1:
        raise InvalidInputError("--seeds: --only runs one seed (--seed S); start one --only job per seed")
    root = Path(data_root) if data_root else None
    if only is not None:
        path = run_one(task, only, preset, out_dir, run_seed=seed, first_seed=base_seed or 0,
                       from_scratch=from_scratch, iterations=iterations, data_root=root, jod_display=jod_display)
        if path is not None:  # None on the other ranks of a torchrun job
            click.echo(f"wrote {path}" + ("" if only == "pretrain" else "; when every run is done: --report-only"))
        return
    specs = [s for s in losses.split(",") if s.strip()]
    if report_only:
        _, missing = write_report_only(task, specs, preset, out_dir, from_scratch=from_scratch, seed=seed,
                                       seeds=seeds, iterations=iterations, data_root=root, jod_display=jod_display)
        for run in missing:
            click.echo(f"missing: {run}")
    else:
        run_benchmark(task, specs, preset, out_dir, from_scratch=from_scratch, seed=seed, seeds=seeds,
                      iterations=iterations, data_root=root, jod_display=jod_display)
    click.echo(f"wrote {Path(out_dir) / 'results.md'}")
