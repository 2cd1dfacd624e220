"""One default mode for the MDF loss everywhere (pyramid since 0.2), the old one reachable, one name for the loss."""

from __future__ import annotations

import inspect

import pytest
import torch

from mdfloss import MDFLoss, mdf_loss
from mdfloss.common.errors import InvalidInputError
from mdfloss.restoration.losses.spec import build_loss, implicit_settings


def _pair():
    g = torch.Generator().manual_seed(0)
    return torch.rand(1, 3, 96, 96, generator=g), torch.rand(1, 3, 96, 96, generator=g)


def test_the_default_mode_is_pyramid_in_the_api_the_spec_and_the_cli():
    x, y = _pair()
    pyramid = float(MDFLoss.pretrained("sisr", mode="pyramid")(x, y))
    reference = float(MDFLoss.pretrained("sisr", mode="reference")(x, y))
    assert pyramid != pytest.approx(reference, rel=1e-3)  # the two modes differ, so the checks below mean something
    assert float(MDFLoss.pretrained("sisr")(x, y)) == pytest.approx(pyramid, rel=1e-6)
    assert float(mdf_loss(x, y, "sisr")) == pytest.approx(pyramid, rel=1e-6)
    assert float(build_loss("mdf:sisr")(x, y)) == pytest.approx(pyramid, rel=1e-6)
    assert float(build_loss("mdf:sisr@reference")(x, y)) == pytest.approx(reference, rel=1e-6)
    from mdfloss.cli.loss import compare

    assert next(p for p in compare.params if p.name == "mode").default == "pyramid"


def test_the_basicsr_drop_in_defaults_to_the_same_mode():
    from mdfloss.integrations.basicsr import MDFLoss as BasicSRLoss

    assert inspect.signature(BasicSRLoss.__init__).parameters["mode"].default == "pyramid"
    x, y = _pair()
    assert float(BasicSRLoss(loss="sisr")(x, y)) == pytest.approx(float(mdf_loss(x, y, "sisr")), rel=1e-6)


def test_reference_mode_still_refuses_images_below_the_receptive_field():
    x = torch.rand(1, 3, 10, 32)
    with pytest.raises(InvalidInputError, match=r"smaller than the critics' receptive field \(11 px\)"):
        MDFLoss.pretrained("published-jpeg", mode="reference")(x, x)


def test_half_precision_inputs_work_in_pyramid_mode():
    x, y = _pair()
    full = float(mdf_loss(x, y, "sisr"))
    assert float(mdf_loss(x.bfloat16(), y.bfloat16(), "sisr")) == pytest.approx(full, rel=0.05)


def test_mdf_loss_takes_loss_and_warns_on_weights():
    x, y = _pair()
    by_loss = float(mdf_loss(x, y, loss="jpeg"))
    with pytest.warns(DeprecationWarning, match="mdf_loss\\(loss=...\\)"):
        assert float(mdf_loss(x, y, weights="jpeg")) == by_loss
    assert "loss" in inspect.signature(MDFLoss.load).parameters
    assert "loss" in inspect.signature(MDFLoss.random).parameters


@pytest.mark.parametrize("spec, implicit", [
    ("mdf:sisr", True), ("l2+0.1*mdf:sisr@finest=1", True), ("l2+0.1*mdf@bf16", True),
    ("mdf:sisr@pyramid", False), ("l2+0.1*mdf:sisr@reference@bf16", False), ("l1", False), ("l2+0.1*msswd", False),
])
def test_runs_record_the_mode_a_spec_leaves_to_the_default(spec, implicit):
    # A run recorded before 0.2 has no such key, so the benchmark neither reuses nor resumes it as this loss.
    assert implicit_settings(spec) == ({"mdf_default_mode": "pyramid"} if implicit else {})
