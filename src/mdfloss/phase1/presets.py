"""Phase-1 presets. Times are measured on the 2-core CPU of the development machine
(see docs/phase1.md); ``paper`` is SinGAN's published defaults, meant for a GPU."""

from __future__ import annotations

from mdfloss.common.errors import InvalidInputError
from mdfloss.phase1.config import Phase1Config

PRESETS: dict[str, Phase1Config] = {
    # 6 scales up to 128 px, all 32 channels wide: about 5-6 minutes on 2 cores.
    "fast": Phase1Config(max_size=128, max_width=32, iterations=300),
    # 7 scales up to 160 px, 32 then 64 channels (as published): about 25 minutes on 2 cores.
    "standard": Phase1Config(max_size=160, max_width=64, iterations=350),
    # SinGAN's defaults: scales up to 250 px, 2000 iterations per scale.
    "paper": Phase1Config(),
}


def preset_config(name: str) -> Phase1Config:
    if name not in PRESETS:
        raise InvalidInputError(f"preset: expected one of {', '.join(PRESETS)}, got {name!r}")
    return PRESETS[name]
