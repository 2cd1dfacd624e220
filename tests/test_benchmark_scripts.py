"""The benchmark scripts' own computations: l1_convergence_curve (the gain per doubling and the budget it calls
converged) and mdf_term_scale (the colour share of a gradient)."""

from __future__ import annotations

import importlib.util

import pytest

from mdfloss.loss.weights import load_loss_file

from .conftest import REPO


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def curve():
    return _script("l1_convergence_curve")


def _rows(curve, psnrs: dict[int, tuple[float, float]]):
    rows = [{"budget": b, "psnr_rgb_A": a, "psnr_rgb_B": c} for b, (a, c) in sorted(psnrs.items())]
    curve._gains(rows, ["A", "B"])
    return rows


def test_gain_is_the_difference_to_the_budget_before(curve):
    rows = _rows(curve, {1500: (27.0, 25.0), 3000: (27.3, 25.1), 6000: (27.34, 25.13)})
    assert "gain_A" not in rows[0]
    assert rows[1]["gain_A"] == pytest.approx(0.3) and rows[2]["gain_B"] == pytest.approx(0.03)


def test_converged_only_when_every_set_gains_less_than_the_threshold(curve):
    # 3000 -> 6000 gains 0.04 dB on A but 0.06 on B: not yet; 6000 -> 12000 gains 0.01 and 0.02: converged at 6000
    rows = _rows(curve, {1500: (27.0, 25.0), 3000: (27.3, 25.2), 6000: (27.34, 25.26), 12000: (27.35, 25.28)})
    assert curve._converged_at(rows, ["A", "B"], 0.05) == 6000
    assert curve._converged_at(rows[:3], ["A", "B"], 0.05) is None
    assert curve._converged_at(rows[:3], ["A"], 0.05) == 3000


def test_reuse_refuses_a_malformed_entry(curve, tmp_path):
    with pytest.raises(SystemExit, match="--reuse: expected BUDGET=MODEL"):
        curve._parse_reuse(["1500"])
    with pytest.raises(SystemExit, match="--reuse"):
        curve._parse_reuse([f"1500={tmp_path / 'missing.pt'}"])


def test_chroma_share_splits_grey_from_colour():
    torch = pytest.importorskip("torch")
    share = _script("mdf_term_scale").chroma_share
    grey = torch.ones(2, 3, 4, 4) * torch.randn(2, 1, 4, 4)
    assert share(grey) == pytest.approx(0.0, abs=1e-6)
    colour = torch.tensor([1.0, -1.0, 0.0]).view(1, 3, 1, 1) * torch.randn(2, 1, 4, 4)  # R - G: no brightness change
    assert share(colour) == pytest.approx(1.0, abs=1e-6)
    # independent noise per channel: 2 of 3 dimensions are colour
    assert share(torch.randn(1, 3, 256, 256, generator=torch.Generator().manual_seed(0))) == pytest.approx(2 / 3, abs=0.01)


def test_training_image_terms_rebuild_the_run_and_refuse_another_image(tmp_path):
    # A tiny Phase-1 run on the bundled photo with the capped specificity term and descent alignment: the script
    # rebuilds the run's pyramid from the loss file's settings (as many scales as the loss has critics) and
    # measures both terms on the finest critic there.
    from dataclasses import replace

    import numpy as np
    from PIL import Image

    from .test_phase1 import TINY, _train

    script = _script("critic_terms_on_training_image")
    config = replace(TINY, feature_specificity=1.0, specificity_cap=5.0, descent_alignment=1.0)
    weights = _train(tmp_path, name="t", task="sisr", config=config)
    pyr, _ = script.training_pyramid(load_loss_file(tmp_path / "t.safetensors"))
    assert len(pyr.reals) == len(weights.critics)
    t = script.terms(str(tmp_path / "t.safetensors"))
    assert t["tap_ratio"] > 0 and 0 <= t["one_minus_cos"] <= 2
    other = tmp_path / "other.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(other)
    _train(tmp_path, name="o", task="sisr", image=other)
    with pytest.raises(SystemExit, match="not the bundled photo"):
        script.terms(str(tmp_path / "o.safetensors"))
