"""A trained restoration network as Phase 1's distortion: degrade as the task does, then restore.

``mdfloss train --task denoise --restorer runs/x/model.pt`` trains critics on the very
artefacts this network leaves, which fine-tuning it with the resulting loss should remove
(the paper's thesis taken literally: the "distortion" is the method being improved).

Example:
    >>> from mdfloss.restoration.as_distortion import RestoredDistortion
    >>> d = RestoredDistortion("runs/pretrain_l1/model.pt", "denoise")  # doctest: +SKIP
    >>> train_loss(d.name, plugins={d.name: d}, out="denoise_restored.safetensors")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from mdfloss.common.errors import WeightFileError
from mdfloss.common.runs import sha256_file
from mdfloss.restoration.evaluate import load_restorer
from mdfloss.tasks import get_task


class RestoredDistortion:
    """``x -> restorer(degrade(x))`` for images (N, 3, H, W) in [0, 1]; any H and W (padded to the
    SR factor, then cropped back). Draws its noise from torch's global generator, which Phase 1
    forks and seeds for each call, so runs stay reproducible and resumable.

    Raises:
        WeightFileError: ``model_path`` is missing, corrupt, not a restorer, or trained for another task.
    """

    def __init__(self, model_path: str | Path, task: str) -> None:
        self.model, record = load_restorer(model_path, argument="restorer")
        if record["task"] != task:
            raise WeightFileError(f"restorer: '{model_path}' was trained for task {record['task']!r}, not {task!r}")
        self.model.requires_grad_(False)
        self.degradation = get_task(task, record["preset"]["degradation"])
        self.name = f"{task}_restored"
        # Recorded in the loss file's metadata (and the run's fingerprint) through Distortion.spec.
        self.spec_params = {"restorer_sha256": sha256_file(model_path), "restorer_loss": record["loss"],
                            "degradation": dict(record["preset"]["degradation"])}

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        f = self.degradation.factor
        h, w = x.shape[-2:]
        padded = F.pad(x, (0, (-w) % f, 0, (-h) % f), mode="replicate") if (h % f or w % f) else x
        g = torch.Generator().manual_seed(int(torch.randint(0, 2**62, ())))
        model = self.model.to(x.device)
        with torch.no_grad():
            out = model(self.degradation(padded.clamp(0, 1), g).to(x.device)).clamp(0, 1)
        return out[..., :h, :w].to(x.dtype)
