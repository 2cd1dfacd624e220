"""The feature-specificity term of Phase 1: what it measures, that training on it moves it, the settings record
and the refusals."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from mdfloss import InvalidInputError
from mdfloss.cli import main
from mdfloss.phase1.config import Phase1Config
from mdfloss.phase1.nets import Critic, init_weights
from mdfloss.phase1.steps import feature_specificity_term

from .test_phase1 import TINY, _train


def _images():
    g = torch.Generator().manual_seed(0)
    real = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
    # A smooth artefact (a blurred copy), unlike the white noise the term compares it with.
    blurred = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(real, (1, 1, 1, 1), mode="replicate"), 3, 1)
    return real, blurred


def small_critic() -> Critic:
    """A fresh 8-channel critic with SinGAN's initialisation, the same every call."""
    torch.manual_seed(0)
    critic = Critic(8)
    init_weights(critic, torch.Generator().manual_seed(0))
    return critic


def test_the_term_is_the_log_ratio_of_noise_to_artefact_distances():
    critic = small_critic()
    real, artefact = _images()
    value = feature_specificity_term(critic, real, artefact, torch.Generator().manual_seed(3))
    # By hand: the same noise draw, the same batch through the critic.
    noise = torch.randn(real.shape, generator=torch.Generator().manual_seed(3)) * torch.sqrt(
        torch.mean((artefact - real) ** 2))
    h, b, _ = critic.features(torch.cat([real, artefact, real + noise]))
    d_art = sum(torch.mean((f[1] - f[0]) ** 2) for f in (h, b))
    d_noise = sum(torch.mean((f[2] - f[0]) ** 2) for f in (h, b))
    torch.testing.assert_close(value, torch.log(d_noise) - torch.log(d_art))


def descend(term, steps: int = 30) -> tuple[float, float]:
    """A fresh small critic trained on ``term(critic, real, artefact, gen)`` alone with Adam: the term's value on
    a draw never used in training, before and after."""
    critic = small_critic()
    real, artefact = _images()
    opt = torch.optim.Adam(critic.parameters(), lr=1e-3)
    before = term(critic, real, artefact, torch.Generator().manual_seed(99)).item()
    for step in range(steps):
        opt.zero_grad()
        term(critic, real, artefact, torch.Generator().manual_seed(step)).backward()
        opt.step()
    return before, term(critic, real, artefact, torch.Generator().manual_seed(99)).item()


def test_descending_the_term_makes_the_taps_weigh_the_artefact_above_equal_mse_noise():
    before, after = descend(feature_specificity_term)
    assert after < before - 0.1  # a fresh noise draw: the ratio moved, not just one sample's fit


def recorded_only_when_on(tmp_path, name: str) -> None:
    """A Phase-1 term's weight is recorded only when it is on, and it changes the critics that see a degraded
    input (every scale but the coarsest)."""
    assert name not in Phase1Config().to_dict()
    on = _train(tmp_path, name="on", seed=1, config=replace(TINY, **{name: 0.5}))
    assert on.metadata["training_config"][name] == 0.5
    plain = _train(tmp_path, name="plain", seed=1)
    # Scale 0 has no degraded input, so its critic is unchanged; the finer ones differ.
    assert all(torch.equal(plain.critics[0][k], on.critics[0][k]) for k in plain.critics[0])
    assert any(not torch.equal(plain.critics[-1][k], on.critics[-1][k]) for k in plain.critics[-1])


def test_runs_record_the_weight_only_when_it_is_on(tmp_path):
    recorded_only_when_on(tmp_path, "feature_specificity")


@pytest.mark.parametrize("weight", [-1.0, float("nan"), float("inf"), True])
def test_bad_weights_are_refused(tmp_path, weight):
    with pytest.raises(InvalidInputError, match="feature_specificity"):
        _train(tmp_path, config=replace(TINY, feature_specificity=weight))
    assert main(["train", "--task", "sisr", "--feature-specificity", "-2", "--out", str(tmp_path / "x.safetensors"),
                 "--iterations", "1"]) == 2
