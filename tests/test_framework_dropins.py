"""The traiNNer-redux and neosr drop-ins, through registries built the way each framework builds its own (the
frameworks themselves need Python 3.12 or download at import, so their contracts are reproduced here)."""

from __future__ import annotations

import sys
import types
from copy import deepcopy

import pytest
import torch

from mdfloss import mdf_loss as mdf_value
from mdfloss.common.errors import InvalidInputError
from mdfloss.integrations import dropin_source, dropin_target


class FrameworkRegistry:
    """fvcore's registry as both frameworks adapt it: traiNNer-redux lower-cases names (``get`` too), neosr keeps
    them as written."""

    def __init__(self, lower: bool) -> None:
        self.lower, self._obj_map = lower, {}

    def register(self, obj=None):
        name = obj.__name__.lower() if self.lower else obj.__name__
        assert name not in self._obj_map
        self._obj_map[name] = obj

    def get(self, name):
        return self._obj_map[name.lower() if self.lower else name]


def _install(framework: str, package: str, monkeypatch) -> FrameworkRegistry:
    """A fake ``PACKAGE.utils.registry`` with a LOSS_REGISTRY, then the drop-in file run as the framework imports it."""
    registry = FrameworkRegistry(lower=framework == "trainner-redux")
    for name in (package, f"{package}.utils", f"{package}.utils.registry"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))  # gone after the test
    sys.modules[f"{package}.utils.registry"].LOSS_REGISTRY = registry
    exec(compile(dropin_source(framework), dropin_target(framework), "exec"), {"__name__": "dropin"})
    return registry


def build_loss(registry: FrameworkRegistry, opt: dict):
    opt = deepcopy(opt)
    return registry.get(opt.pop("type"))(**opt)  # what both frameworks' build_loss do


def _train(step_loss, iterations: int = 3):
    torch.manual_seed(0)
    net = torch.nn.Conv2d(3, 3, 3, padding=1)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(1)
    values = []
    for _ in range(iterations):
        lq, gt = torch.rand(2, 3, 96, 96, generator=g), torch.rand(2, 3, 96, 96, generator=g)
        total = step_loss(net(lq), gt)
        opt.zero_grad()
        total.backward()
        opt.step()
        values.append(float(total.detach()))
    return values


def test_trainner_redux_weighs_as_the_framework_does_and_equals_mdfloss(monkeypatch):
    registry = _install("trainner-redux", "traiNNer", monkeypatch)
    opt = {"type": "MDFLoss", "loss_weight": 0.25, "loss": "sisr", "mode": "pyramid", "scales": [7]}
    loss = build_loss(registry, opt)  # the YAML's type, in any case
    assert build_loss(registry, {**opt, "type": "mdfloss"}).loss_weight == 0.25
    x, y = torch.rand(1, 3, 96, 96), torch.rand(1, 3, 96, 96)
    # unweighted forward: the framework multiplies by abs(loss_weight)
    assert float(loss(x, y)) == pytest.approx(float(mdf_value(x, y, "sisr", mode="pyramid", scales=[7])), rel=1e-6)
    values = _train(lambda out, gt: out.sub(gt).abs().mean() + loss(out, gt) * abs(loss.loss_weight))
    assert all(v == v for v in values) and values[-1] != values[0]  # a few iterations train through it
    assert build_loss(registry, {**opt, "loss_weight": -1.0}).loss_weight == -1.0  # the sign means a target choice
    with pytest.raises(InvalidInputError, match="loss_weight: expected a non-zero number"):
        build_loss(registry, {**opt, "loss_weight": 0})
    with pytest.raises(TypeError):
        build_loss(registry, {"type": "MDFLoss", "loss": "sisr"})  # loss_weight is required, as traiNNer asks


def test_neosr_registers_by_exact_name_and_applies_its_own_weight(monkeypatch):
    registry = _install("neosr", "neosr", monkeypatch)
    opt = {"type": "mdf_loss", "loss": "sisr", "mode": "reference", "taps": ["head", "body"], "loss_weight": 0.5}
    loss = build_loss(registry, opt)
    with pytest.raises(KeyError):
        registry.get("MDF_LOSS")  # case-sensitive, as neosr's registry is
    x, y = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    want = 0.5 * float(mdf_value(x, y, "sisr", mode="reference", taps=["head", "body"]))
    assert float(loss(x, y)) == pytest.approx(want, rel=1e-6)  # the slot adds what comes back: weighted here
    values = _train(lambda out, gt: out.sub(gt).abs().mean() + loss(out, gt))
    assert all(v == v for v in values) and values[-1] != values[0]
    with pytest.raises(InvalidInputError, match="loss_weight: expected a positive number"):
        build_loss(registry, {**opt, "loss_weight": -1})


def test_every_option_passes_through_to_mdfloss():
    from mdfloss.integrations.neosr import mdf_loss
    from mdfloss.integrations.trainner_redux import MDFLoss

    x, y = torch.rand(1, 3, 96, 96), torch.rand(1, 3, 96, 96)
    for kw in ({"mode": "reference"}, {"scales": [5, 6]}, {"taps": ["tail"]}, {"normalize": True}):
        want = float(mdf_value(x, y, "jpeg", **kw))
        assert float(MDFLoss(1.0, loss="jpeg", **kw)(x, y)) == pytest.approx(want, rel=1e-6), kw
        assert float(mdf_loss(loss="jpeg", **kw)(x, y)) == pytest.approx(want, rel=1e-6), kw
    with pytest.raises(InvalidInputError, match="framework: expected one of trainner-redux, neosr"):
        dropin_source("basicsr2")
