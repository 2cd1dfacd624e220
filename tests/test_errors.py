"""Every kind of bad input gets a typed error whose message names the argument and the fix."""

from __future__ import annotations

import pytest
import torch

from mdfloss import InvalidInputError, InvalidTypeError, MDFLoss, mdf_loss


@pytest.fixture(scope="module")
def loss() -> MDFLoss:
    return MDFLoss.pretrained("published-jpeg")


def ok(*shape):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(0))


CASES = [
    ("3-d tensor", lambda: (ok(3, 32, 32), ok(3, 32, 32)), InvalidInputError, r"prediction: expected shape \(N, C, H, W\).*unsqueeze\(0\)"),
    ("5-d tensor", lambda: (ok(1, 1, 3, 32, 32), ok(1, 1, 3, 32, 32)), InvalidInputError, r"prediction: expected shape"),
    ("4 channels", lambda: (ok(1, 4, 32, 32), ok(1, 4, 32, 32)), InvalidInputError, r"prediction: expected 1 or 3 channels.*got 4"),
    ("shape mismatch", lambda: (ok(1, 3, 32, 32), ok(1, 3, 32, 40)), InvalidInputError, r"shapes must match.*crop or resize"),
    ("batch mismatch", lambda: (ok(2, 3, 32, 32), ok(1, 3, 32, 32)), InvalidInputError, r"shapes must match"),
    ("integer dtype", lambda: ((ok(1, 3, 32, 32) * 255).to(torch.uint8), ok(1, 3, 32, 32)), InvalidTypeError, r"prediction: expected a floating-point tensor, got torch.uint8"),
    ("not a tensor", lambda: ([[0.0]], ok(1, 3, 32, 32)), InvalidTypeError, r"prediction: expected a torch.Tensor, got list"),
    ("NaN", lambda: (ok(1, 3, 32, 32).index_fill_(2, torch.tensor([3]), float("nan")), ok(1, 3, 32, 32)), InvalidInputError, r"prediction: holds NaN or Inf"),
    ("Inf in target", lambda: (ok(1, 3, 32, 32), ok(1, 3, 32, 32).index_fill_(3, torch.tensor([0]), float("inf"))), InvalidInputError, r"target: holds NaN or Inf"),
    ("above range", lambda: (ok(1, 3, 32, 32) * 255, ok(1, 3, 32, 32)), InvalidInputError, r"prediction: values must lie in \[0, data_range=1\].*check_range=False"),
    ("below range", lambda: (ok(1, 3, 32, 32) - 0.5, ok(1, 3, 32, 32)), InvalidInputError, r"values must lie in"),
    ("smaller than receptive field", lambda: (ok(1, 3, 10, 32), ok(1, 3, 10, 32)), InvalidInputError, r"too small for pyramid mode: every selected scale would be smaller than 11 px"),
    ("empty batch", lambda: (ok(0, 3, 32, 32), ok(0, 3, 32, 32)), InvalidInputError, r"batch is empty"),
]


@pytest.mark.parametrize("name,make,error,match", CASES, ids=[c[0] for c in CASES])
def test_bad_tensors(loss, name, make, error, match):
    p, t = make()
    with pytest.raises(error, match=match):
        loss(p, t)


def test_range_opt_out_and_tolerance(loss):
    x = ok(1, 3, 32, 32)
    MDFLoss.pretrained("published-jpeg", check_range=False)(x * 1.5, x)  # accepted
    loss(x * 1.005, x)  # within the 1 % tolerance


def test_pyramid_too_small():
    with pytest.raises(InvalidInputError, match=r"too small for pyramid mode.*mode='reference'"):
        MDFLoss.pretrained("published-sisr", mode="pyramid")(ok(1, 3, 12, 12), ok(1, 3, 12, 12))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"mode": "fast"}, r"mode: expected one of 'reference', 'pyramid', got 'fast'"),
        ({"reduction": "avg"}, r"reduction: expected one of"),
        ({"scales": [9]}, r"scales: this loss has scales 0..7"),
        ({"scales": []}, r"scales: expected at least one"),
        ({"scales": [1, 1]}, r"each scale may appear once"),
        ({"taps": ["tail", "neck"]}, r"taps: expected a non-empty subset"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        MDFLoss.pretrained("published-jpeg", **kwargs)


def test_bad_data_range():
    with pytest.raises(InvalidInputError, match=r"data_range: expected a positive number"):
        mdf_loss(ok(1, 3, 32, 32), ok(1, 3, 32, 32), "published-jpeg", data_range=0)


def test_weights_argument_type():
    with pytest.raises(InvalidInputError, match=r"weights: expected LossWeights.*from_file"):
        MDFLoss("published-jpeg")  # type: ignore[arg-type]


def test_a_missing_extra_is_named():
    from mdfloss import MDFError
    from mdfloss.common.extras import MissingExtraError, require

    with pytest.raises(MissingExtraError, match=r"the FLIP metric needs the 'metrics' extra .*pip install 'mdfloss\[metrics\]'"):
        require("no_such_module_for_mdfloss", "metrics", "the FLIP metric")
    assert issubclass(MissingExtraError, MDFError) and issubclass(MissingExtraError, ImportError)
    assert require("math", "metrics", "x").sqrt(4.0) == 2.0
