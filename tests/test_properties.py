"""Property tests (hypothesis): over random shapes and values the loss is finite, >= 0,
symmetric, 0 on identical inputs, and its gradients are finite."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mdfloss import MDFLoss

LOSSES = {
    # Two scales keep each example fast; the finest (factor 1.0) is always kept in pyramid mode.
    ("reference", "published-jpeg"): MDFLoss.pretrained("published-jpeg", scales=[0, 7], reduction="none"),
    ("pyramid", "published-jpeg"): MDFLoss.pretrained("published-jpeg", mode="pyramid", scales=[6, 7], reduction="none"),
    ("pyramid", "jpeg"): MDFLoss.pretrained("jpeg", mode="pyramid", scales=[6, 7], reduction="none"),
}


@st.composite
def image_pairs(draw):
    n = draw(st.integers(1, 2))
    c = draw(st.sampled_from([1, 3]))
    h, w = draw(st.integers(15, 28)), draw(st.integers(15, 28))
    seed = draw(st.integers(0, 2**31 - 1))
    style = draw(st.sampled_from(["uniform", "constant", "binary", "near-equal"]))
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, c, h, w, generator=g)
    if style == "constant":
        x = torch.full_like(x, draw(st.floats(0, 1)))
    elif style == "binary":
        x = (x > 0.5).float()
    y = torch.rand(n, c, h, w, generator=g)
    if style == "near-equal":
        y = (x + 1e-4 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    return x, y


@pytest.mark.parametrize("key", list(LOSSES), ids=["-".join(k) for k in LOSSES])
@settings(max_examples=15, deadline=None)
@given(pair=image_pairs())
def test_loss_properties(key, pair):
    loss = LOSSES[key]
    x, y = pair
    x = x.clone().requires_grad_(True)
    v = loss(x, y)
    assert v.shape == (x.shape[0],)
    assert torch.isfinite(v).all() and (v >= 0).all()
    torch.testing.assert_close(v, loss(y, x.detach()), rtol=1e-5, atol=1e-7)
    assert (loss(y, y) == 0).all()
    v.sum().backward()
    assert torch.isfinite(x.grad).all()
