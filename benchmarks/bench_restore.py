"""Throughput of `mdfloss restore` on large images, and the check that tiles change nothing.

For the `cpu` preset's networks (DnCNN for denoising and JPEG, EDSR x4 for SISR; random weights: the cost does not
depend on them): a 2000x3000 image (SISR: a 500x750 input, a 2000x3000 output) restored in tiles, timed; then a
crop that fits untiled is restored whole, and its interior (one overlap away from the crop's border, where the
whole image has context the crop lacks) is compared with the same pixels of the tiled result.

    python benchmarks/bench_restore.py [--tile 256] [--overlap 32] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import torch

from mdfloss.restoration.models import build_model
from mdfloss.restoration.presets import restorer_preset
from mdfloss.restoration.restore import restore_tensor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--overlap", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"{args.threads} threads; tile {args.tile}, overlap {args.overlap}\n")
    print("| network | input | output | seconds | images/s | output megapixels/s | max abs diff, tiled vs whole |")
    print("|---|---|---|---|---|---|---|")
    for task, (h, w) in (("denoise", (2000, 3000)), ("sisr", (500, 750))):
        preset = restorer_preset(task, "cpu")
        scale = 4 if task == "sisr" else 1
        torch.manual_seed(0)
        net = build_model(preset.model, scale=scale).eval()
        image = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(1))
        restore_tensor(net, image[..., :64, :64], tile=0)  # warm-up
        t0 = time.perf_counter()
        out = restore_tensor(net, image, tile=args.tile, overlap=args.overlap, scale=scale)
        seconds = time.perf_counter() - t0
        c = 320  # a crop that fits untiled, away from the image's own border
        y, x = h // 3, w // 3
        whole = restore_tensor(net, image[..., y:y + c, x:x + c], tile=0)
        m = args.overlap * scale  # the crop's own border lacks the context the full image has
        diff = (whole[..., m:-m, m:-m] - out[..., y * scale + m:(y + c) * scale - m,
                                               x * scale + m:(x + c) * scale - m]).abs().max()
        mp = out.shape[-2] * out.shape[-1] / 1e6
        print(f"| {preset.model} | {h}x{w} | {out.shape[-2]}x{out.shape[-1]} | {seconds:.1f} | {1 / seconds:.3f} "
              f"| {mp / seconds:.2f} | {float(diff):.2e} |", flush=True)


if __name__ == "__main__":
    main()
