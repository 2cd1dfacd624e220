"""Calibrated taps and normalised features: the loss file round trip, the loss's arithmetic checked by hand,
the fit's guarantees on its own images, and the refusals of `mdfloss calibrate`."""

from __future__ import annotations

import shutil

import pytest
import torch

from mdfloss import InvalidInputError, MDFLoss, WeightFileError, load_loss_file, save_loss_file
from mdfloss.analysis.artefacts import loss_artefact, task_artefact
from mdfloss.analysis.calibrate import calibrate, channel_ratios, training_images
from mdfloss.cli import main
from mdfloss.loss.assets import bundled_image_path, pretrained_path
from mdfloss.loss.weights import LossWeights

from .conftest import REPO

FAST_JPEG = REPO / "tests" / "fixtures" / "fast_jpeg.safetensors"


@pytest.fixture(scope="module")
def jpeg_weights() -> LossWeights:
    return load_loss_file(FAST_JPEG)


@pytest.fixture(scope="module")
def small_photo() -> torch.Tensor:
    from mdfloss.common.imageio import read_image

    return read_image(bundled_image_path())[..., 60:188, 100:228]  # 128 px of the training photo


def _uniform(weights: LossWeights, value: float = 1.0) -> dict[str, torch.Tensor]:
    return {f"{k}.{t}": torch.full((1 if t == "tail" else w,), value) for k, w in enumerate(weights.widths)
            for t in ("head", "body", "tail")}


def test_calibrated_file_round_trips_and_old_files_load_unchanged(tmp_path, jpeg_weights):
    old = load_loss_file(FAST_JPEG)
    assert old.calibration is None and old.metadata["format_version"] == 1
    cal = _uniform(jpeg_weights)
    cal["5.body"] = torch.linspace(0, 2, 32)
    meta = {**jpeg_weights.metadata, "calibration": {"method": "ratio", "mode": "pyramid"}}
    save_loss_file(tmp_path / "c.safetensors", LossWeights(jpeg_weights.critics, meta, cal))
    back = load_loss_file(tmp_path / "c.safetensors")
    assert back.metadata["format_version"] == 2 and back.metadata["calibration"]["method"] == "ratio"
    assert torch.equal(back.calibration["5.body"], cal["5.body"]) and set(back.calibration) == set(cal)
    # Saved again without calibration: format 1 again, no calibration metadata left behind.
    save_loss_file(tmp_path / "plain.safetensors", LossWeights(back.critics, back.metadata))
    plain = load_loss_file(tmp_path / "plain.safetensors")
    assert plain.calibration is None and plain.metadata["format_version"] == 1 and "calibration" not in plain.metadata


@pytest.mark.parametrize("change, message", [
    (lambda c, m: c.__setitem__("5.body", torch.ones(31)), r"calibration 5.body has shape \(31,\), expected \(32,\)"),
    (lambda c, m: c.__setitem__("0.head", -torch.ones(32)), r"calibration 0.head must be finite and non-negative"),
    (lambda c, m: c.pop("3.tail"), r"one tensor per critic and tap \(18\), got 17"),
    (lambda c, m: m.pop("calibration"), r"holds calibration tensors but no 'calibration' metadata"),
])
def test_bad_calibration_is_refused(jpeg_weights, change, message):
    cal = _uniform(jpeg_weights)
    meta = {**jpeg_weights.metadata, "calibration": {"method": "ratio"}}
    change(cal, meta)
    with pytest.raises(WeightFileError, match=message):
        save_loss_file("never-written.safetensors", LossWeights(jpeg_weights.critics, meta, cal))


def test_calibration_weights_enter_the_loss_as_channel_weights(jpeg_weights):
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(2, 3, 48, 48, generator=g), torch.rand(2, 3, 48, 48, generator=g)
    raw = MDFLoss(jpeg_weights, mode="pyramid", reduction="none")
    dists = raw.channel_distances(x, y)
    # Uncalibrated: the loss is the sum over critics and taps of the channel mean.
    torch.testing.assert_close(raw(x, y), sum(d.mean(1) for d in dists.values()))
    cal = _uniform(jpeg_weights)
    cal["5.body"] = torch.arange(32, dtype=torch.float32) / 16  # one tap weighted unevenly
    calibrated = LossWeights(jpeg_weights.critics, {**jpeg_weights.metadata, "calibration": {}}, cal)
    weighted = MDFLoss(calibrated, mode="pyramid", reduction="none")  # calibrated by default when the file has it
    by_hand = sum((d * cal[f"{k}.{t}"]).mean(1) for (k, t), d in dists.items())
    torch.testing.assert_close(weighted(x, y), by_hand, rtol=1e-5, atol=1e-7)
    assert not torch.allclose(weighted(x, y), raw(x, y))
    off = MDFLoss(calibrated, mode="pyramid", reduction="none", calibrated=False)
    torch.testing.assert_close(off(x, y), raw(x, y))
    with pytest.raises(InvalidInputError, match=r"calibrated: this loss file holds no calibration"):
        MDFLoss(jpeg_weights, calibrated=True)


def test_normalized_features_are_unit_length_over_channels(jpeg_weights):
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(1, 3, 32, 32, generator=g), torch.rand(1, 3, 32, 32, generator=g)
    loss = MDFLoss(jpeg_weights, mode="reference", scales=[5], taps=["body"], normalize=True)
    from mdfloss.phase1.nets import Critic

    critic = Critic(32)
    critic.load_state_dict(jpeg_weights.critics[5])
    critic.eval()
    with torch.no_grad():
        fx, fy = (critic.features(v * 2 - 1)[1] for v in (x, y))  # the critics take [-1, 1]
    unit = [f / f.norm(dim=1, keepdim=True) for f in (fx, fy)]
    torch.testing.assert_close(loss(x, y), ((unit[0] - unit[1]) ** 2).mean(), rtol=1e-4, atol=1e-7)
    # The 1-channel tail is left as it is (normalising it would leave only its sign).
    tail = MDFLoss(jpeg_weights, mode="reference", scales=[5], taps=["tail"])
    torch.testing.assert_close(MDFLoss(jpeg_weights, mode="reference", scales=[5], taps=["tail"], normalize=True)(x, y),
                               tail(x, y))


def test_ratio_calibration_keeps_the_noise_response_and_raises_the_artefacts(jpeg_weights, small_photo):
    art = task_artefact("jpeg", {"quality": 10})
    cal = calibrate(jpeg_weights, art, [small_photo], draws=2, method="ratio", seed=3)
    a, b = channel_ratios(jpeg_weights, art, [small_photo], draws=2, mode="pyramid", seed=3)
    for key in a:
        w = cal.calibration[key].double()
        # sum w b = sum b exactly, and sum w a >= sum a (Cauchy-Schwarz), on the images it was fitted on
        torch.testing.assert_close((w * b[key].double()).sum(), b[key].double().sum(), rtol=1e-5, atol=0)
        assert (w * a[key].double()).sum() >= a[key].double().sum() * (1 - 1e-6), key
    assert cal.metadata["calibration"]["method"] == "ratio" and cal.metadata["calibration"]["draws"] == 2
    lik = calibrate(jpeg_weights, art, [small_photo], draws=2, method="likelihood", seed=3)
    w, ak, bk = lik.calibration["5.body"], a["5.body"], b["5.body"]
    # likelihood weights: zero where noise moves a channel more than the artefact, else 1/b - 1/a, rescaled
    expected = (1 / bk - 1 / ak).clamp_min(0)
    torch.testing.assert_close(w, (expected * bk.sum() / (expected * bk).sum()).float())


def test_calibration_refuses_what_it_cannot_fit(jpeg_weights, small_photo):
    with pytest.raises(InvalidInputError, match=r"method: expected one of ratio, likelihood"):
        calibrate(jpeg_weights, task_artefact("jpeg"), [small_photo], method="best")
    with pytest.raises(InvalidInputError, match=r"nothing to weigh against noise"):
        calibrate(jpeg_weights, lambda x, g: x.clone(), [small_photo], draws=1)  # no task distortion
    with pytest.raises(InvalidInputError, match=r"records no task distortion"):
        loss_artefact(load_loss_file(pretrained_path("published-jpeg")).metadata)
    with pytest.raises(InvalidInputError, match=r"give the same model.pt"):
        loss_artefact({"distortion": {"name": "jpeg_restored", "params": {}}})


def test_training_images_are_the_losses_own(tmp_path, jpeg_weights):
    images, names = training_images(jpeg_weights.metadata)
    assert names == ["chelsea.png"] and images[0].shape == (1, 3, 300, 451)
    other = tmp_path / "other.png"
    from PIL import Image

    Image.open(bundled_image_path()).crop((0, 0, 100, 100)).save(other)
    with pytest.raises(InvalidInputError, match=r"'other.png' is not among the loss's training images \(chelsea.png\)"):
        training_images(jpeg_weights.metadata, [other])
    with pytest.raises(InvalidInputError, match=r"records no training image"):
        training_images({"training_image": None})


def test_calibrate_cli(tmp_path, capsys):
    out = tmp_path / "cal.safetensors"
    assert main(["calibrate", str(FAST_JPEG), "--out", str(out), "--draws", "1", "--method", "likelihood"]) == 0
    assert "likelihood, pyramid mode" in capsys.readouterr().out
    assert load_loss_file(out).calibration is not None
    assert main(["info", str(out)]) == 0
    assert "likelihood weights against jpeg on chelsea.png" in capsys.readouterr().out
    # Refusals: one line, exit 2, nothing written.
    assert main(["calibrate", str(FAST_JPEG), "--out", str(out), "--draws", "1"]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["calibrate", "published-jpeg", "--out", str(tmp_path / "p.safetensors")]) == 2
    assert "records no task distortion" in capsys.readouterr().err
    shutil.copy(bundled_image_path(), tmp_path / "copy.png")
    (tmp_path / "copy.png").write_bytes((tmp_path / "copy.png").read_bytes() + b"x")  # other bytes, other hash
    assert main(["calibrate", str(FAST_JPEG), "--out", str(tmp_path / "q.safetensors"), "--image",
                 str(tmp_path / "copy.png")]) == 2
    assert "not among the loss's training images" in capsys.readouterr().err
    assert not (tmp_path / "p.safetensors").exists() and not (tmp_path / "q.safetensors").exists()


def test_phase1_fits_calibrated_taps_before_writing(tmp_path):
    from .test_phase1 import _train

    w = _train(tmp_path, name="cal", calibrate_taps="likelihood")
    back = load_loss_file(tmp_path / "cal.safetensors")
    assert back.calibration is not None and back.metadata["format_version"] == 2
    assert back.metadata["calibration"]["method"] == "likelihood"
    assert back.metadata["calibration"]["images"] == ["chelsea.png"]
    assert torch.equal(back.calibration["1.body"], w.calibration["1.body"])


def test_phase1_calibration_refusals_come_before_training(tmp_path):
    from .test_phase1 import _train

    with pytest.raises(InvalidInputError, match=r"calibrate_taps: expected one of ratio, likelihood"):
        _train(tmp_path, name="a", calibrate_taps="best")
    with pytest.raises(InvalidInputError, match=r"leaves images unchanged, so there is no artefact"):
        _train(tmp_path, name="b", task="same", plugins={"same": lambda x: x.clone()}, calibrate_taps="ratio")
    assert not list(tmp_path.iterdir())  # refused before any file or workdir was made
