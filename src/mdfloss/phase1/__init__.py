"""Phase 1: train a task's critics. Networks (:mod:`.nets`), the image pyramid
(:mod:`.pyramid`), task distortions such as JPEG and noise (:mod:`.distortions`), the
adversarial training steps (:mod:`.steps`), the run loop with checkpoints and resume
(:mod:`.trainer`) and the presets (:mod:`.presets`). It writes loss files with
:mod:`mdfloss.loss.weights`."""

from mdfloss.phase1.presets import PRESETS, preset_config
from mdfloss.phase1.steps import Phase1Config
from mdfloss.phase1.trainer import train_loss

__all__ = ["train_loss", "Phase1Config", "PRESETS", "preset_config"]
