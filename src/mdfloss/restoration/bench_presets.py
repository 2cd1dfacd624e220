"""The benchmark's presets (no torch import, so the command line starts fast)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BenchPreset:
    """The L1 pretraining preset, then what every loss gets for fine-tuning."""

    base: str  # restorer preset of the L1 pretraining
    finetune_iterations: int
    finetune_batch: int
    finetune_patch: int
    finetune_lr: float
    eval_limit: int | None  # images per evaluation set (the first N by name); None = all
    perceptual: bool = True
    eval_sets: dict[str, list[str]] = field(default_factory=dict)  # per task; else the task's own sets
    screen: bool = False  # a quick sweep: its reports say "screen", never "result"
    smoke: bool = False  # a few steps that check the pipeline: its reports name no winner


# smoke (the command's default): a few steps and 2 images per set, to check that everything runs, in seconds.
# cpu: on 2 cores a step of 8 patches of 64 px costs 0.3 s with an MDF loss in pyramid mode,
# 0.65 s in reference mode and about 0.1 s with a pixel loss (benchmarks/bench_restoration_losses.py),
# so 600 fine-tuning steps for 7 losses, the L1 pretraining and the evaluation take 22-35 minutes.
# screen: the cpu pretraining (shared with cpu runs when copied in), 200 steps and the first 20
# images of one set, about 10 minutes for four losses.
BENCH_PRESETS = {
    "smoke": BenchPreset("smoke", 3, 4, 48, 1e-4, 2, smoke=True),
    "screen": BenchPreset("cpu", 200, 8, 64, 1e-4, 20, screen=True,
                          eval_sets={"sisr": ["BSD100"], "denoise": ["CBSD68"], "jpeg": ["LIVE1"]}),
    "cpu": BenchPreset("cpu", 600, 8, 64, 1e-4, None),
    "gpu": BenchPreset("gpu", 20_000, 16, 192, 1e-4, None),
}
