"""Task specificity: the probe, the sensitivity ratio, the paired specificity and its interval, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mdfloss import load_loss_file
from mdfloss.analysis.artefacts import equal_mse_noise, task_artefact
from mdfloss.analysis.specificity import Sensitivities, finest, geo_mean, probe, sensitivities, specificity
from mdfloss.common.imageio import image_files, read_image

from .conftest import DATA, REPO, need

FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture(scope="module")
def crops() -> list[torch.Tensor]:
    files = image_files(need(DATA / "BSD100"))[:3]
    return [read_image(f)[..., 40:168, 40:168].contiguous() for f in files]  # 128 px, never seen by Phase 1


def test_equal_mse_noise_matches_the_artefacts_energy():
    g = torch.Generator().manual_seed(0)
    clean = torch.rand(1, 3, 64, 64, generator=g)
    bad = (clean + 0.1 * torch.rand(1, 3, 64, 64, generator=g)).clamp(0, 1)
    noisy = equal_mse_noise(clean, bad, torch.Generator().manual_seed(1))
    ratio = float(((noisy - clean) ** 2).mean() / ((bad - clean) ** 2).mean())
    assert abs(ratio - 1) < 0.03, ratio  # 12,288 draws: the sample MSE is within 3 % of its expectation


def test_sisr_artefact_is_the_bicubic_round_trip():
    from mdfloss.common.resize import resize

    x = torch.rand(1, 3, 30, 34, generator=torch.Generator().manual_seed(2))
    got = task_artefact("sisr", {"scale": 2})(x, torch.Generator())
    lr = torch.round(resize(x[..., :30, :34], (15, 17)).clamp(0, 1) * 255) / 255
    torch.testing.assert_close(got, resize(lr, (30, 34)).clamp(0, 1))


def test_geo_mean_and_its_interval_by_hand():
    from scipy.stats import t

    logs = np.log([1.0, 4.0, 2.0])
    g = geo_mean(logs)
    m, s = logs.mean(), logs.std(ddof=1)
    half = t.ppf(0.975, 2) * s / math.sqrt(3)
    assert g.value == pytest.approx(2.0) and g.low == pytest.approx(math.exp(m - half))
    assert g.high == pytest.approx(math.exp(m + half))
    assert math.isnan(geo_mean(np.array([np.nan, 0.0])).low)  # one value left: no interval


def test_specificity_is_the_paired_ratio_from_the_finest_critic():
    loss = Sensitivities(np.log([[9.0, 2.0, 3.0], [9.0, 4.0, 6.0]]), np.log([2.0, 8.0]))
    control = Sensitivities(np.log([[1.5], [3.0]]), np.log([1.0, 2.0]))  # another pyramid: one critic
    spec = specificity(loss, control)
    assert spec["finest"].value == pytest.approx(2.0) and spec["finest"].low == pytest.approx(2.0)  # no spread
    assert spec["loss"].value == pytest.approx(math.sqrt(2 * 4))
    np.testing.assert_allclose(finest(loss), np.log([3.0, 6.0]))


def test_fast_jpeg_critics_weigh_jpeg_error_above_l2(crops):
    pairs = probe(task_artefact("jpeg", {"quality": 10}), crops, seed=0)
    s = sensitivities(load_loss_file(FIXTURES / "fast_jpeg.safetensors"), "pyramid", pairs)
    # Measured 3.08 on 8 LIVE1 crops of 256 px (docs/phase1.md); 1.0 is "weighs the artefact as L2 does".
    assert geo_mean(finest(s)).value > 1.5, geo_mean(finest(s))
    same = specificity(s, s)
    assert same["finest"].value == pytest.approx(1.0) and same["loss"].value == pytest.approx(1.0)


def test_sensitivity_is_one_when_the_artefact_is_the_reference_noise(crops):
    # Denoising's artefact is white noise, like the ratio's reference (another draw of the same MSE): any critic
    # must give about 1, so the measure has no bias of its own (a shared draw would give exactly 1 and check
    # nothing). Measured 0.99-1.04 per critic.
    pairs = probe(task_artefact("denoise", {"sigma": 25}), crops, seed=0)
    s = sensitivities(load_loss_file(FIXTURES / "fast_jpeg.safetensors"), "pyramid", pairs)
    per_critic = np.exp(np.nanmean(s.log_critics, axis=0))
    assert np.all((per_critic > 0.9) & (per_critic < 1.1)), per_critic
    assert 0.9 < math.exp(s.log_loss.mean()) < 1.1


def test_residual_probe_is_the_restorers_output(tmp_path):
    from .test_phase1 import _restorer_file
    from mdfloss.restoration.evaluate import load_restorer

    path = _restorer_file(tmp_path / "m.pt", "denoise")
    x = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(3))
    (pair,) = probe(task_artefact("denoise", restorer=path), [x], seed=5)
    model, _ = load_restorer(path)
    from mdfloss.common.runs import derive_generator
    from mdfloss.restoration.degradations import Degradation

    noisy_in = Degradation("denoise", sigma=25)(x, derive_generator(5, "probe-artefact", 0))
    with torch.no_grad():
        torch.testing.assert_close(pair.artefact, model(noisy_in).clamp(0, 1))
    from mdfloss import WeightFileError

    with pytest.raises(WeightFileError, match=r"trained for task 'denoise', not 'jpeg'"):
        task_artefact("jpeg", restorer=path)


def test_one_tap_alone_is_measured_with_that_tap_only(crops):
    # The finest critic's sensitivity with taps=["tail"] is the ratio of its tail-only distances, computed here
    # directly with an MDFLoss that uses only that tap.
    from mdfloss import MDFLoss
    from mdfloss.analysis.specificity import _mse

    weights = load_loss_file(FIXTURES / "fast_jpeg.safetensors")
    pairs = probe(task_artefact("jpeg", {"quality": 10}), crops[:1], seed=0)
    s = sensitivities(weights, "reference", pairs, taps=["tail"])
    k = len(weights.critics) - 1
    tail = MDFLoss(weights, scales=[k], taps=["tail"], mode="reference", reduction="none", check_range=False)
    p = pairs[0]
    with torch.no_grad():
        ratio = float(tail(p.artefact, p.clean)[0]) / float(tail(p.noisy, p.clean)[0])
    expected = math.log(ratio / (_mse(p.artefact, p.clean) / _mse(p.noisy, p.clean)))
    assert s.log_critics[0, k] == pytest.approx(expected, rel=1e-6)
    assert s.log_critics[0, k] != pytest.approx(sensitivities(weights, "reference", pairs).log_critics[0, k])
