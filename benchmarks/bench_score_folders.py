"""Time to score restorations you already have: ``mdfloss evaluate --reference DIR --restored DIR``.

Writes ``--images`` reference images of ``--size`` px (smooth random images, saved as PNG) and a restored copy
of each (the reference blurred and quantised), then runs the command as a user would (a fresh process, with its
start-up), without the perceptual metrics (PSNR and SSIM on RGB and Y) and, with ``--perceptual``, with them.
Prints the CPU capability beside every time.

    python benchmarks/bench_score_folders.py [--images 100] [--size 512] [--perceptual]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter


def make_folders(root: Path, count: int, size: int) -> tuple[Path, Path]:
    ref, out = root / "reference", root / "restored"
    ref.mkdir()
    out.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        small = rng.integers(0, 256, (size // 16, size // 16, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((size, size), Image.BICUBIC)
        img.save(ref / f"img{i:03d}.png")
        img.filter(ImageFilter.GaussianBlur(1.0)).save(out / f"img{i:03d}.png")
    return ref, out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--perceptual", action="store_true", help="also time the run with JOD, FLIP, HaarPSI and MDSI")
    args = ap.parse_args(argv)
    cpu = torch.backends.cpu.get_cpu_capability()
    with tempfile.TemporaryDirectory() as tmp:
        ref, out = make_folders(Path(tmp), args.images, args.size)
        runs = [["--no-perceptual"]] + ([[]] if args.perceptual else [])
        for extra in runs:
            cmd = [sys.executable, "-m", "mdfloss", "evaluate", "--reference", str(ref), "--restored", str(out),
                   "--out", str(Path(tmp) / "scores.csv"), *extra]
            t0 = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True)
            seconds = time.perf_counter() - t0
            if done.returncode:
                sys.exit(done.stderr)
            what = "fidelity only" if extra else "with perceptual metrics"
            print(f"{args.images} images of {args.size} px, {what}: {seconds:.1f} s "
                  f"({seconds / args.images * 1000:.0f} ms per image; CPU capability {cpu}, "
                  f"{torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
