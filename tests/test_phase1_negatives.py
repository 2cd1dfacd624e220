"""Degraded negatives in Phase 1: what the critic sees, the settings record, the refusals."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from mdfloss import InvalidInputError
from mdfloss.cli import main
from mdfloss.common.resize import resize
from mdfloss.phase1.distortions import make_distortion
from mdfloss.phase1.pyramid import build_pyramid, to_01, to_pm1
from mdfloss.phase1.steps import Phase1Config, degraded_real

from .test_phase1 import TINY, _train

#: The settings of Phase 1 as 0.1 wrote them: runs and checkpoints from then must keep their fingerprint.
KEYS_0_1 = {"max_size", "min_size", "scale_factor", "iterations", "critic_steps", "generator_steps", "lr", "betas",
            "lr_decay_at", "lr_decay", "gp_weight", "rec_weight", "noise_amp", "base_width", "max_width",
            "width_every", "max_critic_gap"}


def test_settings_record_the_option_only_when_it_is_on():
    assert set(Phase1Config().to_dict()) == KEYS_0_1
    on = replace(Phase1Config(), degraded_negatives=2.5).to_dict()
    assert set(on) == KEYS_0_1 | {"degraded_negatives"} and on["degraded_negatives"] == 2.5
    # The fingerprint of an old run is unchanged, so it still resumes.
    blob = json.dumps([Phase1Config().to_dict(), {"name": "jpeg"}, "sha", 0], sort_keys=True)
    old = {k: v for k, v in Phase1Config().to_dict().items() if k in KEYS_0_1}
    assert blob == json.dumps([old, {"name": "jpeg"}, "sha", 0], sort_keys=True)


def test_degraded_real_is_the_real_image_below_upsampled_and_distorted():
    img = torch.rand(1, 3, 60, 80, generator=torch.Generator().manual_seed(0))
    pyr = build_pyramid(img, TINY, torch.device("cpu"))
    jpeg = make_distortion("jpeg", {"quality": 10})
    assert degraded_real(0, pyr, jpeg, torch.Generator()) is None  # the coarsest scale has no input image
    assert len(pyr.reals) >= 2
    got = degraded_real(1, pyr, jpeg, torch.Generator().manual_seed(1))
    up = resize(pyr.reals[0], pyr.reals[1].shape[-2:])
    expected = to_pm1(jpeg(to_01(up).clamp(0, 1), torch.Generator().manual_seed(1)))
    torch.testing.assert_close(got, expected)
    assert got.shape == pyr.reals[1].shape and not torch.allclose(got, pyr.reals[1], atol=1e-3)


def test_a_run_with_negatives_logs_their_gap_and_trains_other_critics(tmp_path):
    plain = _train(tmp_path, name="plain", seed=1)
    neg = _train(tmp_path, name="neg", seed=1, config=replace(TINY, degraded_negatives=2.0))
    assert neg.metadata["training_config"]["degraded_negatives"] == 2.0
    assert "degraded_negatives" not in plain.metadata["training_config"]
    # Scale 0 has no negatives, so its critic is the same as without them; the finer ones differ.
    assert all(torch.equal(plain.critics[0][k], neg.critics[0][k]) for k in plain.critics[0])
    assert any(not torch.equal(plain.critics[-1][k], neg.critics[-1][k]) for k in plain.critics[-1])
    log = [json.loads(line) for line in (tmp_path / "neg.safetensors.work" / "log.jsonl").read_text().splitlines()]
    gaps = [r for r in log if r["event"] == "iteration" and "negative_gap" in r]
    assert gaps and all(r["scale"] > 0 for r in gaps)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), True])
def test_negative_weights_out_of_range_are_refused(tmp_path, bad):
    with pytest.raises(InvalidInputError, match=r"degraded_negatives: expected a weight >= 0"):
        _train(tmp_path, config=replace(TINY, degraded_negatives=bad))
    assert not (tmp_path / "loss.safetensors").exists()


def test_cli_option(tmp_path, capsys):
    out = tmp_path / "x.safetensors"
    assert main(["train", "--task", "jpeg", "--preset", "fast", "--iterations", "1", "--degraded-negatives", "-2",
                 "--out", str(out)]) == 2
    assert "degraded_negatives: expected a weight >= 0 (0 = off), got -2.0" in capsys.readouterr().err
    assert not out.exists()
