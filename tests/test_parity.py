"""The converted published losses reproduce the original code's values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from mdfloss import MDFLoss, convert_reference
from mdfloss.loss.assets import pretrained_path
from mdfloss.phase1.nets import Critic
from mdfloss.loss.weights import load_loss_file

from .conftest import REFERENCE, need

WEIGHT_FILES = {"Ds_SISR.pth": "published-sisr", "Ds_JPEG.pth": "published-jpeg"}


def _img(name: str) -> torch.Tensor:
    # As the original example feeds images: 8-bit RGB divided by 255, (1, 3, H, W).
    arr = np.asarray(Image.open(need(REFERENCE / "pairs" / name)).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1)[None].contiguous()


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> dict[str, MDFLoss]:
    out = {}
    for name in WEIGHT_FILES:
        dst = tmp_path_factory.mktemp("conv") / (name + ".safetensors")
        convert_reference(need(REFERENCE / name), dst)
        out[name] = MDFLoss.from_file(dst, mode="reference")  # the published computation
    return out


def test_every_expected_value(converted, expected_values):
    for entry in expected_values["pairs"]:
        loss = converted[entry["weights"]]
        if "target" in entry:
            target, pred = _img(entry["target"]), _img(entry["prediction"])
        else:
            target = torch.cat([_img(n) for n in entry["batch_targets"]])
            pred = torch.cat([_img(n) for n in entry["batch_predictions"]])
        pred.requires_grad_(True)
        value = loss(pred, target)
        value.backward()
        assert abs(value.item() - entry["loss"]) / entry["loss"] <= 1e-5, entry
        if "grad_l2" in entry:
            g = pred.grad.norm().item()
            assert abs(g - entry["grad_l2"]) / entry["grad_l2"] <= 1e-4, entry


def test_shipped_published_files_equal_fresh_conversion(tmp_path):
    for src, name in WEIGHT_FILES.items():
        fresh = convert_reference(need(REFERENCE / src), tmp_path / "x.safetensors")
        shipped = load_loss_file(pretrained_path(name))
        assert len(fresh.critics) == len(shipped.critics) > 0
        for a, b in zip(fresh.critics, shipped.critics):
            assert b.keys() <= a.keys()
            for k in b:
                assert torch.equal(a[k], b[k]), k
        assert shipped.metadata["published"] is True


def test_fused_critics_match_module_critics_float64(rng):
    """Folded BN + custom autograd equals plain Conv/BN/LeakyReLU modules, value and gradient."""
    weights = load_loss_file(pretrained_path("published-jpeg"))
    critics = []
    for state in weights.critics[:8]:
        c = Critic(int(state["head.conv.weight"].shape[0]))
        c.load_state_dict(state, strict=False)
        critics.append(c.double().eval())
    x = torch.rand(2, 3, 40, 36, generator=rng, dtype=torch.float64)
    y = torch.rand(2, 3, 40, 36, generator=rng, dtype=torch.float64)
    x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ref = torch.zeros(2, dtype=torch.float64)
    for c in critics:
        for a, b in zip(c.features(x1), c.features(y)):
            ref = ref + ((a - b) ** 2).mean(dim=(1, 2, 3))
    ref.mean().backward()
    ours = MDFLoss(weights, mode="reference", reduction="none")(x2, y)
    ours.mean().backward()
    # The folded weights are stored in float32, so agreement is to float32 rounding of the weights.
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=0)
    # Elementwise, small gradients cancel; compare the whole gradient field.
    assert ((x2.grad - x1.grad).norm() / x1.grad.norm()).item() < 1e-5
