"""Each setting does what it says, checked against values computed here by hand, not against the code's
own output: degradation parameters, weight-file shape checks, learning-rate schedules, the answer store's
durability, and the pyramid's receptive-field boundary."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from mdfloss import InvalidInputError, MDFLoss, WeightFileError, load_loss_file, save_loss_file
from mdfloss.common.resize import resize
from mdfloss.loss.weights import LossWeights
from mdfloss.phase1.distortions import make_distortion
from mdfloss.restoration.degradations import Degradation

from .conftest import REPO

FAST_JPEG = REPO / "tests" / "fixtures" / "fast_jpeg.safetensors"


def _image(seed: int = 0, h: int = 32, w: int = 40) -> torch.Tensor:
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(seed))


def _pil_jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    arr = (x[0].permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=quality)
    back = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(back).permute(2, 0, 1)[None]


@pytest.mark.parametrize("quality", [10, 90])
def test_jpeg_quality_is_the_codecs_quality(quality):
    x = _image()
    for got in (Degradation("jpeg", quality=quality)(x, torch.Generator()),
                make_distortion("jpeg", {"quality": quality})(x, torch.Generator())):
        torch.testing.assert_close(got, _pil_jpeg(x, quality))


def test_a_higher_jpeg_quality_leaves_less_error():
    x = _image(1, 64, 64)
    err = {q: float(((Degradation("jpeg", quality=q)(x, torch.Generator()) - x) ** 2).mean()) for q in (10, 50, 95)}
    assert err[10] > err[50] > err[95], err


@pytest.mark.parametrize("sigma", [5.0, 50.0])
def test_noise_sigma_is_on_the_0_255_scale(sigma):
    x = _image()
    got = Degradation("denoise", sigma=sigma)(x, torch.Generator().manual_seed(3))
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(got, x + sigma / 255 * noise)
    phase1 = make_distortion("denoise", {"sigma": sigma})(x, torch.Generator().manual_seed(3))
    torch.testing.assert_close(phase1, got)


def test_a_sampled_quality_range_stays_inside_it():
    x = _image(2, 16, 16)
    d = make_distortion("jpeg", {"quality": [40, 60]})
    errs = [float(((d(x, torch.Generator().manual_seed(s)) - x) ** 2).mean()) for s in range(6)]
    lo, hi = (float(((_pil_jpeg(x, q) - x) ** 2).mean()) for q in (60, 40))
    assert all(lo * 0.999 <= e <= hi * 1.001 for e in errs) and len(set(errs)) > 1, (lo, errs, hi)


@pytest.mark.parametrize("scale", [2, 4])
def test_sr_scale_sets_the_low_resolution_size(scale):
    x = _image(4, 48, 40)
    lr = Degradation("sisr", scale=scale)(x, torch.Generator())
    assert lr.shape[-2:] == (48 // scale, 40 // scale)
    torch.testing.assert_close(lr, torch.round(resize(x, (48 // scale, 40 // scale)).clamp(0, 1) * 255) / 255)
    assert torch.equal(lr * 255, torch.round(lr * 255))  # 8-bit, as a saved LR image


def test_crop_border_and_modcrop_by_hand():
    from mdfloss.restoration.metrics import crop_border

    x = torch.arange(2 * 10 * 9, dtype=torch.float32).view(1, 2, 10, 9)
    assert torch.equal(crop_border(x, 3), x[..., 3:7, 3:6]) and crop_border(x, 0) is x
    assert Degradation("sisr", scale=4).crop_multiple(x).shape[-2:] == (8, 8)
    assert Degradation("jpeg").crop_multiple(x).shape[-2:] == (10, 9)


def test_a_tensor_of_the_wrong_shape_is_refused(tmp_path):
    w = load_loss_file(FAST_JPEG)
    critics = [dict(c) for c in w.critics]
    critics[2]["body.block1.conv.weight"] = critics[2]["body.block1.conv.weight"][:, :31]
    with pytest.raises(WeightFileError, match=r"scale 2 tensor body.block1.conv.weight has shape "
                                              r"\(32, 31, 3, 3\), expected \(32, 32, 3, 3\)"):
        save_loss_file(tmp_path / "bad.safetensors", LossWeights(critics, w.metadata))
    critics = [dict(c) for c in w.critics]
    del critics[4]["tail.bias"]
    with pytest.raises(WeightFileError, match=r"scale 4 lacks tensor tail.bias"):
        save_loss_file(tmp_path / "bad.safetensors", LossWeights(critics, w.metadata))
    assert not (tmp_path / "bad.safetensors").exists()


def test_restorer_learning_rate_schedule_by_hand():
    from mdfloss.restoration.presets import restorer_preset
    from mdfloss.restoration.train import lr_at

    p = replace(restorer_preset("sisr", "smoke"), lr=2e-4, iterations=100, decay_at=(0.5, 0.8))
    expected = {0: 2e-4, 49: 2e-4, 50: 1e-4, 79: 1e-4, 80: 5e-5, 99: 5e-5}
    assert {it: lr_at(p, it) for it in expected} == pytest.approx(expected)


def test_phase1_learning_rate_schedule_by_hand():
    from mdfloss.phase1.steps import Phase1Config, lr_at

    c = Phase1Config(iterations=10, lr=5e-4, lr_decay_at=0.8, lr_decay=0.1)
    assert [lr_at(c, it) for it in (0, 7, 8, 9)] == pytest.approx([5e-4, 5e-4, 5e-5, 5e-5])


def test_validation_and_logged_lr_follow_the_preset(tmp_path):
    import json

    from mdfloss.restoration.presets import restorer_preset
    from mdfloss.restoration.train import train_restorer

    from .conftest import DATA, need

    s5 = need(DATA / "Set5")
    p = replace(restorer_preset("denoise", "smoke"), train_set=str(s5), val_set=str(s5), iterations=8, val_every=3,
                lr=1e-3, decay_at=(0.5,))
    train_restorer("denoise", "l1", tmp_path / "r", p, device="cpu", progress=False)
    log = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    # validation after iterations 3, 6 and the last (8): its records carry the 0-based iteration + 1
    assert [r["iteration"] for r in log if r["event"] == "val"] == [3, 6, 8]
    lrs = {r["iteration"]: r["lr"] for r in log if r["event"] == "train"}
    assert lrs and all(v == pytest.approx(1e-3 if it < 4 else 5e-4) for it, v in lrs.items()), lrs


def test_answer_store_is_durable_on_a_live_connection(tmp_path):
    from mdfloss.study.store import AnswerStore

    db = AnswerStore(tmp_path / "answers.sqlite")._connect()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_pyramid_uses_a_scale_at_exactly_one_receptive_field():
    from mdfloss.phase1.nets import Critic

    w = load_loss_file(FAST_JPEG)
    # The coarsest factor is 0.29362: 36 px -> round(10.57) = 11 px, one receptive field, used;
    # 35 px -> round(10.28) = 10 px, less than one, skipped. 50 px -> round(14.68) = 15 px.
    assert abs(w.metadata["scale_factors"][0] - 0.29362) < 1e-5
    x, y = _image(5, 36, 50), _image(6, 36, 50)
    critic = Critic(32)
    critic.load_state_dict(w.critics[0])
    critic.eval()
    with torch.no_grad():
        fx, fy = (critic.features(resize(v, (11, 15)) * 2 - 1) for v in (x, y))
    by_hand = sum(float(((a - b) ** 2).mean()) for a, b in zip(fx, fy))
    got = float(MDFLoss(w, mode="pyramid", scales=[0])(x, y))
    assert got == pytest.approx(by_hand, rel=1e-4)
    with pytest.raises(InvalidInputError, match=r"too small for pyramid mode"):
        MDFLoss(w, mode="pyramid", scales=[0])(x[..., :35, :], y[..., :35, :])
    # Reference mode: 11 px is the smallest image, 10 px is refused.
    assert float(MDFLoss(w, mode="reference", scales=[0])(x[..., :11, :11], y[..., :11, :11])) > 0
    with pytest.raises(InvalidInputError, match=r"smaller than the critics' receptive field \(11 px\)"):
        MDFLoss(w, mode="reference", scales=[0])(x[..., :10, :11], y[..., :10, :11])
