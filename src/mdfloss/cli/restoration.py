"""``mdfloss train-restorer``, ``mdfloss evaluate`` and ``mdfloss benchmark``: restoration networks."""

from __future__ import annotations

import click

from mdfloss.cli.options import config_option, parse_named_sets, parse_params
from mdfloss.common.errors import InvalidInputError
from mdfloss.restoration.bench_presets import BENCH_PRESETS
from mdfloss.restoration.perceptual import DEFAULT_JOD_DISPLAY
from mdfloss.restoration.presets import PRESETS

TASK_HELP = "sisr, denoise, jpeg, or a plug-in as package.module:function (see mdfloss.tasks)."
PARAM_HELP = "KEY=VALUE: the task's parameter (scale, sigma on 0-255, quality, or a plug-in's; JSON values)."
PAIRS_HELP = "DEGRADED_DIR:CLEAN_DIR: train on real degradations, matched by file name (instead of --train-set)."


def _train_source(train_set: str | None, pairs: str | None) -> str | None:
    if pairs is None:
        return train_set
    if train_set is not None:
        raise InvalidInputError("--pairs/--train-set: give one; --pairs is the training set")
    from mdfloss.restoration.data import split_pairs

    if split_pairs(pairs) is None:
        raise InvalidInputError(f"--pairs: expected DEGRADED_DIR:CLEAN_DIR with two existing folders, got {pairs!r}")
    return pairs


@click.command("train-restorer")
@config_option
@click.option("--task", required=True, help=TASK_HELP)
@click.option("--param", "params", multiple=True, help=PARAM_HELP)
@click.option("--loss", "loss_spec", required=True, help="e.g. l1, msssim, mdf:jpeg@pyramid, l1+0.1*mdf:jpeg")
@click.option("--preset", type=click.Choice(list(PRESETS["sisr"])), default="smoke", show_default=True,
              help="smoke: a few iterations that check the pipeline (not a trained network); cpu: the benchmark's "
                   "L1 pretraining on 2 cores (minutes); gpu: paper-like sizes on one GPU.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--init", type=click.Path(dir_okay=False), default=None,
              help="Fine-tune from a train-restorer model.pt, or from another project's weight file that spandrel "
                   "recognises (SwinIR, ESRGAN, Real-ESRGAN, ...; the [spandrel] extra).")
@click.option("--resume", is_flag=True)
@click.option("--force", is_flag=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--iterations", type=int, default=None, help="Override the preset's iterations.")
@click.option("--batch", type=int, default=None, help="Override the preset's global batch.")
@click.option("--lr", type=float, default=None, help="Override the preset's learning rate (Adam).")
@click.option("--patch", type=int, default=None, help="Override the preset's training patch size (HR pixels).")
@click.option("--arch", default=None, metavar="edsr|srresnet|dncnn|spandrel:NAME",
              help="The network family (SR tasks: edsr, srresnet; same-size tasks: dncnn), or any architecture "
                   "spandrel can build from its defaults, trained from scratch (spandrel:SPAN, spandrel:Compact; "
                   "the [spandrel] extra) [the preset's].")
@click.option("--width", type=int, default=None, help="Channels of the network's hidden layers [the preset's].")
@click.option("--depth", type=int, default=None, help="Residual blocks (edsr, srresnet) or layers (dncnn).")
@click.option("--data-root", type=click.Path(file_okay=False), default=None, help="Folder of the named sets.")
@click.option("--train-set", default=None, help="Named set or folder to train on [BSDS500_train].")
@click.option("--pairs", default=None, help=PAIRS_HELP)
@click.option("--val-set", default=None, help="Named set, folder or DEGRADED_DIR:CLEAN_DIR to validate on.")
@click.option("--checkpoint-every", type=int, default=100, show_default=True)
@click.option("--tensorboard", is_flag=True,
              help="Also log losses, validation metrics and a restored image to OUT/tensorboard (the extra).")
def train_restorer_cmd(task, params, loss_spec, preset, out_dir, init, resume, force, seed, device, iterations, batch,
                       lr, patch, arch, width, depth, data_root, train_set, pairs, val_set, checkpoint_every,
                       tensorboard):
    """Train a restoration network with any loss (runs under torchrun for DDP)."""
    from pathlib import Path

    from mdfloss.restoration.losses.spec import build_loss
    from mdfloss.restoration.presets import network_options, restorer_preset
    from mdfloss.restoration.train import train_restorer

    p = restorer_preset(task, preset, params=parse_params(params), iterations=iterations, batch=batch,
                        train_set=_train_source(train_set, pairs), val_set=val_set)
    p = network_options(p, task, lr=lr, patch=patch, arch=arch, width=width, depth=depth)
    criterion = build_loss(loss_spec, task=task)
    smoke = " (a check that the pipeline runs, not a trained network: use --preset cpu or gpu)" * (preset == "smoke")
    first_line = (f"train-restorer: preset {preset}, {p.iterations} iterations of {p.batch} x {p.patch}-px patches, "
                  f"{p.model['arch']}{smoke}")
    path = train_restorer(task, criterion, out_dir, p, init=init, resume=resume, force=force, seed=seed,
                          device=device, data_root=Path(data_root) if data_root else None,
                          checkpoint_every=checkpoint_every, tensorboard=tensorboard,
                          on_start=lambda: click.echo(first_line, err=True))
    if path is not None:
        click.echo(f"wrote {path}")


@click.command()
@click.option("--model", "model_path", type=click.Path(),
              help="model.pt from train-restorer, or a spandrel-recognised weight file with --task (with --set).")
@click.option("--set", "set_name", help="Named set (Set5, BSD100, ...), a folder, or DEGRADED_DIR:CLEAN_DIR.")
@click.option("--reference", type=click.Path(), default=None,
              help="Folder of reference images: score --restored folders without a model.")
@click.option("--restored", multiple=True, metavar="[NAME=]DIR",
              help="Folder of restorations matched to --reference by file name; repeat to compare several.")
@click.option("--border", type=int, default=0, show_default=True,
              help="With --reference: pixels cropped from every side before scoring (the SR scale, as BasicSR).")
@click.option("--task", default=None,
              help="Check the model was trained for this task (the task of a weight file from another project).")
@click.option("--out", "out_csv", type=click.Path(dir_okay=False), default=None,
              help="CSV: a row per image, then the means.")
@click.option("--data-root", type=click.Path(file_okay=False), default=None)
@click.option("--limit", type=int, default=None, help="Only the first N images.")
@click.option("--jod-display", default=DEFAULT_JOD_DISPLAY, show_default=True,
              help="ColorVideoVDP display model for the JOD metric.")
@click.option("--no-perceptual", is_flag=True, help="Only PSNR and SSIM (skip JOD, FLIP, HaarPSI, MDSI).")
def evaluate_cmd(model_path, set_name, reference, restored, border, task, out_csv, data_root, limit, jod_display,
                 no_perceptual):
    """PSNR/SSIM (RGB and Y, BasicSR border crop), JOD, FLIP, HaarPSI and MDSI of a trained network on a set,
    or of folders of restorations you already have (--reference and --restored)."""
    from pathlib import Path

    if reference is not None or restored:
        _score_folders(reference, restored, border, model_path, set_name, out_csv, jod_display, no_perceptual)
        return
    if model_path is None or set_name is None:
        raise InvalidInputError("--model/--set: give both (a network and the set to score it on), or score folders "
                                "with --reference DIR --restored DIR")
    from mdfloss.restoration.evaluate import DegradedInput, evaluate_network, restorer_and_task

    jod_model = None
    if not no_perceptual:
        from mdfloss.restoration.perceptual import cvvdp_model

        jod_model = cvvdp_model(jod_display)  # refuses an unknown display before any work
    kw = dict(data_root=Path(data_root) if data_root else None, limit=limit, perceptual=not no_perceptual,
              jod_display=jod_display, jod_model=jod_model)
    model, deg = restorer_and_task(model_path, task)
    means = evaluate_network(model, deg, set_name, out_csv=out_csv, **kw)
    # the degraded input scored the same way: a restorer that makes things worse shows at a glance
    inputs = evaluate_network(DegradedInput(deg.factor), deg, set_name, **kw)
    click.echo(f"{'':>9}  {'model':>9}  {'input':>9}  model − input  (input: the degraded image, no restoration)")
    for k, v in means.items():
        click.echo(f"{k:>9}: {v:.4f}  {inputs[k]:>9.4f}  {v - inputs[k]:+.4f}")


def _score_folders(reference, restored, border, model_path, set_name, out_csv, jod_display, no_perceptual) -> None:
    from pathlib import Path

    from mdfloss.restoration.score_folders import folder_csv_path, score_folders

    if model_path is not None or set_name is not None:
        raise InvalidInputError("--reference/--restored: score folders or a --model on a --set, not both")
    if reference is None or not restored:
        raise InvalidInputError("--reference/--restored: give the reference folder and at least one --restored folder")
    folders = {}
    for item in restored:
        name, sep, folder = item.partition("=")
        if not sep:
            name, folder = Path(item).name or item, item
        if not name.replace("-", "_").replace(".", "_").isidentifier():
            raise InvalidInputError(f"--restored: name folders as NAME=DIR with letters, digits, '-', '_' or '.', "
                                    f"got {item!r}")
        if name in folders:
            raise InvalidInputError(f"--restored: the name {name!r} is given twice; name them as NAME=DIR")
        if not Path(folder).is_dir():
            raise InvalidInputError(f"--restored {name}: '{folder}' is not a folder of images")
        folders[name] = folder
    if not Path(reference).is_dir():
        raise InvalidInputError(f"--reference: '{reference}' is not a folder of images; give the folder of references")
    scores = score_folders(reference, folders, border=border, perceptual=not no_perceptual, jod_display=jod_display,
                           out_csv=out_csv)
    if len(folders) == 1:
        for k, v in next(iter(scores.means.values())).items():
            click.echo(f"{k:>9}: {v:.4f}")
    else:  # on the terminal, bold is marked with a star rather than Markdown's literal **
        click.echo("\n".join(line.replace("**", "*") for line in scores.report()))
    if out_csv is not None and len(folders) > 1:
        written = ", ".join(folder_csv_path(out_csv, n, len(folders)).name for n in folders)
        click.echo(f"wrote {written} (one CSV per folder) and {Path(out_csv).stem}.md (the table above) beside "
                   f"{out_csv}", err=True)


def _check_benchmark_options(seeds: int, iterations: int | None, only: str | None, report_only: bool,
                             base_seed: int | None) -> None:
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


@click.command()
@config_option
@click.option("--task", required=True, help=TASK_HELP)
@click.option("--param", "params", multiple=True, help=PARAM_HELP)
@click.option("--losses", default="l1,l2,ssim,msssim,mdf", show_default=True,
              help="Comma-separated loss specs; 'mdf' is the task's shipped loss, 'mdf@pyramid' in pyramid mode.")
@click.option("--preset", type=click.Choice(list(BENCH_PRESETS)), default="smoke", show_default=True,
              help="smoke: a few steps on 2 images per set, to check that everything runs (names no winner); "
                   "screen: a quick sweep on 20 images of one set; cpu: the 2-core protocol; gpu: paper-like sizes.")
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
@click.option("--train-set", default=None, help="Named set or folder to train on [the task's, BSDS500_train].")
@click.option("--pairs", default=None, help=PAIRS_HELP)
@click.option("--eval-set", "eval_sets", multiple=True, metavar="NAME[=DIR]",
              help="Evaluate on this set instead of the task's; repeat for several. DIR may be DEGRADED_DIR:CLEAN_DIR.")
def benchmark(task, params, losses, preset, out_dir, from_scratch, seed, seeds, iterations, data_root, jod_display,
              only, base_seed, report_only, train_set, pairs, eval_sets):
    """Pretrain with L1, fine-tune with each loss, evaluate, and write a report.

    To spread a benchmark over processes or machines, run each fine-tune with --only SPEC --seed S (into the
    same --out), then --report-only with the full --losses and --seeds.
    """
    from pathlib import Path

    from mdfloss.restoration.benchmark import report_only as write_report_only
    from mdfloss.restoration.benchmark import run_benchmark, run_one

    _check_benchmark_options(seeds, iterations, only, report_only, base_seed)
    root = Path(data_root) if data_root else None
    data = dict(params=parse_params(params), train_set=_train_source(train_set, pairs),
                eval_sets=parse_named_sets(eval_sets))
    from mdfloss.tasks import get_task

    get_task(task, data["params"])  # an unknown task or parameter is refused before anything else
    bench = BENCH_PRESETS[preset]
    note = " (a check that everything runs: its report names no winner; use --preset cpu for results)"
    first_line = (f"benchmark: preset {preset}, {iterations or bench.finetune_iterations} fine-tuning steps per "
                  f"loss{note * bench.smoke}")
    data["on_start"] = lambda: click.echo(first_line, err=True)  # once every argument has been checked
    if only is not None:
        path = run_one(task, only, preset, out_dir, run_seed=seed, first_seed=base_seed or 0,
                       from_scratch=from_scratch, iterations=iterations, data_root=root, jod_display=jod_display,
                       **data)
        if path is not None:  # None on the other ranks of a torchrun job
            click.echo(f"wrote {path}" + ("" if only == "pretrain" else "; when every run is done: --report-only"))
        return
    specs = [s for s in losses.split(",") if s.strip()]
    if report_only:
        _, missing = write_report_only(task, specs, preset, out_dir, from_scratch=from_scratch, seed=seed,
                                       seeds=seeds, iterations=iterations, data_root=root, jod_display=jod_display,
                                       **data)
        for run in missing:
            click.echo(f"missing: {run}")
    else:
        run_benchmark(task, specs, preset, out_dir, from_scratch=from_scratch, seed=seed, seeds=seeds,
                      iterations=iterations, data_root=root, jod_display=jod_display, **data)
    click.echo(f"wrote {Path(out_dir) / 'results.md'}")
