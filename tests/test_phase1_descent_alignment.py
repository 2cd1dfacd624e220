"""The descent-alignment term of Phase 1: what it measures, that training on it moves it, the settings record
and the refusals."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from mdfloss import InvalidInputError
from mdfloss.cli import main
from mdfloss.phase1.steps import descent_alignment_term

from .test_phase1 import TINY, _train
from .test_phase1_feature_specificity import _images, descend, recorded_only_when_on, small_critic


def test_the_term_is_one_minus_the_cosine_of_the_tap_gradient_to_the_residual():
    critic = small_critic()
    real, artefact = _images()
    value = descent_alignment_term(critic, real, artefact, torch.Generator().manual_seed(3))
    # By hand: the same draw of the point on the segment, the same batch through the critic.
    t = 0.25 + 0.75 * torch.rand((), generator=torch.Generator().manual_seed(3)).item()
    y = (real + t * (artefact - real)).requires_grad_(True)
    h, b, _ = critic.features(torch.cat([real, y]))
    (grad,) = torch.autograd.grad(sum(torch.mean((f[1] - f[0]) ** 2) for f in (h, b)), y)
    cos = (grad * (y - real)).sum() / (grad.norm() * (y - real).norm())
    torch.testing.assert_close(value, 1 - cos.detach())
    assert 0 <= value.item() <= 2


def test_descending_the_term_turns_the_gradient_towards_the_residual():
    before, after = descend(descent_alignment_term)
    # Measured: 1 - cos falls from 0.48 to 0.19 (a cosine of 0.52 becomes 0.81).
    assert after < before - 0.2


def test_runs_record_the_weight_only_when_it_is_on(tmp_path):
    recorded_only_when_on(tmp_path, "descent_alignment")


def test_the_log_shows_each_term_so_a_run_says_whether_it_is_satisfied(tmp_path):
    _train(tmp_path, name="both", seed=1, config=replace(TINY, feature_specificity=1.0, specificity_cap=5.0,
                                                            descent_alignment=1.0))
    log = [json.loads(line) for line in (tmp_path / "both.safetensors.work" / "log.jsonl").read_text().splitlines()]
    rows = [r for r in log if r["event"] == "iteration" and r["scale"] > 0]
    assert rows and all(0 <= r["alignment_term"] <= 2 and r["specificity_term"] >= 0 for r in rows)  # capped: >= 0
    assert not any("alignment_term" in r for r in log if r["event"] == "iteration" and r["scale"] == 0)


@pytest.mark.parametrize("weight", [-1.0, float("nan"), True])
def test_bad_weights_are_refused(tmp_path, weight):
    with pytest.raises(InvalidInputError, match="descent_alignment"):
        _train(tmp_path, config=replace(TINY, descent_alignment=weight))
    assert main(["train", "--task", "sisr", "--descent-alignment", "-2", "--out", str(tmp_path / "x.safetensors"),
                 "--iterations", "1"]) == 2


def test_the_cap_stops_the_specificity_term_once_the_ratio_is_reached():
    from mdfloss.phase1.steps import feature_specificity_term

    critic = small_critic()
    real, artefact = _images()
    raw = feature_specificity_term(critic, real, artefact, torch.Generator().manual_seed(3))
    ratio = float(torch.exp(-raw.detach()))  # d(real, artefact) / d(real, real + noise)
    below = feature_specificity_term(critic, real, artefact, torch.Generator().manual_seed(3), cap=ratio / 2)
    above = feature_specificity_term(critic, real, artefact, torch.Generator().manual_seed(3), cap=ratio * 2)
    assert below.item() == 0  # reached: nothing more asked
    torch.testing.assert_close(above, raw + torch.log(torch.tensor(ratio * 2)))


def test_a_cap_without_the_specificity_term_is_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="specificity_cap: caps the feature-specificity term"):
        _train(tmp_path, config=replace(TINY, specificity_cap=7.0))
    with pytest.raises(InvalidInputError, match="specificity_cap: expected a ratio >= 0"):
        _train(tmp_path, config=replace(TINY, feature_specificity=1.0, specificity_cap=-2.0))
    assert main(["train", "--task", "sisr", "--specificity-cap", "7", "--out", str(tmp_path / "x.safetensors"),
                 "--iterations", "1"]) == 2
