"""The Phase-1 terms and the analyses built on the critics: each weight and option changes the result by what it
documents, not only the record."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

from mdfloss.phase1.config import Phase1Config

from .test_phase1_feature_specificity import _images, small_critic


def _critic_loss(**terms: float) -> tuple[float, dict[str, float]]:
    """One critic step's loss with the given term weights, on a fixed critic, images and draws (learning rate 0,
    so the critic does not move)."""
    from mdfloss.phase1.steps import _critic_step

    critic = small_critic()
    real, artefact = _images()
    run = SimpleNamespace(models=SimpleNamespace(generator=lambda x, prev: prev + 0.1 * x, critic=critic,
                                                 opt_d=torch.optim.SGD(critic.parameters(), lr=0.0)),
                          config=replace(Phase1Config(), **terms))
    z = torch.randn(real.shape, generator=torch.Generator().manual_seed(5))
    loss_d, _, _, _, extras = _critic_step(run, real, z, real * 0.5, torch.Generator().manual_seed(7), artefact)
    return float(loss_d), {k: float(v) for k, v in extras.items()}


@pytest.mark.parametrize("term,extra", [("descent_alignment", "alignment_term"),
                                        ("feature_specificity", "specificity_term")])
def test_phase1_term_weights_scale_the_critic_loss(term, extra):
    low, low_extras = _critic_loss(**{term: 0.5})
    high, high_extras = _critic_loss(**{term: 2.0})
    value = low_extras[extra]
    assert high_extras[extra] == pytest.approx(value) and value != 0
    assert high - low == pytest.approx(1.5 * value, rel=1e-4, abs=1e-6)  # the weight multiplies the term


def test_specificity_cap_stops_the_term_at_the_cap():
    _, raw = _critic_loss(feature_specificity=1.0)
    ratio = float(torch.exp(-torch.tensor(raw["specificity_term"])))
    _, reached = _critic_loss(feature_specificity=1.0, specificity_cap=ratio / 2)
    _, short = _critic_loss(feature_specificity=1.0, specificity_cap=ratio * 2)
    assert reached["specificity_term"] == 0.0
    expected = raw["specificity_term"] + float(torch.log(torch.tensor(ratio * 2)))
    assert short["specificity_term"] == pytest.approx(expected, rel=1e-5)


def _fast_jpeg():
    from mdfloss import load_loss_file

    from .conftest import REPO

    return load_loss_file(REPO / "tests" / "fixtures" / "fast_jpeg.safetensors")


def _photo_pairs(count: int = 1):
    from mdfloss.analysis.artefacts import task_artefact
    from mdfloss.analysis.specificity import probe
    from mdfloss.common.imageio import read_image
    from mdfloss.loss.assets import bundled_image_path

    crops = [read_image(bundled_image_path())[..., 60 + 20 * i:188 + 20 * i, 100:228] for i in range(count)]
    return probe(task_artefact("jpeg", {"quality": 10}), crops, seed=0)


def test_specificity_scales_choose_the_loss_critics():
    from mdfloss.analysis.specificity import sensitivities

    weights, pairs = _fast_jpeg(), _photo_pairs()
    n = len(weights.critics)
    one = sensitivities(weights, "reference", pairs, scales=[n - 1])
    # the loss of one critic is that critic (reference mode: the same view, the same MSE ratio)
    assert one.log_loss[0] == pytest.approx(one.log_critics[0, n - 1], rel=1e-6)
    other = sensitivities(weights, "reference", pairs, scales=[n - 2])
    assert other.log_loss[0] == pytest.approx(other.log_critics[0, n - 2], rel=1e-6)
    assert other.log_loss[0] != pytest.approx(one.log_loss[0], rel=1e-3)


def test_specificity_is_per_unit_of_mse():
    import math

    from mdfloss.analysis.specificity import _mse, sensitivities

    weights, pairs = _fast_jpeg(), _photo_pairs()
    p, n = pairs[0], len(weights.critics)
    s = sensitivities(weights, "reference", pairs, scales=[n - 1])
    from mdfloss import MDFLoss

    loss = MDFLoss(weights, scales=[n - 1], mode="reference", reduction="none", check_range=False)
    with torch.no_grad():
        ratio = float(loss(p.artefact, p.clean)[0]) / float(loss(p.noisy, p.clean)[0])
    expected = math.log(ratio / (_mse(p.artefact, p.clean) / _mse(p.noisy, p.clean)))
    assert s.log_loss[0] == pytest.approx(expected, rel=1e-6)  # the loss's sensitivity
    assert s.log_critics[0, n - 1] == pytest.approx(expected, rel=1e-6)  # and its one critic's


def test_calibration_draws_take_effect():
    from mdfloss.analysis.artefacts import task_artefact
    from mdfloss.analysis.calibrate import calibrate, channel_ratios
    from mdfloss.common.imageio import read_image
    from mdfloss.loss.assets import bundled_image_path

    weights, artefact = _fast_jpeg(), task_artefact("jpeg", {"quality": [5, 40]})  # each draw another quality
    images = [read_image(bundled_image_path())[..., 60:188, 100:228]]
    one_a, one_b = channel_ratios(weights, artefact, images, draws=1, mode="reference", seed=0)
    two_a, two_b = channel_ratios(weights, artefact, images, draws=2, mode="reference", seed=0)
    for key in one_a:  # the sums over draws: the second draw adds its distances to the first's
        assert bool((two_a[key] > one_a[key]).all()) and bool((two_b[key] > one_b[key]).all())
    one = calibrate(weights, artefact, images, draws=1, mode="reference")
    three = calibrate(weights, artefact, images, draws=3, mode="reference")
    assert not torch.equal(one.calibration["0.head"], three.calibration["0.head"])


def test_specificity_normalize_and_calibration_methods_change_the_result():
    from mdfloss.analysis.artefacts import task_artefact
    from mdfloss.analysis.calibrate import calibrate
    from mdfloss.analysis.specificity import sensitivities
    from mdfloss.common.imageio import read_image
    from mdfloss.loss.assets import bundled_image_path

    weights, pairs = _fast_jpeg(), _photo_pairs()
    plain = sensitivities(weights, "reference", pairs).log_critics
    unit = sensitivities(weights, "reference", pairs, normalize=True).log_critics
    assert not torch.allclose(torch.as_tensor(plain), torch.as_tensor(unit))
    images = [read_image(bundled_image_path())[..., 60:188, 100:228]]
    artefact = task_artefact("jpeg", {"quality": 10})
    fits = {(m, s): calibrate(weights, artefact, images, draws=1, mode="reference", method=m, seed=s).calibration
            for m, s in (("ratio", 0), ("likelihood", 0), ("ratio", 1))}
    key = "0.head"
    assert not torch.equal(fits[("ratio", 0)][key], fits[("likelihood", 0)][key])
    assert not torch.equal(fits[("ratio", 0)][key], fits[("ratio", 1)][key])  # the seed draws other artefacts
