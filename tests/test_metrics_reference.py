"""Fidelity and perceptual metrics against reference implementations.

PSNR/SSIM reference values were computed with BasicSR's own numpy functions
(``basicsr/metrics/psnr_ssim.py``: ``calculate_psnr`` and ``calculate_ssim``, with
``to_y_channel`` from ``metric_util.py`` and ``bgr2ycbcr`` from ``utils/color_util.py``) at
XPixelGroup/BasicSR commit 8d56e3a, numpy 2 and opencv-python-headless, on the pairs that
:func:`_pairs` makes. BasicSR reads images with OpenCV, so its Y conversion expects BGR: the
arrays were passed as ``noisy[..., ::-1], clean[..., ::-1]`` (prediction first) with
``crop_border`` 0 and 4. BasicSR computes SSIM per channel in float64 with cv2.filter2D;
ours uses pytorch-msssim in float32, hence the 1e-5 tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mdfloss.restoration.metrics import crop_border, fidelity, quantize

# (seed, border) -> BasicSR's psnr_rgb, ssim_rgb, psnr_y, ssim_y
BASICSR = {
    (0, 0): (30.043479, 0.891466, 35.027535, 0.919667),
    (0, 4): (29.937935, 0.895606, 34.967123, 0.920003),
    (1, 0): (22.192185, 0.584514, 27.10029, 0.666761),
    (1, 4): (22.14183, 0.575623, 27.142285, 0.650702),
    (2, 0): (38.586062, 0.983842, 43.432142, 0.988123),
    (2, 4): (38.599626, 0.983983, 43.447519, 0.98822),
}


def _pairs(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A smooth image with texture, and a noisy 8-bit copy (HWC uint8)."""
    (h, w), sigma = {0: ((40, 48), 8.0), 1: ((37, 52), 20.0), 2: ((64, 64), 3.0)}[seed]
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 60 * np.sin(xx / 5 + c) * np.cos(yy / 7 - c) for c in range(3)], -1)
    clean = np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).round().astype(np.uint8)
    noisy = np.clip(clean + rng.normal(0, sigma, (h, w, 3)), 0, 255).round().astype(np.uint8)
    return clean, noisy


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255


@pytest.mark.parametrize("seed,border", sorted(BASICSR))
def test_psnr_ssim_match_basicsr(seed, border):
    clean, noisy = _pairs(seed)
    ours = fidelity(_t(noisy), _t(clean), border)
    ref = dict(zip(("psnr_rgb", "ssim_rgb", "psnr_y", "ssim_y"), BASICSR[seed, border]))
    assert ours.keys() == ref.keys()
    for k in ref:
        assert ours[k] == pytest.approx(ref[k], abs=1e-5), k


def test_y_channel_and_border_matter():
    """The reference values would catch swapped Y coefficients or an ignored border."""
    clean, noisy = _pairs(1)
    assert abs(fidelity(_t(noisy), _t(clean), 0)["ssim_y"] - BASICSR[1, 4][3]) > 1e-2
    swapped = fidelity(_t(noisy)[:, [2, 1, 0]], _t(clean)[:, [2, 1, 0]], 0)["psnr_y"]
    assert abs(swapped - BASICSR[1, 0][2]) > 1e-2


def test_flip_matches_flip_evaluator_called_directly():
    import flip_evaluator

    from mdfloss.restoration.perceptual import flip

    clean, noisy = _pairs(0)
    pred, target = quantize(_t(noisy)), quantize(_t(clean))
    # flip-evaluator's own API on float HWC images in [0, 1], reference first.
    _, direct, _ = flip_evaluator.evaluate(clean.astype(np.float32) / 255, noisy.astype(np.float32) / 255, "LDR",
                                           applyMagma=False)
    assert flip(pred, target) == pytest.approx(float(direct), rel=1e-6)
    assert flip(target, target) == 0.0


def test_border_crop_is_basicsrs():
    x = torch.arange(2 * 3 * 10 * 12, dtype=torch.float32).view(2, 3, 10, 12)
    assert torch.equal(crop_border(x, 4), x[..., 4:6, 4:8]) and crop_border(x, 0) is x
