"""Which ColorVideoVDP display makes the tasks' artefacts visible?

For a few evaluation images, a 256-px crop is degraded as each task does (noise sigma 25,
JPEG quality 10, bicubic x4 down and up) and blurred mildly (a stand-in for a smooth
restoration), and scored in JOD on several display models. A display at which the
degradations stay near 10 JOD cannot rank restorations; the benchmark uses one at which
they fall well below the blur.

    python benchmarks/jod_display_visibility.py [--images 4] [--displays standard_fhd standard_4k standard_phone]
"""

from __future__ import annotations

import argparse
import io
import sys

import torch
from PIL import Image, ImageFilter

from mdfloss.restoration.data import resolve_set
from mdfloss.restoration.perceptual import display_ppd, jod


def _to_tensor(img: Image.Image) -> torch.Tensor:
    return torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).view(img.height, img.width, 3).permute(
        2, 0, 1)[None].float() / 255


def _variants(ref: Image.Image) -> dict[str, Image.Image]:
    g = torch.Generator().manual_seed(0)
    x = _to_tensor(ref)
    noisy = torch.round((x + 25 / 255 * torch.randn(x.shape, generator=g)).clamp(0, 1) * 255).to(torch.uint8)
    buf = io.BytesIO()
    ref.save(buf, format="JPEG", quality=10)
    w, h = ref.size
    return {
        "noise sigma 25": Image.fromarray(noisy[0].permute(1, 2, 0).numpy()),
        "JPEG q10": Image.open(buf).convert("RGB"),
        "bicubic x4": ref.resize((w // 4, h // 4), Image.BICUBIC).resize((w, h), Image.BICUBIC),
        "blur 0.8 px": ref.filter(ImageFilter.GaussianBlur(0.8)),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--set", default="CBSD68")
    ap.add_argument("--displays", nargs="+", default=["standard_fhd", "standard_4k", "standard_phone"])
    args = ap.parse_args(argv)
    paths = sorted(p for p in resolve_set(args.set).iterdir() if p.suffix.lower() in (".png", ".jpg", ".bmp", ".tif"))
    refs = [Image.open(p).convert("RGB").crop((0, 0, 256, 256)) for p in paths[: args.images]]
    scores: dict[str, dict[str, float]] = {}
    for display in args.displays:
        ppd = display_ppd(display)
        key = f"{display} ({ppd:.0f} ppd)"
        sums: dict[str, float] = {}
        for ref in refs:
            for name, img in _variants(ref).items():
                sums[name] = sums.get(name, 0.0) + jod(_to_tensor(img), _to_tensor(ref), display) / len(refs)
        scores[key] = sums
    names = list(next(iter(scores.values())))
    print(f"Mean JOD over {len(refs)} 256-px crops of {args.set} (10 = no visible difference)\n")
    print("| display | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for key, row in scores.items():
        print(f"| {key} | " + " | ".join(f"{row[n]:.2f}" for n in names) + " |")


if __name__ == "__main__":
    sys.exit(main())
