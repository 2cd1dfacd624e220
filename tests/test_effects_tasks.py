"""Tasks, their primitives and paired data: each documented range at both ends and just outside, each value a
person types normalised the safe way, each parameter's effect on the degraded image."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from mdfloss.common.errors import ImageReadError, InvalidInputError
from mdfloss.restoration.data import PairedFolders, read_pairs
from mdfloss.tasks import get_task, primitives


@pytest.mark.parametrize("task,param,inside,outside", [
    ("denoise", "sigma", [1, 255, [1, 255]], [0, -1, 255.5, [0, 25], [25, 256]]),
    ("jpeg", "quality", [1, 100, [1, 100]], [0, 101, 10.5, [0, 10], [10, 101]]),
    ("sisr", "scale", [2, 8], [1, 5, 16]),
])
def test_task_ranges_accept_both_ends_and_refuse_just_outside(task, param, inside, outside):
    for value in inside:
        checked = get_task(task, {param: value}).params[param]
        assert checked == value, (value, checked)
    for value in outside:
        with pytest.raises(InvalidInputError, match=param):
            get_task(task, {param: value})


def test_typed_task_values_are_normalised():
    # "--param quality=10.0" reaches the task as 10.0: it is the integer quality 10, and the codec gets that.
    task = get_task("jpeg", {"quality": 10.0})
    assert task.params == {"quality": 10} and type(task.params["quality"]) is int
    assert type(get_task("jpeg", {"quality": [10.0, 20.0]}).params["quality"][0]) is int
    assert type(get_task("denoise", {"sigma": 25}).params["sigma"]) is float
    assert type(get_task("sisr", {"scale": 4.0}).params["scale"]) is int


def test_denoise_sigma_is_on_the_255_scale():
    x = torch.full((1, 3, 16, 16), 0.5)
    noisy = get_task("denoise", {"sigma": 51})(x, torch.Generator().manual_seed(3))
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(noisy - x, noise * 51 / 255, rtol=0, atol=1e-6)
    assert get_task("denoise", {"sigma": 51}).phase1_spec() == ("denoise", {"sigma": pytest.approx(0.2)})


@pytest.mark.parametrize("scale,size,cropped", [(2, (9, 13), (8, 12)), (3, (10, 11), (9, 9)), (4, (16, 19), (16, 16))])
def test_modcrop_makes_both_sides_multiples_of_the_factor(scale, size, cropped):
    x = torch.rand(1, 3, *size)
    task = get_task("sisr", {"scale": scale})
    out = task.crop_multiple(x)
    assert tuple(out.shape[-2:]) == cropped
    torch.testing.assert_close(out, x[..., : cropped[0], : cropped[1]])  # the top-left part, not a resize
    assert tuple(task(out, torch.Generator()).shape[-2:]) == (cropped[0] // scale, cropped[1] // scale)


def _seed_with_draw(above_half: bool) -> int:
    return next(s for s in range(100)
                if (torch.rand((), generator=torch.Generator().manual_seed(s)).item() > 0.5) == above_half)


@pytest.mark.parametrize("above_half,expected", [(True, 11), (False, 10)])
def test_a_drawn_jpeg_quality_is_rounded(above_half, expected):
    # quality [10, 11]: a draw of 10.7 is quality 11 (rounded), not 10 (truncated)
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    seed = _seed_with_draw(above_half)
    drawn = primitives.jpeg(x, torch.Generator().manual_seed(seed), quality=[10, 11])
    fixed = primitives.jpeg(x, torch.Generator(), quality=expected)
    other = primitives.jpeg(x, torch.Generator(), quality=21 - expected)
    assert torch.equal(drawn, fixed) and not torch.equal(drawn, other)


def test_range_draws_fill_min_to_max():
    g = torch.Generator().manual_seed(0)
    draws = [primitives.sample([20, 30], g) for _ in range(300)]
    assert 20 <= min(draws) < 20.5 and 29.5 < max(draws) <= 30
    assert primitives.sample(7, g) == 7.0


def _pair(tmp_path, lr_size, hr_size):
    for name, size in (("lr", lr_size), ("hr", hr_size)):
        (tmp_path / name).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((*size, 3), np.uint8)).save(tmp_path / name / "a.png")
    return PairedFolders(tmp_path / "lr", tmp_path / "hr")


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_paired_sizes_are_checked_at_the_factor(tmp_path, factor):
    lr = (7, 10)
    degraded, files = read_pairs(_pair(tmp_path / "ok", lr, (7 * factor, 10 * factor)), factor)
    assert tuple(degraded[0].shape[-2:]) == lr and len(files) == 1
    for hr in ((7 * factor, 10 * factor + 1), (7 * factor + 1, 10 * factor), (7, 10)):
        with pytest.raises(ImageReadError, match=f"size divided by {factor}"):
            read_pairs(_pair(tmp_path / f"bad{hr}", lr, hr), factor)


def test_task_artefact_uses_its_parameters():
    from mdfloss.analysis.artefacts import task_artefact

    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    q90 = task_artefact("jpeg", {"quality": 90})(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(q90, primitives.jpeg(x, torch.Generator(), quality=90))
    assert not torch.equal(q90, task_artefact("jpeg", {"quality": 10})(x, torch.Generator().manual_seed(0)))
    sr3 = task_artefact("sisr", {"scale": 3})(x, torch.Generator())
    assert tuple(sr3.shape[-2:]) == (30, 30)  # cropped to a multiple of 3, resized back to that size


def test_typed_params_are_json_values():
    from mdfloss.cli.options import parse_params

    # what `train --param sigma=25` and `benchmark --param quality=[10,40]` pass on: numbers and lists, not text
    assert parse_params(("sigma=25", "quality=[10, 40]", "kind=box", "flag=true")) == {
        "sigma": 25, "quality": [10, 40], "kind": "box", "flag": True}
    assert get_task("denoise", parse_params(("sigma=25",))).params == {"sigma": 25.0}
    for bad in ("sigma", "=25", "two words=1"):
        with pytest.raises(InvalidInputError, match="--param: expected KEY=VALUE"):
            parse_params((bad,))


def test_loss_artefact_reads_its_task_and_the_middle_of_a_range():
    from mdfloss.analysis.artefacts import loss_artefact

    def meta(name, **params):
        return {"distortion": {"name": name, "params": params}}
    assert loss_artefact(meta("sisr"), scale=2)[1]["params"] == {"scale": 2}  # calibrate --scale
    assert loss_artefact(meta("sisr"))[1]["params"] == {"scale": 4}
    assert loss_artefact(meta("jpeg", quality=[10, 20]))[1]["params"] == {"quality": 15}
    assert loss_artefact(meta("jpeg", quality=[10, 13]))[1]["params"] == {"quality": 12}  # 11.5: rounded, not cut
    assert loss_artefact(meta("denoise", sigma=[0.1, 0.3]))[1]["params"] == {"sigma": pytest.approx(51.0)}
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    artefact, _ = loss_artefact(meta("sisr"), scale=2)
    from mdfloss.analysis.artefacts import task_artefact

    expected = task_artefact("sisr", {"scale": 2})(x, torch.Generator())
    torch.testing.assert_close(artefact(x, torch.Generator()), expected)
