"""Drop-ins, precision, foreign checkpoints and the network options: each setting's effect on the result (a
drop-in's value equals mdfloss's own for the same setting), and each documented range at both ends and just
outside."""

from __future__ import annotations

import pytest
import torch

from mdfloss import mdf_loss as mdf_value
from mdfloss.common.errors import InvalidInputError


def _pair():
    g = torch.Generator().manual_seed(0)
    return torch.rand(1, 3, 96, 96, generator=g), torch.rand(1, 3, 96, 96, generator=g)


def _dropins():
    from mdfloss.integrations.neosr import mdf_loss
    from mdfloss.integrations.trainner_redux import MDFLoss as Redux

    out = {"neosr": lambda w, **kw: mdf_loss(loss_weight=w, **kw),
           "trainner-redux": lambda w, **kw: Redux(w, **kw)}
    try:
        from mdfloss.integrations.basicsr import MDFLoss as BasicSR
    except Exception:  # noqa: BLE001 - the basicsr extra is optional
        return out
    out["basicsr"] = lambda w, **kw: BasicSR(loss_weight=w, **kw)
    return out


@pytest.mark.parametrize("kw", [{"scales": [4]}, {"taps": ["head"]}, {"normalize": True}, {"mode": "reference"}])
def test_dropin_results_equal_mdfloss_own(kw):
    x, y = _pair()
    own = float(mdf_value(x, y, "sisr", **kw))
    assert own != pytest.approx(float(mdf_value(x, y, "sisr")), rel=1e-3)  # the setting changes the loss
    for name, make in _dropins().items():
        loss = make(0.25, loss="sisr", **kw)
        value = float(loss(x, y))
        # traiNNer-redux weighs the loss itself (by loss.loss_weight); the others return it weighted
        weighted = value * 0.25 if name == "trainner-redux" else value
        assert weighted == pytest.approx(0.25 * own, rel=1e-5), (name, kw)
        assert loss.loss_weight == 0.25


def test_basicsr_as_perceptual_returns_the_weighted_loss_and_no_style():
    pytest.importorskip("basicsr")
    from mdfloss.integrations.basicsr import MDFLoss

    x, y = _pair()
    perceptual, style = MDFLoss(loss="sisr", loss_weight=0.5, as_perceptual=True)(x, y)
    assert style is None and float(perceptual) == pytest.approx(0.5 * float(mdf_value(x, y, "sisr")), rel=1e-5)


def test_dropin_weight_ranges():
    for name, make in _dropins().items():
        for ok in (1e-12, 1e6):
            assert make(ok, loss="sisr").loss_weight == ok
        bad = [0, 0.0, float("inf"), float("nan"), True, "1"] + ([] if name == "trainner-redux" else [-1e-12])
        for value in bad:
            with pytest.raises(InvalidInputError, match="loss_weight"):
                make(value, loss="sisr")
    from mdfloss.integrations.trainner_redux import MDFLoss

    assert MDFLoss(-0.5, loss="sisr").loss_weight == -0.5  # traiNNer-redux: negative means "against the LR input"


def test_bf16_term_computes_in_bfloat16():
    from mdfloss.restoration.losses.precision import Bfloat16Term

    class ConvDistance(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 8, 3)
            torch.nn.init.normal_(self.conv.weight, generator=torch.Generator().manual_seed(0))

        def forward(self, p, t):
            return (self.conv(p) - self.conv(t)).square().mean()

    inner = ConvDistance()
    x, y = _pair()
    full = inner(x, y)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        by_hand = inner(x, y).float()
    value = Bfloat16Term("conv", inner)(x, y)
    assert value.dtype == torch.float32 and float(value) == float(by_hand)
    assert float(value) != float(full) and float(value) == pytest.approx(float(full), rel=0.05)


def test_foreign_checkpoint_prefers_ema(tmp_path):
    from mdfloss.restoration.foreign_models import read_state

    ema, plain = {"w": torch.ones(2)}, {"w": torch.zeros(2)}
    torch.save({"params": plain, "params_ema": ema}, tmp_path / "both.pth")
    torch.save({"params": plain}, tmp_path / "plain.pth")
    assert torch.equal(read_state(tmp_path / "both.pth", "--model")["w"], ema["w"])  # BasicSR's EMA weights first
    assert torch.equal(read_state(tmp_path / "plain.pth", "--model")["w"], plain["w"])


def _conv_count(model: torch.nn.Module) -> int:
    return sum(isinstance(m, torch.nn.Conv2d) for m in model.modules())


def test_network_options_build_what_they_name():
    from mdfloss.restoration.models import build_model
    from mdfloss.restoration.presets import network_options, restorer_preset

    base = restorer_preset("denoise", "cpu")
    for depth in (3, 6):
        p = network_options(base, "denoise", depth=depth, width=5)
        net = build_model(p.model, scale=1)
        assert _conv_count(net) == depth and net.state_dict()[next(iter(net.state_dict()))].shape[0] == 5
    sr = network_options(restorer_preset("sisr", "cpu"), "sisr", depth=2, width=8, lr=3e-4, patch=48)
    assert (sr.lr, sr.patch, sr.model["num_blocks"], sr.model["channels"]) == (3e-4, 48, 2, 8)
    blocks = [build_model(network_options(restorer_preset("sisr", "cpu"), "sisr", depth=d).model, scale=4)
              for d in (1, 3)]
    assert _conv_count(blocks[1]) - _conv_count(blocks[0]) == 4  # two more residual blocks of two convs


def test_network_options_ranges():
    from mdfloss.restoration.presets import network_options, restorer_preset

    base = restorer_preset("denoise", "cpu")
    for name in ("width", "depth", "patch"):
        assert network_options(base, "denoise", **{name: 1}) is not None  # the low end
        for bad in (0, -1, 1.5, True):
            with pytest.raises(InvalidInputError, match=f"--{name}"):
                network_options(base, "denoise", **{name: bad})
    assert network_options(base, "denoise", lr=1e-12).lr == 1e-12
    for bad in (0.0, -1e-4, float("inf"), float("nan")):
        with pytest.raises(InvalidInputError, match="--lr"):
            network_options(base, "denoise", lr=bad)
    with pytest.raises(InvalidInputError, match="multiple of the task's size factor 4"):
        network_options(restorer_preset("sisr", "cpu"), "sisr", patch=50)


def test_dropin_reduction_and_calibrated_pass_through():
    pytest.importorskip("basicsr")
    from mdfloss.integrations.basicsr import MDFLoss

    g = torch.Generator().manual_seed(4)
    x, y = torch.rand(2, 3, 96, 96, generator=g), torch.rand(2, 3, 96, 96, generator=g)
    per_image = mdf_value(x, y, "sisr", reduction="none")
    assert float(MDFLoss(loss="sisr", reduction="sum")(x, y)) == pytest.approx(float(per_image.sum()), rel=1e-5)
    assert float(MDFLoss(loss="sisr")(x, y)) == pytest.approx(float(per_image.mean()), rel=1e-5)


def test_dropin_calibrated_passes_through(tmp_path):
    from mdfloss.analysis.artefacts import task_artefact
    from mdfloss.analysis.calibrate import calibrate
    from mdfloss.common.imageio import read_image
    from mdfloss.loss.assets import bundled_image_path
    from mdfloss.loss.weights import load_loss_file, save_loss_file

    from .conftest import REPO

    weights = load_loss_file(REPO / "tests" / "fixtures" / "fast_jpeg.safetensors")
    image = read_image(bundled_image_path())[..., 60:188, 100:228]
    path = tmp_path / "calibrated.safetensors"
    save_loss_file(path, calibrate(weights, task_artefact("jpeg", {"quality": 10}), [image], draws=1))
    x, y = _pair()
    on, off = (float(mdf_value(x, y, path, calibrated=c)) for c in (True, False))
    assert on != pytest.approx(off, rel=1e-3)  # the calibrated taps change the loss
    for name, make in _dropins().items():
        for flag, want in ((True, on), (False, off), (None, on)):  # None: the file's calibration when it has one
            value = float(make(1.0, loss=str(path), calibrated=flag)(x, y))
            assert value == pytest.approx(want, rel=1e-5), (name, flag)
