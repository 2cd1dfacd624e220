"""Perceptual metrics (ColorVideoVDP, FLIP, piq) and LPIPS, checked against their libraries."""

from __future__ import annotations

import pytest
import torch

from mdfloss import InvalidInputError, WeightFileError
from mdfloss.common.imageio import read_image
from mdfloss.restoration.losses.lpips import _CHANNELS, _TAPS, LPIPS
from mdfloss.restoration.losses.spec import build_loss
from mdfloss.restoration.metric_table import METRICS, compute, higher_is_better
from mdfloss.restoration.perceptual import DEFAULT_JOD_DISPLAY, jod

from .conftest import DATA, need


@pytest.fixture(scope="module")
def clean() -> torch.Tensor:
    path = sorted(need(DATA / "CBSD68").iterdir())[0]
    return read_image(path)[:, :, :128, :128]


def perceptual(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """JOD, FLIP, HaarPSI and MDSI of one pair, as the evaluation computes them (the metric table)."""
    return {name: value for name, value in compute(pred, target, perceptual=True, context={
        "jod_display": DEFAULT_JOD_DISPLAY}).items() if METRICS[name].perceptual}


def _noisy(x: torch.Tensor, sigma: float) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.round((x + sigma / 255 * torch.randn(x.shape, generator=g)).clamp(0, 1) * 255) / 255


def test_identical_images_score_perfect(clean):
    m = perceptual(clean, clean)
    assert m["jod"] == pytest.approx(10.0, abs=1e-3)
    assert m["flip"] == pytest.approx(0.0, abs=1e-6)
    assert m["haarpsi"] == pytest.approx(1.0, abs=1e-4)
    assert m["mdsi"] == pytest.approx(0.0, abs=1e-3)


def test_every_metric_orders_noise_levels(clean):
    mild, strong = perceptual(_noisy(clean, 5), clean), perceptual(_noisy(clean, 25), clean)
    for name, higher in ((m, higher_is_better(m)) for m in ("jod", "flip", "haarpsi", "mdsi")):
        assert (mild[name] > strong[name]) == higher, (name, mild[name], strong[name])


def test_jod_matches_cvvdp_called_directly(clean):
    """Our float CHW wrapper gives the same JOD as pycvvdp fed 8-bit HWC images itself."""
    import pycvvdp

    test = _noisy(clean, 15)
    metric = pycvvdp.cvvdp(display_name="standard_fhd", quiet=True, device=torch.device("cpu"))
    to_u8 = lambda x: (x[0].permute(1, 2, 0) * 255).round().to(torch.uint8)  # noqa: E731
    direct, _ = metric.predict(to_u8(test), to_u8(clean), dim_order="HWC")
    assert jod(test, clean) == pytest.approx(float(direct), abs=1e-4)


def test_default_display_shows_noise_more_than_4k(clean):
    """Why standard_fhd: at 38 ppd sigma-25 noise costs more JOD than at 4k's 75 ppd."""
    noisy = _noisy(clean, 25)
    assert 10 - jod(noisy, clean) > 10 - jod(noisy, clean, display="standard_4k")


def test_unknown_display_is_refused(clean):
    with pytest.raises(InvalidInputError, match=r"jod_display: 'crt_1990' is not a ColorVideoVDP display"):
        jod(clean, clean, display="crt_1990")


def _random_lpips() -> LPIPS:
    net = LPIPS()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
        for lin in net.lins:
            lin.weight.abs_()  # LPIPS heads are non-negative
    return net


def test_lpips_matches_piq_content_loss():
    """LPIPS = piq's ContentLoss with unit-normalised features and per-channel weights."""
    from piq.perceptual import ContentLoss

    net = _random_lpips()
    reference = ContentLoss(
        feature_extractor=net.features, layers=[str(i) for i in _TAPS],
        weights=[lin.weight.detach().view(1, -1, 1, 1) for lin in net.lins],
        mean=((1 + net.shift) / 2).flatten().tolist(), std=(net.scale / 2).flatten().tolist(),
        normalize_features=True, reduction="none",
    )
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(2, 3, 48, 48, generator=g), torch.rand(2, 3, 48, 48, generator=g)
    torch.testing.assert_close(net(x, y), reference(x, y), rtol=1e-5, atol=1e-7)


def _lpips_package_state(net: LPIPS) -> dict[str, torch.Tensor]:
    """The key layout of ``lpips.LPIPS(net='vgg').state_dict()``."""
    bounds = [0, *(t + 1 for t in _TAPS)]
    state = {"scaling_layer.shift": net.shift.view(1, 3, 1, 1), "scaling_layer.scale": net.scale.view(1, 3, 1, 1)}
    for k, v in net.features.state_dict().items():
        index = int(k.split(".")[0])
        slice_no = next(s for s in range(5) if bounds[s] <= index < bounds[s + 1]) + 1
        state[f"net.slice{slice_no}.{k}"] = v
    for i, lin in enumerate(net.lins):
        state[f"lin{i}.model.1.weight"] = lin.weight.detach()
    return state


def test_lpips_spec_loads_the_lpips_package_layout(tmp_path):
    net = _random_lpips()
    torch.save(_lpips_package_state(net), tmp_path / "lpips_vgg.pth")
    loss = build_loss(f"lpips:{tmp_path / 'lpips_vgg.pth'}")
    p = torch.rand(2, 3, 40, 40, requires_grad=True)
    t = torch.rand(2, 3, 40, 40)
    value = loss(p, t)
    assert value.item() == pytest.approx(net(p, t).mean().item(), rel=1e-6)
    value.backward()
    assert p.grad is not None and p.grad.abs().sum() > 0
    assert all(not q.requires_grad for q in loss.parameters())
    assert len(_CHANNELS) == len(net.lins)


def test_lpips_errors(tmp_path):
    with pytest.raises(InvalidInputError, match=r"loss lpips: needs a local weights file"):
        build_loss("lpips")
    state = _lpips_package_state(_random_lpips())
    del state["lin4.model.1.weight"]
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(WeightFileError, match=r"lacks 1 tensors .*lins.4.weight"):
        LPIPS.from_file(tmp_path / "partial.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightFileError, match=r"cannot read"):
        LPIPS.from_file(tmp_path / "junk.pth")
