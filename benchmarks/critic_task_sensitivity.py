"""Does each critic of a loss respond to its task's artefacts more than to noise of the same energy?

For every critic (scale) of each loss, on whole images of an evaluation set:

- **sensitivity**: the critic's MDF distance between the clean image and its degraded copy, divided by its
  distance between the clean image and the clean image plus white Gaussian noise of the *same* MSE, and then
  by the same ratio of plain MSE on the image the critic sees (1 at full resolution; in pyramid mode the
  resizing alone favours the artefact, whose error is less white than the noise); geometric mean over images.
  Above 1, the critic's features weigh the task's artefact more than L2 does, which is what a task-specific
  loss is for; about 1 or below, the critic is no more task-specific than L2 on what it sees. (For denoising
  the artefact *is* white noise, so the ratio is about 1 by construction there.)
- **paired AUC**: the fraction of images whose clean copy gets a higher mean critic score than its degraded
  copy (0.5 = chance; far from 0.5 in either direction = separates, a WGAN critic's sign is not anchored).

Both are measured as the loss is used: ``pyramid`` shows critic k the image resized to its training scale,
``reference`` shows every critic the full-resolution image.

    python benchmarks/critic_task_sensitivity.py --losses jpeg,published-jpeg --task jpeg --param quality=10,30
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import torch

from mdfloss import MDFLoss
from mdfloss.common.imageio import image_files, read_image
from mdfloss.common.resize import resize, scale_size
from mdfloss.loss.assets import resolve_loss_path
from mdfloss.loss.weights import load_loss_file
from mdfloss.restoration.degradations import Degradation

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "LIVE1"


def degraded(task: str, img: torch.Tensor, params: dict, seed: int) -> torch.Tensor:
    """The restoration task's input at full resolution (SISR: the LR image upsampled back, bicubic)."""
    deg = Degradation(task, **params)
    img = deg.crop_multiple(img)
    out = deg(img, torch.Generator().manual_seed(seed))
    if task == "sisr":
        out = resize(out, img.shape[-2:]).clamp(0, 1)
    return out


def critic_losses(weights, mode: str) -> list[MDFLoss]:
    """One single-critic loss per scale (0 = coarsest), built once and reused for every image."""
    return [MDFLoss(weights, mode=mode, scales=[k], reduction="none", check_range=False)
            for k in range(len(weights.critics))]


def per_critic(weights, fns: list[MDFLoss], mode: str, clean: torch.Tensor, bad: torch.Tensor,
               seed: int) -> list[tuple]:
    """[(scale, sensitivity ratio for this image, clean score > degraded score)] for one image."""
    factors = weights.metadata["scale_factors"]
    lo, hi = weights.metadata["input_range"]
    clean = clean[..., : bad.shape[-2], : bad.shape[-1]]
    mse = float(((bad - clean) ** 2).mean())
    # its own stream: for denoising, the artefact is white noise too, and must not be the same draw
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed + 1_000_003)) * math.sqrt(mse)
    noisy = clean + noise
    rows = []
    for k, fn in enumerate(fns):
        with torch.no_grad():
            d_task = float(fn(bad, clean)[0])
            d_noise = float(fn(noisy, clean)[0])
            view = (lambda x: resize(x, scale_size(*x.shape[-2:], factors[k]))) if mode == "pyramid" else (lambda x: x)
            score = [float(fn.critics[0](view(x) * (hi - lo) + lo)[-1].mean()) for x in (clean, bad)]
            mse_ratio = float(((view(bad) - view(clean)) ** 2).mean() / ((view(noisy) - view(clean)) ** 2).mean())
        rows.append((k, d_task / max(d_noise, 1e-30) / mse_ratio, score[0] > score[1]))
    return rows


def sensitivity(weights, mode: str, task: str, params: dict, images: list[torch.Tensor],
                seed: int) -> tuple[list[float], list[float]]:
    """(sensitivity per critic: geometric mean over images, paired AUC per critic); image i uses seed + i."""
    fns = critic_losses(weights, mode)
    table: dict[int, list] = {}
    for i, img in enumerate(images):
        bad = degraded(task, img, params, seed + i)
        for k, ratio, clean_higher in per_critic(weights, fns, mode, img, bad, seed + i):
            table.setdefault(k, []).append((ratio, clean_higher))
    sens = [math.exp(np.mean([math.log(r) for r, _ in table[k]])) for k in sorted(table)]
    aucs = [float(np.mean([c for _, c in table[k]])) for k in sorted(table)]
    return sens, aucs


def load_images(files: list[Path], crop: int) -> list[torch.Tensor]:
    """Each image as RGB, centre-cropped to ``crop`` px (0: whole), read once for every loss and setting."""
    images = []
    for f in files:
        img = read_image(f)
        if img.shape[1] == 1:
            img = img.expand(-1, 3, -1, -1)
        if crop:
            h, w = img.shape[-2:]
            c = min(crop, h, w)
            img = img[..., (h - c) // 2 : (h - c) // 2 + c, (w - c) // 2 : (w - c) // 2 + c]
        images.append(img)
    return images


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--losses", required=True, help="shipped names or loss files, comma-separated")
    ap.add_argument("--task", required=True, choices=["sisr", "denoise", "jpeg"])
    ap.add_argument("--param", default="", help="KEY=V1,V2,... of the degradation (quality, sigma, scale)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--images", type=int, default=10)
    ap.add_argument("--crop", type=int, default=256, help="centre crop of each image, px (0: whole images)")
    ap.add_argument("--modes", default="pyramid,reference")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(2)
    files = image_files(args.data)[: args.images]
    if not files:
        sys.exit(f"--data: no images in {args.data}")
    key, _, values = args.param.partition("=")
    settings = [{key: int(v)} for v in values.split(",")] if key else [{}]
    crop = f"{args.crop}-px centre crops of " if args.crop else ""
    print(f"{crop}{len(files)} images of {args.data.name}, task {args.task}; sensitivity = geometric mean over images "
          "of d(clean, degraded) / d(clean, clean + equal-MSE white noise), per critic (0 = coarsest)")
    print("| loss | degradation | mode | sensitivity per critic, coarsest → finest | paired AUC per critic |")
    print("|---|---|---|---|---|")
    images = load_images(files, args.crop)
    for loss in args.losses.split(","):
        weights = load_loss_file(resolve_loss_path(loss))
        for params in settings:
            for mode in args.modes.split(","):
                sens, aucs = sensitivity(weights, mode, args.task, params, images, args.seed)
                desc = ", ".join(f"{k}={v}" for k, v in params.items()) or "default"
                print(f"| {loss} | {desc} | {mode} | " + " ".join(f"{s:.2f}" for s in sens) + " | "
                      + " ".join(f"{a:.2f}" for a in aucs) + " |", flush=True)

if __name__ == "__main__":
    main()
