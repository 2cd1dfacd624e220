"""How task-specific is a loss? Sensitivity and specificity per critic and for the loss as used.

For each loss, probe and mode (see :mod:`mdfloss.analysis.specificity` for the definitions):

- probe ``degradation``: the task's degraded input at full size (SISR: ×4 down and back up, bicubic);
- probe ``residual``: the output of a restoration network (``--restorer``, the benchmark's L1-pretrained
  network of the task) on that input: the error a loss must weigh while fine-tuning it;
- ``specificity`` = the loss's sensitivity / the ``--control`` loss's (trained on another task), paired over
  the same images and noise draws. 1.0 = no more task-specific than a critic that never saw the task.

Variants: ``raw`` (the critics' features as the published loss uses them), ``normalize`` (unit length over
channels, as LPIPS; the control is normalised too), ``calibrated`` (the file's calibrated taps; the control
stays raw), ``tap=head|body|tail`` (one feature tap alone, in the loss and the control). Geometric means over
images with 95 % intervals.

    python benchmarks/critic_specificity.py --task jpeg --control sisr --losses jpeg,published-jpeg \\
        --restorer runs/cpu_jpeg/pretrain_l1/model.pt --data DATA/LIVE1 --images 10 --out table.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from mdfloss.analysis.artefacts import task_artefact
from mdfloss.analysis.specificity import finest, geo_mean, probe, sensitivities, specificity
from mdfloss.common.imageio import image_files, read_image
from mdfloss.loss.assets import resolve_loss_path
from mdfloss.loss.weights import load_loss_file

VARIANTS = ("raw", "normalize", "calibrated", "tap=head", "tap=body", "tap=tail")


def load_images(files: list[Path], crop: int) -> list[torch.Tensor]:
    """Each image as RGB, centre-cropped to ``crop`` px (0: whole)."""
    images = []
    for f in files:
        img = read_image(f)
        if img.shape[1] == 1:
            img = img.expand(-1, 3, -1, -1)
        h, w = img.shape[-2:]
        c = min(crop, h, w) if crop else None
        if c:
            img = img[..., (h - c) // 2 : (h - c) // 2 + c, (w - c) // 2 : (w - c) // 2 + c]
        images.append(img.contiguous())
    return images


def rows_for(name: str, control, variant: str, probes: dict, modes: list[str], cache: dict) -> list[str]:
    weights = load_loss_file(resolve_loss_path(name))
    if variant == "calibrated" and weights.calibration is None:
        return []
    kw = {"normalize": variant == "normalize", "calibrated": variant == "calibrated"}
    taps = [variant[4:]] if variant.startswith("tap=") else None  # one feature tap alone, in loss and control
    out = []
    for probe_name, pairs in probes.items():
        for mode in modes:
            s = sensitivities(weights, mode, pairs, taps=taps, **kw)
            key = (probe_name, mode, kw["normalize"], variant if taps else "")  # the control's, once per setting
            if key not in cache:
                cache[key] = sensitivities(control, mode, pairs, normalize=kw["normalize"], calibrated=False, taps=taps)
            c = cache[key]
            spec = specificity(s, c)
            per = " ".join(f"{geo_mean(s.log_critics[:, k]).value:.2f}" for k in range(s.log_critics.shape[1]))
            out.append(f"| {name} | {variant} | {probe_name} | {mode} | {geo_mean(finest(s))} | {geo_mean(s.log_loss)} "
                       f"| {spec['finest']} | {spec['loss']} | {per} |")
            print(out[-1], flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--losses", required=True, help="shipped names or loss files, comma-separated")
    ap.add_argument("--control", required=True, help="a loss trained on another task (name or file)")
    ap.add_argument("--task", required=True, choices=["sisr", "denoise", "jpeg"])
    ap.add_argument("--param", action="append", default=[], help="KEY=VALUE of the degradation (scale, sigma, quality)")
    ap.add_argument("--restorer", help="a train-restorer model.pt of the task: adds the 'residual' probe")
    ap.add_argument("--data", type=Path, required=True, help="a folder of images Phase 1 never saw")
    ap.add_argument("--images", type=int, default=10)
    ap.add_argument("--crop", type=int, default=256, help="centre crop of each image, px (0: whole images)")
    ap.add_argument("--modes", default="pyramid,reference")
    ap.add_argument("--variants", default="raw", help=f"comma-separated, of {', '.join(VARIANTS)}")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="also write the table here (markdown)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    files = image_files(args.data)[: args.images]
    if len(files) < 2:
        sys.exit(f"--data: need at least 2 images in {args.data}")
    params = {k: int(v) for k, _, v in (p.partition("=") for p in args.param)}
    images = load_images(files, args.crop)
    probes = {"degradation": probe(task_artefact(args.task, params), images, args.seed)}
    if args.restorer:
        probes["residual"] = probe(task_artefact(args.task, restorer=args.restorer), images, args.seed)
    control = load_loss_file(resolve_loss_path(args.control))
    head = [f"{args.crop}-px centre crops of {len(files)} images of {args.data.name}; task {args.task} {params or ''}; "
            f"control {args.control}; torch {torch.__version__}, CPU {torch.backends.cpu.get_cpu_capability()}", "",
            "| loss | variant | probe | mode | sensitivity, finest critic | sensitivity, loss | specificity, finest "
            "| specificity, loss | sensitivity per critic, coarsest → finest |", "|---|---|---|---|---|---|---|---|---|"]
    print("\n".join(head), flush=True)
    t0 = time.perf_counter()
    cache: dict = {}
    rows = [r for name in args.losses.split(",") for v in args.variants.split(",")
            for r in rows_for(name, control, v, probes, args.modes.split(","), cache)]
    tail = f"\n{time.perf_counter() - t0:.0f} s"
    print(tail)
    if args.out:
        args.out.write_text("\n".join(head + rows) + "\n" + tail + "\n")


if __name__ == "__main__":
    main()
