"""Paired data at SR factors 2, 3 and 4: every training patch's low-resolution crop is exactly the high-resolution
crop reduced by the factor, whatever the crop position, flip and rotation drawn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from mdfloss.restoration.data import PairedFolders, TrainPatches
from mdfloss.tasks import get_task


def _blocks(h: int, w: int, factor: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """An LR image of distinct random 8-bit pixels and its HR version in which each LR pixel is a factor x factor
    block: reducing the HR image by the factor (any pixel of a block) gives the LR image exactly."""
    lr = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return lr, np.repeat(np.repeat(lr, factor, axis=0), factor, axis=1)


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_every_patch_of_paired_data_is_its_hr_crop_reduced(tmp_path, factor):
    lr_dir, hr_dir = tmp_path / "lr", tmp_path / "hr"
    lr_dir.mkdir()
    hr_dir.mkdir()
    for i, (h, w) in enumerate([(23, 31), (29, 20)]):  # sizes no patch divides
        lr, hr = _blocks(h, w, factor, i)
        Image.fromarray(lr).save(lr_dir / f"im{i}.png")
        Image.fromarray(hr).save(hr_dir / f"im{i}.png")
    patch = 12 * factor
    data = TrainPatches(PairedFolders(lr_dir, hr_dir), get_task("sisr", {"scale": factor}), patch, 40, seed=3)
    for i in range(len(data)):
        lq, hq = data[i]
        assert lq.shape == (3, patch // factor, patch // factor) and hq.shape == (3, patch, patch)
        # the block structure survives the crop only if the crop starts on a block boundary
        torch.testing.assert_close(hq[:, ::factor, ::factor], lq, rtol=0, atol=0)
        torch.testing.assert_close(hq, lq.repeat_interleave(factor, 1).repeat_interleave(factor, 2), rtol=0, atol=0)
