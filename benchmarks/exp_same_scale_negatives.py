"""Experiment: degraded negatives taken at the same scale, distort(real_k), instead of the real image of the
scale below upsampled and distorted (what --degraded-negatives does), so that a JPEG critic sees pure JPEG
artefacts with no upsampling blur. Measured: specificity 1.04 [1.01, 1.08] (docs/specificity.md), no better.

    python benchmarks/exp_same_scale_negatives.py jpeg 5 jpeg_negsame5_fast.safetensors
"""

from __future__ import annotations

import sys
from dataclasses import replace

import torch

from mdfloss.phase1 import steps
from mdfloss.phase1.presets import preset_config
from mdfloss.phase1.steps import distort_pm1
from mdfloss.phase1.trainer import train_loss


@torch.no_grad()
def same_scale(k, pyr, distortion, gen):
    """The real image of scale k itself, distorted (None at the coarsest scale, like degraded_real)."""
    return None if k == 0 else distort_pm1(pyr.reals[k], distortion, gen)


def main() -> None:
    torch.set_num_threads(1)
    steps.degraded_real = same_scale  # train_iteration looks it up at call time
    if len(sys.argv) != 4 or sys.argv[1] in ("-h", "--help"):
        sys.exit("usage: python benchmarks/exp_same_scale_negatives.py TASK WEIGHT OUT.safetensors\n" + __doc__)
    task, weight, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    params = {"jpeg": {"quality": 10}, "denoise": {"sigma": 25 / 255}}[task]
    train_loss(task, out=out, config=replace(preset_config("fast"), degraded_negatives=weight),
               distortion_params=params, force=True, device="cpu", progress=False)


if __name__ == "__main__":
    main()
