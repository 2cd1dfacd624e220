"""Properties of MDFLoss / mdf_loss in both modes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mdfloss import InvalidInputError, MDFLoss, mdf_loss
from mdfloss.loss.assets import pretrained_path
from mdfloss.loss.weights import load_loss_file

MODES = ["reference", "pyramid"]


def _pair(rng, n=2, size=(48, 40), dtype=torch.float32):
    x = torch.rand(n, 3, *size, generator=rng, dtype=dtype)
    y = (x + 0.1 * torch.randn(x.shape, generator=rng, dtype=dtype)).clamp(0, 1)
    return x, y


@pytest.fixture(scope="module", params=MODES)
def loss(request) -> MDFLoss:
    return MDFLoss.pretrained("published-jpeg", mode=request.param)


def test_identical_inputs_give_zero(loss, rng):
    x, _ = _pair(rng, size=(96, 96))
    assert loss(x, x).item() == 0.0


def test_symmetric_and_positive(loss, rng):
    x, y = _pair(rng, size=(96, 96))
    a, b = loss(x, y), loss(y, x)
    assert a.item() > 0
    torch.testing.assert_close(a, b, rtol=1e-6, atol=0)


def test_reductions(rng):
    x, y = _pair(rng, n=3, size=(64, 64))
    none = MDFLoss.pretrained("published-jpeg", reduction="none")(x, y)
    assert none.shape == (3,) and (none > 0).all()
    torch.testing.assert_close(MDFLoss.pretrained("published-jpeg", reduction="mean")(x, y), none.mean())
    torch.testing.assert_close(MDFLoss.pretrained("published-jpeg", reduction="sum")(x, y), none.sum())
    # Per-image values do not depend on the rest of the batch.
    torch.testing.assert_close(none[1:2], MDFLoss.pretrained("published-jpeg", reduction="none")(x[1:2], y[1:2]))


@pytest.mark.parametrize("mode", MODES)
def test_gradients_finite_and_nonzero(mode, rng):
    x, y = _pair(rng, size=(96, 80))
    x.requires_grad_(True)
    MDFLoss.pretrained("published-sisr", mode=mode)(x, y).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("mode", MODES)
def test_gradcheck_float64(mode, rng):
    weights = load_loss_file(pretrained_path("published-jpeg"))
    loss = MDFLoss(weights, mode=mode, scales=[6, 7] if mode == "pyramid" else [0, 5], reduction="sum")
    size = (13, 12) if mode == "reference" else (15, 16)  # scale 6 sees round(0.75 * 15) = 11 px
    x = torch.rand(1, 3, *size, generator=rng, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 3, *size, generator=rng, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: loss(a, y), (x,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_followed(dtype, rng):
    x, y = _pair(rng, size=(32, 32), dtype=dtype)
    out = MDFLoss.pretrained("published-jpeg")(x, y)
    assert out.dtype == dtype and out.device == x.device


def test_autocast_bfloat16_close(rng):
    x, y = _pair(rng, size=(64, 64))
    loss = MDFLoss.pretrained("published-sisr")
    full = loss(x, y)
    x.requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = loss(x, y)
    low.backward()
    assert torch.isfinite(x.grad).all()
    assert abs(low.item() - full.item()) / full.item() < 0.02


def test_grey_is_repeated_to_rgb(rng):
    g = torch.rand(1, 1, 40, 40, generator=rng)
    h = torch.rand(1, 1, 40, 40, generator=rng)
    loss = MDFLoss.pretrained("published-jpeg")
    torch.testing.assert_close(loss(g, h), loss(g.expand(-1, 3, -1, -1), h.expand(-1, 3, -1, -1)))


def test_frozen_critics_stay_out_of_training():
    loss = MDFLoss.pretrained("published-jpeg")
    model = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1))
    model.loss = loss
    assert list(loss.parameters()) == []
    assert sum(p.numel() for p in model.parameters()) == 3 * 3 * 9 + 3
    model.train()
    assert all(not m.training for m in loss.critics.modules())
    assert all(not b.requires_grad for b in loss.buffers())


def test_data_range_maps_to_same_value(rng):
    x, y = _pair(rng, size=(48, 48))
    a = MDFLoss.pretrained("published-jpeg")(x, y)
    b = MDFLoss.pretrained("published-jpeg", data_range=255.0)(x * 255, y * 255)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_scales_and_taps_are_configurable(rng):
    x, y = _pair(rng, size=(48, 48))
    parts = [MDFLoss.pretrained("published-jpeg", mode="reference", scales=[k], taps=[t])(x, y)
             for k in range(8) for t in ("head", "body", "tail")]
    whole = MDFLoss.pretrained("published-jpeg", mode="reference")(x, y)
    torch.testing.assert_close(sum(parts), whole, rtol=1e-5, atol=0)
    assert MDFLoss.pretrained("published-sisr").scales == list(range(8))  # the paper's choice


def test_pyramid_skips_scales_below_receptive_field(rng):
    loss = MDFLoss.pretrained("published-sisr", mode="pyramid", reduction="none")
    x, y = _pair(rng, n=1, size=(48, 48))
    # By hand: the published SISR file has 9 critics, scale k shown at 0.75 ** (8 - k) of the input;
    # at 48 px the default scales 0..7 see 5, 6, 9, 11, 15, 20, 27 and 36 px. The critics' receptive
    # field is 11 px, so scales 0, 1 and 2 are skipped and 3..7 are kept.
    alone = MDFLoss.pretrained("published-sisr", mode="pyramid", scales=[3, 4, 5, 6, 7], reduction="none")
    torch.testing.assert_close(loss(x, y), alone(x, y))
    with pytest.raises(InvalidInputError, match=r"too small for pyramid mode"):
        MDFLoss.pretrained("published-sisr", mode="pyramid", scales=[0, 1, 2])(x, y)


@pytest.mark.parametrize("k", [3, 6, 8])
def test_pyramid_scale_equals_reference_on_a_hand_resized_image(rng, k):
    """Scale k alone in pyramid mode = reference mode's scale k on the image resized by hand."""
    import torch.nn.functional as F

    x, y = _pair(rng, n=2, size=(60, 52))
    factor = 0.75 ** (8 - k)  # SinGAN's ratio, as recorded for the published file's 9 critics
    size = (round(60 * factor), round(52 * factor))
    small = [F.interpolate(t, size=size, mode="bicubic", align_corners=False, antialias=True) for t in (x, y)]
    pyramid = MDFLoss.pretrained("published-sisr", mode="pyramid", scales=[k], reduction="none")(x, y)
    reference = MDFLoss.pretrained("published-sisr", mode="reference", scales=[k], reduction="none",
                                   check_range=False)(*small)
    torch.testing.assert_close(pyramid, reference, rtol=1e-6, atol=0)
    # ...and not the full-resolution value, unless k is the finest scale.
    full = MDFLoss.pretrained("published-sisr", mode="reference", scales=[k], reduction="none")(x, y)
    assert (k == 8) == torch.allclose(pyramid, full, rtol=1e-6, atol=0)


def test_function_matches_module(rng):
    x, y = _pair(rng, size=(40, 40))
    for mode in MODES:
        torch.testing.assert_close(
            mdf_loss(x, y, "published-jpeg", mode=mode, reduction="none"),
            MDFLoss.pretrained("published-jpeg", mode=mode, reduction="none")(x, y),
        )
    torch.testing.assert_close(mdf_loss(x, y, load_loss_file(pretrained_path("published-jpeg"))),
                               MDFLoss.pretrained("published-jpeg")(x, y))


def test_metadata_exposed():
    meta = MDFLoss.pretrained("published-jpeg").metadata
    assert meta["task"] == "jpeg" and meta["published"] is True and meta["format_version"] == 1
    assert len(meta["architecture"]) == 8


@pytest.mark.parametrize("how", ["bf16 input", "fp16 input", "bf16 autocast", "parent .half()",
                                 "parent .to(bfloat16)"])
def test_the_loss_never_changes_itself(how):
    """A low-precision call, or a parent cast, leaves the next float32 call bit-identical."""
    loss = MDFLoss.pretrained("sisr")
    x = torch.rand(2, 3, 48, 48, generator=torch.Generator().manual_seed(0))
    y = torch.rand(2, 3, 48, 48, generator=torch.Generator().manual_seed(1))
    before = loss(x, y)
    if how == "bf16 input":
        loss(x.bfloat16(), y.bfloat16())
    elif how == "fp16 input":
        loss(x.half(), y.half())
    elif how == "bf16 autocast":
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss(x, y)
    else:
        parent = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1), loss)
        parent.half() if how == "parent .half()" else parent.to(torch.bfloat16)
    assert all(b.dtype == torch.float32 for b in loss.buffers())
    after = loss(x, y)
    assert torch.equal(before, after), (before.item(), after.item())


def test_function_form_caches_weights_not_modules():
    from mdfloss.loss import mdf

    x = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(0))
    y = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(1))
    mdf._cached_weights.cache_clear()
    first = mdf_loss(x, y, "sisr")
    mdf_loss(x.bfloat16(), y.bfloat16(), "sisr")  # would have cast a cached module's buffers before
    assert torch.equal(mdf_loss(x, y, "sisr"), first)
    assert torch.equal(first, MDFLoss.pretrained("sisr")(x, y))
    info = mdf._cached_weights.cache_info()
    assert info.misses == 1 and info.hits == 2  # the file was read once
