"""Phase 1: train a task's critics. Networks (:mod:`.nets`), the image pyramid
(:mod:`.pyramid`), task distortions such as JPEG and noise (:mod:`.distortions`), the
adversarial training steps (:mod:`.steps`), the run loop with checkpoints and resume
(:mod:`.trainer`) and the presets (:mod:`.presets`). It writes loss files with
:mod:`mdfloss.loss.weights`."""

from mdfloss.phase1.config import Phase1Config
from mdfloss.phase1.presets import PRESETS, preset_config


def __getattr__(name: str):
    # The trainer imports torch: only when it is used, so that `mdfloss --help` starts fast.
    if name == "train_loss":
        from mdfloss.phase1.trainer import train_loss

        return train_loss
    raise AttributeError(f"module 'mdfloss.phase1' has no attribute {name!r}")


__all__ = ["train_loss", "Phase1Config", "PRESETS", "preset_config"]
