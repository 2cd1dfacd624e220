"""Phase-1 settings (no torch import, so the command line starts fast)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

#: Phase-1 terms beyond SinGAN's and their settings, each 0 (off) by default.
OPTIONAL_TERMS = ("degraded_negatives", "feature_specificity", "descent_alignment", "specificity_cap")


@dataclass(frozen=True)
class Phase1Config:
    """Phase-1 settings; the defaults are SinGAN's published ones (Shaham et al., ICCV 2019; see docs/phase1.md)."""

    max_size: int = 250
    min_size: int = 25
    scale_factor: float = 0.75
    iterations: int = 2000
    critic_steps: int = 3
    generator_steps: int = 3
    lr: float = 5e-4
    betas: tuple[float, float] = (0.5, 0.999)
    lr_decay_at: float = 0.8
    lr_decay: float = 0.1
    gp_weight: float = 0.1
    rec_weight: float = 10.0
    noise_amp: float = 0.1
    base_width: int = 32
    max_width: int = 128
    width_every: int = 4
    max_critic_gap: float = 1e4
    #: Weight of the real image, degraded as the generator's input is, shown to the critic as a second kind
    #: of fake (0: SinGAN's critic, which only ever sees the generator's output as fake).
    degraded_negatives: float = 0.0
    #: Weight of a term that asks the critic's loss taps (head and body) to move more for the task's artefact
    #: (the real image degraded as the generator's input is) than for white noise of the same MSE (0: off).
    feature_specificity: float = 0.0
    #: Weight of a term that asks a descent step on those taps' distance, from a point between the real image
    #: and its artefact, to point straight back to the real image (0: off).
    descent_alignment: float = 0.0
    #: The tap ratio d(real, artefact) / d(real, real + noise) at which the feature-specificity term stops asking
    #: for more (0: never stops). Unbounded, that term outweighs descent alignment; see docs/specificity.md.
    specificity_cap: float = 0.0

    def width(self, scale: int) -> int:
        return min(self.base_width * 2 ** (scale // self.width_every), self.max_width)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["betas"] = list(self.betas)
        for optional in OPTIONAL_TERMS:
            if not d[optional]:
                del d[optional]  # absent when off, so runs and checkpoints from before it still resume
        return d
