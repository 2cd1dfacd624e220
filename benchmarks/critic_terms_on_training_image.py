"""What the Phase-1 specificity and descent-alignment terms measure for a trained loss's finest critic, on its own
training image: did training satisfy them? (The images the loss is used on are another matter; for those see
critic_specificity.py and mdf_term_scale.py.)

For each loss file: the critic's tap ratio d(real, artefact) / d(real, real + equal-MSE noise) (the feature-
specificity term is minus its log) and 1 - cos between a descent step on the tap distance and the step back to the
real image (the descent-alignment term), averaged over 8 draws of the artefact, with the critic in training mode
as Phase 1 runs it. The artefact is the real image degraded as the finest generator's input is.

    python benchmarks/critic_terms_on_training_image.py LOSS.safetensors [LOSS2.safetensors ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import math

import torch

from mdfloss.common.imageio import read_image
from mdfloss.loss.assets import bundled_image_path
from mdfloss.loss.weights import load_loss_file
from mdfloss.phase1.config import Phase1Config
from mdfloss.phase1.distortions import make_distortion
from mdfloss.phase1.nets import Critic
from mdfloss.phase1.pyramid import build_pyramid
from mdfloss.phase1.steps import degraded_real, descent_alignment_term, feature_specificity_term


def training_pyramid(weights):
    """The Phase-1 pyramid and distortion of a loss trained on the bundled photo, rebuilt from its settings."""
    meta = weights.metadata
    if (meta.get("training_image") or {}).get("name") != bundled_image_path().name:
        raise SystemExit(f"trained on {meta.get('training_image')}, not the bundled photo this script rebuilds")
    fields = {f.name for f in dataclasses.fields(Phase1Config)}
    cfg = {key: value for key, value in meta["training_config"].items() if key in fields}  # not its preset's name
    cfg["betas"] = tuple(cfg["betas"])
    pyr = build_pyramid(read_image(bundled_image_path())[0][None], Phase1Config(**cfg), torch.device("cpu"))
    return pyr, make_distortion(meta["distortion"]["name"], meta["distortion"]["params"], None)


def terms(path: str, draws: int = 8) -> dict[str, float]:
    weights = load_loss_file(path)
    pyr, distortion = training_pyramid(weights)
    critic = Critic(weights.widths[-1])
    critic.load_state_dict(weights.critics[-1])
    critic.train()  # as Phase 1 runs it (BatchNorm on the batch)
    k, real = len(pyr.reals) - 1, pyr.reals[-1]
    log_ratio, misalign = 0.0, 0.0
    for s in range(draws):
        artefact = degraded_real(k, pyr, distortion, torch.Generator().manual_seed(s))
        log_ratio -= float(feature_specificity_term(critic, real, artefact, torch.Generator().manual_seed(s)).detach())
        misalign += float(descent_alignment_term(critic, real, artefact, torch.Generator().manual_seed(s)).detach())
    return {"tap_ratio": math.exp(log_ratio / draws), "one_minus_cos": misalign / draws}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("losses", nargs="+")
    args = ap.parse_args()
    torch.set_num_threads(2)
    print(f"torch {torch.__version__}, CPU {torch.backends.cpu.get_cpu_capability()}")
    print("| loss | tap ratio, artefact / noise | 1 - cos (descent vs. back to the real image) |\n|---|---|---|")
    for path in args.losses:
        t = terms(path)
        print(f"| {path} | {t['tap_ratio']:.3g} | {t['one_minus_cos']:.3f} |")


if __name__ == "__main__":
    main()
