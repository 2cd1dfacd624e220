"""The comparison's controls and peers: random critics, random VGG19 and LPIPS, MS-SWD and the focal frequency
loss. Each: its value checked by hand or against a reference implementation, gradients flow, every option changes
the result, bad options are refused in one line."""

from __future__ import annotations

import math

import pytest
import torch

from mdfloss import MDFLoss
from mdfloss.common.errors import InvalidInputError
from mdfloss.loss.assets import pretrained_path
from mdfloss.loss.random_critics import INIT_STD, random_critics
from mdfloss.loss.weights import load_loss_file
from mdfloss.phase1.nets import Critic, init_weights
from mdfloss.restoration.losses.lpips import LPIPS, _TAPS
from mdfloss.restoration.losses.spec import build_loss, loss_table
from mdfloss.restoration.losses.vgg import random_vgg19
from mdfloss.restoration.losses.weight_free import (
    FocalFrequencyLoss,
    MSSWDLoss,
    focal_frequency_loss,
    ms_swd_loss,
    srgb_to_lab,
)


def _pair(seed: int = 0, size: int = 48, n: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(n, 3, size, size, generator=g)
    return (t + 0.1 * torch.randn(t.shape, generator=g)).clamp(0, 1), t


def _value(spec: str, p: torch.Tensor, t: torch.Tensor) -> float:
    return float(build_loss(spec)(p, t))


# ----- random critics ---------------------------------------------------------------------------------------------

def test_random_critics_are_phase1_initialisation_drawn_in_its_order():
    weights = load_loss_file(pretrained_path("sisr"))
    drawn = random_critics(weights, seed=7)
    gen = torch.Generator().manual_seed(7)
    for k, width in enumerate(weights.widths):
        critic = Critic(width)
        init_weights(critic, gen)
        state = {key: v for key, v in critic.state_dict().items() if not key.endswith("num_batches_tracked")}
        assert set(state) == set(drawn.critics[k])
        for key, value in state.items():
            assert torch.equal(value, drawn.critics[k][key]), (k, key)
    assert drawn.widths == weights.widths
    assert drawn.metadata["scale_factors"] == weights.metadata["scale_factors"]
    assert drawn.metadata["random_seed"] == 7 and drawn.metadata["training_config"] is None
    conv = torch.cat([c["head.conv.weight"].flatten() for c in drawn.critics])
    assert abs(float(conv.std()) - INIT_STD) < 0.002


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_random_critics_refuse_a_bad_seed(seed):
    with pytest.raises(InvalidInputError, match="seed: expected a non-negative integer"):
        random_critics(load_loss_file(pretrained_path("sisr")), seed)


def test_mdf_random_option_replaces_the_weights_and_keeps_the_options():
    p, t = _pair(size=64)
    trained = _value("mdf:sisr@pyramid", p, t)
    rand0 = _value("mdf:sisr@pyramid@random=0", p, t)
    assert rand0 != pytest.approx(trained, rel=1e-3)
    assert _value("mdf:sisr@pyramid@random=0", p, t) == rand0  # the seed fixes the critics
    assert _value("mdf:sisr@pyramid@random=1", p, t) != pytest.approx(rand0, rel=1e-4)
    # the same as the API, with the same modes and options
    api = MDFLoss.random("sisr", seed=0, mode="pyramid", check_range=False)
    assert float(api(p, t)) == pytest.approx(rand0, rel=1e-6)
    assert _value("mdf:sisr@reference@random=0", p, t) != pytest.approx(rand0, rel=1e-3)
    finest = _value("mdf:sisr@pyramid@finest=1@random=0", p, t)
    assert finest == pytest.approx(float(MDFLoss.random("sisr", 0, mode="pyramid", scales=[7])(p, t)), rel=1e-6)


def test_mdf_random_critics_pass_gradients_and_ignore_training():
    p, t = _pair(size=64)
    loss = build_loss("mdf:sisr@pyramid@random=0@bf16")
    x = p.clone().requires_grad_(True)
    value = loss(x, t)
    value.backward()
    assert value.dtype == torch.float32 and float(x.grad.abs().sum()) > 0
    assert not list(loss.parameters())  # frozen buffers: the restorer's optimiser never sees them
    assert float(build_loss("mdf:sisr@pyramid@random=0")(t, t)) == 0.0


@pytest.mark.parametrize("opt", ["random=", "random=x", "random=-1", "random=1.5"])
def test_mdf_random_option_refuses_a_bad_seed(opt):
    with pytest.raises(InvalidInputError, match="unknown option"):
        build_loss(f"mdf:sisr@{opt}")


# ----- random VGG19 and LPIPS ------------------------------------------------------------------------------------

def test_random_vgg19_follows_torchvision_initialisation():
    net = random_vgg19(seed=3)
    convs = [m for m in net if isinstance(m, torch.nn.Conv2d)]
    for conv in convs[:4] + convs[-2:]:
        fan_out = conv.out_channels * 9
        assert float(conv.weight.std()) == pytest.approx(math.sqrt(2 / fan_out), rel=0.1)
        assert float(conv.bias.abs().max()) == 0
    again = random_vgg19(seed=3)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))
    assert not torch.equal(convs[0].weight, random_vgg19(seed=4)[0].weight)
    assert not any(p.requires_grad for p in net.parameters())


def test_random_lpips_is_the_unweighted_baseline_by_hand():
    p, t = _pair(size=32)
    net = LPIPS.random(seed=2)
    shift, scale = net.shift, net.scale
    x, y = ((p * 2 - 1) - shift) / scale, ((t * 2 - 1) - shift) / scale
    want = torch.zeros(p.shape[0])
    for i, layer in enumerate(net.features[: _TAPS[-1] + 1]):
        x, y = layer(x), layer(y)
        if i in _TAPS:
            nx = x / (x.norm(dim=1, keepdim=True) + 1e-10)
            ny = y / (y.norm(dim=1, keepdim=True) + 1e-10)
            want += (nx - ny).square().sum(dim=1).mean(dim=(1, 2))  # every channel weighed 1
    torch.testing.assert_close(net(p, t), want, rtol=1e-5, atol=1e-6)
    assert _value("lpips:random=2", p, t) == pytest.approx(float(want.mean()), rel=1e-5)


@pytest.mark.parametrize("kind", ["vgg", "lpips"])
def test_random_feature_losses_seed_bf16_and_gradient(kind):
    p, t = _pair(size=32)
    v0 = _value(f"{kind}:random=0", p, t)
    assert v0 > 0 and _value(f"{kind}:random=0", p, t) == v0
    assert _value(f"{kind}:random=1", p, t) != pytest.approx(v0, rel=1e-3)
    loss = build_loss(f"{kind}:random=0@bf16")
    x = p.clone().requires_grad_(True)
    value = loss(x, t)
    assert value.dtype == torch.float32
    assert float(value.detach()) == pytest.approx(v0, rel=0.05)  # bfloat16 keeps 3 significant digits
    value.backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    assert _value(f"{kind}:random=0", t, t) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("spec, message", [
    ("vgg:random=x", "random=SEED with a non-negative integer"),
    ("lpips:random=-1", "random=SEED with a non-negative integer"),
    ("vgg:random=0@fp8", "unknown, repeated or malformed option 'fp8'; use @bf16"),
    ("vgg:random=0@bf16=1", "malformed option"),
    ("lpips:missing.pth", "needs a local weights file"),
    ("msswd:scales=0", "scales: expected an integer of at least 1"),
    ("msswd:proj=0", "projections: expected an integer of at least 1"),
    ("msswd:scales=x", "malformed option 'scales=x'"),
    ("msswd:scales=2@scales=3", "repeated"),
    ("msswd:bf16", "malformed option 'bf16'"),
    ("ffl:alpha=0", "alpha: expected a positive number"),
    ("ffl:beta=1", "use @alpha=N"),
])
def test_bad_options_are_refused_in_one_line(spec, message):
    with pytest.raises(InvalidInputError, match=message) as err:
        build_loss(spec)
    assert "\n" not in str(err.value)


def test_the_loss_table_lists_the_new_losses():
    table = loss_table()
    for usage in ("vgg:PATH|random=SEED", "lpips:PATH|random=SEED", "msswd", "ffl"):
        assert usage in table


# ----- MS-SWD ------------------------------------------------------------------------------------------------------

def test_lab_matches_scikit_image():
    color = pytest.importorskip("skimage.color")
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    want = torch.stack([torch.from_numpy(color.rgb2lab(im.permute(1, 2, 0).double().numpy())).permute(2, 0, 1)
                        for im in x]).float()
    # scikit-image rounds the sRGB matrix to other digits: 0.01 on a 0-100 scale is those digits, not a method gap
    torch.testing.assert_close(srgb_to_lab(x), want, atol=1e-2, rtol=0)


def test_ms_swd_one_scale_is_the_mean_1d_wasserstein_of_the_projections():
    stats = pytest.importorskip("scipy.stats")
    p, t = _pair(size=16, n=1)
    got = float(ms_swd_loss(p, t, scales=1, projections=4, patch=3, generator=torch.Generator().manual_seed(5)))
    gen = torch.Generator().manual_seed(5)
    d = torch.randn(4, 27, generator=gen)
    d = (d / d.norm(dim=1, keepdim=True)).view(4, 3, 3, 3)
    lab_p = torch.nn.functional.pad(srgb_to_lab(p), (1, 1, 1, 1), mode="reflect")
    lab_t = torch.nn.functional.pad(srgb_to_lab(t), (1, 1, 1, 1), mode="reflect")
    proj_p = torch.nn.functional.conv2d(lab_p, d).flatten(2)[0]
    proj_t = torch.nn.functional.conv2d(lab_t, d).flatten(2)[0]
    want = sum(stats.wasserstein_distance(a.numpy(), b.numpy()) for a, b in zip(proj_p, proj_t)) / 4
    assert got == pytest.approx(want, rel=1e-4)


def test_ms_swd_compares_distributions_not_positions():
    _, t = _pair(size=16, n=1)
    shuffled = t.flatten(2)[:, :, torch.randperm(256, generator=torch.Generator().manual_seed(0))].view_as(t)
    gen = torch.Generator().manual_seed(0)
    assert float(ms_swd_loss(shuffled, t, scales=1, patch=1, generator=gen)) == pytest.approx(0.0, abs=1e-4)
    assert float(ms_swd_loss(shuffled, t, scales=1, patch=3, generator=gen)) > 1.0  # patches see the arrangement


def test_ms_swd_options_take_effect():
    p, t = _pair(size=64)
    base = float(MSSWDLoss(seed=0)(p, t))
    assert float(MSSWDLoss(seed=0)(p, t)) == base  # the seed fixes the projections
    for kw in ({"seed": 1}, {"scales": 1}, {"scales": 4}, {"projections": 64}, {"patch": 5}):
        assert float(MSSWDLoss(**kw)(p, t)) != pytest.approx(base, rel=1e-3), kw
    assert _value("msswd:scales=1@proj=8@patch=5@seed=2", p, t) == pytest.approx(
        float(MSSWDLoss(scales=1, projections=8, patch=5, seed=2)(p, t)), rel=1e-6)
    assert MSSWDLoss(reduction="none")(p, t).shape == (2,)
    x = p.clone().requires_grad_(True)
    MSSWDLoss()(x, t).backward()
    assert float(x.grad.abs().sum()) > 0


def test_ms_swd_refuses_levels_smaller_than_the_patch():
    p, t = _pair(size=48)
    assert float(ms_swd_loss(p, t, scales=4, patch=11)) > 0  # 48 / 8 = 6 px > 5
    with pytest.raises(InvalidInputError, match="scales: 5 levels"):
        ms_swd_loss(p, t, scales=5, patch=11)  # 3 px


# ----- focal frequency loss ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0])
def test_focal_frequency_loss_matches_the_authors_package(alpha):
    ffl = pytest.importorskip("focal_frequency_loss")
    p, t = _pair(size=32)
    want = ffl.FocalFrequencyLoss(alpha=alpha)(p, t)
    torch.testing.assert_close(focal_frequency_loss(p, t, alpha=alpha), want, rtol=1e-5, atol=1e-8)


def test_focal_frequency_loss_alpha_takes_effect_and_gradients_flow():
    p, t = _pair(size=32)
    one = float(FocalFrequencyLoss(alpha=1)(p, t))
    assert float(FocalFrequencyLoss(alpha=2)(p, t)) < one  # weights in [0, 1] shrink with a larger power
    assert _value("ffl:alpha=2", p, t) == pytest.approx(float(FocalFrequencyLoss(alpha=2)(p, t)), rel=1e-6)
    assert float(focal_frequency_loss(t, t)) == 0.0
    x = p.clone().requires_grad_(True)
    FocalFrequencyLoss()(x, t).backward()
    assert float(x.grad.abs().sum()) > 0
