"""Does Phase 1 make the critics weigh their task's error more than the same critics with random weights, or than
random-weight VGG-type networks? Sensitivities side by side, and the trained/random ratio with an interval.

Sensitivity (mdfloss.analysis.specificity): how much more a loss weighs the task's error than white noise of the same
MSE, per image; geometric means over images with 95 % intervals. For each task:

- the trained critics (``--loss``), their finest critic and the loss as the benchmark's MDF mix uses it (pyramid
  mode, the finest scale);
- the same architecture with Phase 1's initial weights, one row per ``--random-seeds`` seed, and
  **trained / random**: the paired ratio of sensitivities, its log averaged over the random seeds per image;
- other losses by spec (``--specs``, e.g. random VGG19 and LPIPS), and trained / each of them.

Probes: ``degradation`` (the task's degraded input, full size) and, with ``--restorer``, ``residual`` (the error of
the benchmark's L1-pretrained network: what the loss weighs while fine-tuning it).

    python benchmarks/trained_vs_random.py --task sisr --loss sisr --restorer runs/peers_cpu_sisr/pretrain_l1/model.pt \\
        --data DATA/DIV2K_valid_HR --images 12 --out docs/results/feature-peers/sensitivity_sisr.md
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from mdfloss.analysis.artefacts import task_artefact
from mdfloss.analysis.specificity import finest, geo_mean, loss_sensitivities, probe, sensitivities
from mdfloss.common.imageio import image_files
from mdfloss.loss.assets import resolve_loss_path
from mdfloss.loss.random_critics import random_critics
from mdfloss.loss.weights import load_loss_file
from mdfloss.restoration.losses.spec import build_loss

from critic_specificity import load_images  # noqa: I001 - the sibling script, run from benchmarks/


def rows_for_probe(name: str, pairs, weights, seeds: list[int], specs: list[str]) -> list[str]:
    trained = sensitivities(weights, "pyramid", pairs)
    t_fin = finest(trained)
    rows = [f"| {name} | trained | {geo_mean(t_fin)} | {geo_mean(trained.log_loss)} | | |"]
    rand_fin, rand_loss = [], []
    for seed in seeds:
        r = sensitivities(random_critics(weights, seed), "pyramid", pairs)
        rand_fin.append(t_fin - finest(r))
        rand_loss.append(trained.log_loss - r.log_loss)
        rows.append(f"| {name} | random critics, seed {seed} | {geo_mean(finest(r))} | {geo_mean(r.log_loss)} "
                    f"| {geo_mean(t_fin - finest(r))} | {geo_mean(trained.log_loss - r.log_loss)} |")
    if seeds:
        # averaged over the random seeds per image first: the images are the independent samples
        rows.append(f"| {name} | **trained / random (mean of seeds)** | | | **{geo_mean(np.mean(rand_fin, axis=0))}** "
                    f"| **{geo_mean(np.mean(rand_loss, axis=0))}** |")
    for spec in specs:
        s = loss_sensitivities(build_loss(spec), pairs)
        rows.append(f"| {name} | `{spec}` | | {geo_mean(s)} | {geo_mean(t_fin - s)} | {geo_mean(trained.log_loss - s)} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", required=True, choices=["sisr", "denoise", "jpeg"])
    ap.add_argument("--loss", required=True, help="the trained critics: a shipped name or a loss file")
    ap.add_argument("--restorer", help="the benchmark's L1-pretrained model.pt: adds the 'residual' probe")
    ap.add_argument("--data", type=Path, required=True, help="a folder of images Phase 1 never saw")
    ap.add_argument("--images", type=int, default=12)
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--random-seeds", default="0,1,2")
    ap.add_argument("--specs", default="vgg:random=0,lpips:random=0,msswd,ffl")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    images = load_images(image_files(args.data)[: args.images], args.crop)
    probes = {"degradation": probe(task_artefact(args.task), images, args.seed)}
    if args.restorer:
        probes["residual"] = probe(task_artefact(args.task, restorer=args.restorer), images, args.seed)
    weights = load_loss_file(resolve_loss_path(args.loss))
    seeds = [int(s) for s in args.random_seeds.split(",") if s]
    specs = [s for s in args.specs.split(",") if s]
    t0 = time.perf_counter()
    lines = [f"{args.crop}-px centre crops of {len(images)} images of {args.data.name}; task {args.task}; trained "
             f"critics {args.loss}, pyramid mode; torch {torch.__version__}, CPU "
             f"{torch.backends.cpu.get_cpu_capability()}", ""]
    for probe_name, pairs in probes.items():
        lines += [f"### Probe: {probe_name}", "",
                  "| critics | weights | sensitivity, finest critic | sensitivity, loss | trained / this, finest "
                  "| trained / this, loss |", "|---|---|---|---|---|---|"]
        lines += rows_for_probe(args.loss, pairs, weights, seeds, specs)
        lines.append("")
    lines.append(f"{time.perf_counter() - t0:.0f} s")
    print("\n".join(lines))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
