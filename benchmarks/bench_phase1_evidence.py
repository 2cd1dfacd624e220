"""Evidence that a trained loss learned its task, on BSD100 images (none is the training image).

(a) AUC of the finest critic: how well its mean critic score separates clean patches
    from patches with the task's distortion (1.0 = perfect, 0.5 = chance, below 0.5 =
    separates with the sign reversed). "AUC" compares all clean with all distorted
    patches; "paired AUC" compares each patch with its own distorted copy, which
    removes the score's large dependence on image content.
(b) Direct pixel optimisation: start from uniform noise, minimise the loss to a
    96x96 target crop with Adam (lr 0.1, 100 steps), report the PSNR reached.

    python benchmarks/bench_phase1_evidence.py --images 20 [--losses sisr,jpeg,...] [--modes pyramid,reference]

Each loss is evaluated on the distortion of its own task (metadata "task"); the
published SISR file is also the published denoising file, so it is listed for both.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from mdfloss import MDFLoss
from mdfloss.loss.assets import resolve_loss_path
from mdfloss.phase1.distortions import make_distortion
from mdfloss.common.imageio import IMAGE_SUFFIXES, read_image
from mdfloss.phase1.nets import Critic
from mdfloss.common.resize import resize
from mdfloss.loss.weights import load_loss_file

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "BSD100"
PUBLISHED_FOR = {"sisr": "published-sisr", "denoise": "published-sisr", "jpeg": "published-jpeg"}


def distort(task: str, img: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """The task's degradation of a whole image in [0, 1] (a loss trained on a restorer's output, task
    ``<task>_restored``, is judged on the task's plain degradation)."""
    task = task.removesuffix("_restored")
    if task == "sisr":
        h, w = img.shape[-2:]
        small = resize(img, (h // 4, w // 4))
        return resize(small, (h // 4 * 4, w // 4 * 4)).clamp(0, 1)
    if task == "denoise":
        return make_distortion("denoise")(img, gen)
    if task == "jpeg":
        return make_distortion("jpeg")(img, gen)
    raise ValueError(task)


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(score(pos) > score(neg)), ties counted half (Mann-Whitney U / (n_pos n_neg))."""
    scores = np.concatenate([pos, neg])
    order = scores.argsort()
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for v in np.unique(scores):  # average ranks of ties
        idx = scores == v
        ranks[idx] = ranks[idx].mean()
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return float(u / (len(pos) * len(neg)))


def finest_critic(name_or_path: str) -> tuple[Critic, list[float]]:
    w = load_loss_file(resolve_loss_path(name_or_path))
    state = w.critics[-1]
    c = Critic(int(state["head.conv.weight"].shape[0]))
    c.load_state_dict(state, strict=False)
    return c.eval().requires_grad_(False), w.metadata["input_range"]


def images(folder: Path, n: int) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) < n:
        sys.exit(f"--data: {folder} has {len(files)} images, {n} needed")
    return files[:n]


def critic_auc(loss: str, task: str, files: list[Path], patch: int, per_image: int, seed: int) -> tuple[float, float]:
    """(AUC over all clean vs all distorted patches, paired AUC = P(clean > its distorted copy))."""
    critic, (lo, hi) = finest_critic(loss)
    rng = np.random.default_rng(seed)
    clean_s, dist_s = [], []
    for i, f in enumerate(files):
        img = read_image(f)
        bad = distort(task, img, torch.Generator().manual_seed(seed + i))
        h, w = bad.shape[-2:]
        for _ in range(per_image):
            y, x = int(rng.integers(0, h - patch)), int(rng.integers(0, w - patch))
            with torch.no_grad():
                for src, out in ((img, clean_s), (bad, dist_s)):
                    p = src[..., y : y + patch, x : x + patch] * (hi - lo) + lo
                    out.append(float(critic(p).mean()))
    c, d = np.array(clean_s), np.array(dist_s)
    return auc(c, d), float((c > d).mean() + 0.5 * (c == d).mean())


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return 10 * math.log10(1.0 / float(((a - b) ** 2).mean()))


def centre_crops(files: list[Path], crop: int) -> torch.Tensor:
    crops = []
    for f in files:
        img = read_image(f)
        h, w = img.shape[-2:]
        crops.append(img[..., (h - crop) // 2 : (h + crop) // 2, (w - crop) // 2 : (w + crop) // 2])
    return torch.cat(crops)


def starting_noise(target: torch.Tensor, seed: int) -> torch.Tensor:
    return torch.cat([torch.rand(target[i : i + 1].shape, generator=torch.Generator().manual_seed(seed + i))
                      for i in range(len(target))])


def mean_psnr(x: torch.Tensor, target: torch.Tensor) -> float:
    return float(np.mean([psnr(x[i : i + 1], target[i : i + 1]) for i in range(len(target))]))


def pixel_optimisation(loss: str, mode: str, files: list[Path], crop: int, steps: int, seed: int) -> float:
    """Mean PSNR reached by optimising uniform noise towards each centre crop.

    All crops are optimised as one batch with the per-image losses summed: Adam is
    elementwise and image i's gradient depends on image i alone, so this equals
    optimising each crop on its own, only faster.
    """
    kwargs = dict(mode=mode, check_range=False, reduction="sum")
    fn = MDFLoss.load(loss, **kwargs)
    target = centre_crops(files, crop)
    x = starting_noise(target, seed).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.1)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        fn(x, target).backward()
        opt.step()
    return mean_psnr(x.detach().clamp(0, 1), target)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--losses", default="sisr,denoise,jpeg", help="shipped names or loss files")
    ap.add_argument("--published", action="store_true", default=True)
    ap.add_argument("--no-published", dest="published", action="store_false")
    ap.add_argument("--modes", default="pyramid,reference")
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--patches-per-image", type=int, default=8)
    ap.add_argument("--crop", type=int, default=96)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    files = images(args.data, args.images)
    modes = [m for m in args.modes.split(",") if m]
    rows = []
    for loss in [s for s in args.losses.split(",") if s]:
        meta = load_loss_file(resolve_loss_path(loss)).metadata
        task = meta["task"]
        pairs = [(loss, task)]
        if args.published and task in PUBLISHED_FOR:
            pairs.append((PUBLISHED_FOR[task], task))
        for name, t in pairs:
            t0 = time.perf_counter()
            a = critic_auc(name, t, files, args.patch, args.patches_per_image, args.seed)
            ps = [pixel_optimisation(name, m, files, args.crop, args.steps, args.seed) for m in modes]
            rows.append((t, name, a, ps, time.perf_counter() - t0))
            print(f"  {t:8s} {name:16s} AUC {a[0]:.3f} paired {a[1]:.3f} PSNR " + " ".join(f"{m}={p:.2f}" for m, p in zip(modes, ps)),
                  f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    crops = centre_crops(files, args.crop)
    noise_psnr = mean_psnr(starting_noise(crops, args.seed), crops)
    print(f"{len(files)} images of {args.data.name}; AUC on {args.patches_per_image} {args.patch}px patches per image; "
          f"pixel optimisation: Adam lr 0.1, {args.steps} steps, {args.crop}px centre crops; "
          f"the starting noise is at {noise_psnr:.2f} dB")
    print("| task | loss | AUC finest critic | paired AUC | " + " | ".join(f"PSNR {m} (dB)" for m in modes) + " |")
    print("|---|---|---|---|" + "---|" * len(modes))
    for t, name, a, ps, _ in rows:
        print(f"| {t} | {name} | {a[0]:.3f} | {a[1]:.3f} | " + " | ".join(f"{p:.2f}" for p in ps) + " |")


if __name__ == "__main__":
    main()
