"""Phase 1 end to end on a tiny pyramid: output, resume, distortions, plug-ins, refusals."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from mdfloss import ImageReadError, InvalidInputError, MDFLoss, OutputPathError, load_loss_file
from mdfloss.common.checkpoint import list_checkpoints
from mdfloss.phase1.distortions import make_distortion
from mdfloss.phase1.steps import Phase1Config
from mdfloss.phase1.trainer import train_loss

TINY = Phase1Config(max_size=40, iterations=6, critic_steps=1, generator_steps=1)


def _train(tmp_path, name="loss", **kw):
    kw.setdefault("config", TINY)
    kw.setdefault("progress", False)
    kw.setdefault("checkpoint_every", 2)
    kw.setdefault("device", "cpu")  # bitwise equality is asserted below: never let it move to a GPU
    return train_loss(kw.pop("task", "jpeg"), out=tmp_path / f"{name}.safetensors", **kw)


def test_end_to_end_writes_loadable_loss(tmp_path):
    w = _train(tmp_path, task="jpeg", distortion_params={"quality": 20})
    path = tmp_path / "loss.safetensors"
    meta = load_loss_file(path).metadata
    assert meta["task"] == "jpeg" and meta["distortion"] == {"name": "jpeg", "params": {"quality": 20}}
    assert meta["input_range"] == [-1.0, 1.0] and len(meta["scale_factors"]) == len(w.critics) >= 2
    assert meta["scale_factors"][-1] == 1.0 and meta["training_image"]["name"] == "chelsea.png"
    assert len(meta["training_image"]["sha256"]) == 64 and meta["training_config"]["iterations"] == 6
    x, y = torch.rand(1, 3, 48, 48), torch.rand(1, 3, 48, 48)
    for mode in ("reference", "pyramid"):
        v = MDFLoss.from_file(path, mode=mode)(x, y)
        assert torch.isfinite(v) and v > 0
    log = [json.loads(line) for line in (tmp_path / "loss.safetensors.work" / "log.jsonl").read_text().splitlines()]
    assert log[0]["event"] == "start" and log[-1]["event"] == "done"
    assert any(r["event"] == "iteration" and "loss_d" in r for r in log)


def test_resumed_run_equals_uninterrupted(tmp_path):
    full = _train(tmp_path, name="full", seed=3)
    assert _train(tmp_path, name="part", seed=3, stop_after=9) is None  # stops in the middle of scale 1
    assert not (tmp_path / "part.safetensors").exists(), "no output before the run has finished"
    assert list_checkpoints(tmp_path / "part.safetensors.work")
    resumed = _train(tmp_path, name="part", seed=3, resume=True)
    assert len(full.critics) == len(resumed.critics) >= 2
    for a, b in zip(full.critics, resumed.critics):
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), k
    # finished: the checkpoints are gone (the loss file holds the result), the log and settings stay
    assert not list_checkpoints(tmp_path / "part.safetensors.work")
    assert (tmp_path / "part.safetensors.work" / "log.jsonl").is_file()
    log = [json.loads(line) for line in (tmp_path / "part.safetensors.work" / "log.jsonl").read_text().splitlines()]
    # stop_after=9 with 6 iterations a scale: 6 at scale 0, 3 at scale 1, newest checkpoint at scale 1, it 2.
    assert [(r["scale"], r["iteration"]) for r in log if r["event"] == "resumed"] == [(1, 2)]


def test_corrupt_newest_checkpoint_falls_back(tmp_path):
    _train(tmp_path, name="c", seed=1, stop_after=9)
    work = tmp_path / "c.safetensors.work"
    newest = list_checkpoints(work)[0]
    newest.write_bytes(newest.read_bytes()[:-10])
    out = _train(tmp_path, name="c", seed=1, resume=True)
    assert out is not None
    assert "skipped-corrupt-checkpoint" in (work / "log.jsonl").read_text()


def test_seed_changes_weights(tmp_path):
    a = _train(tmp_path, name="a", seed=0, config=Phase1Config(max_size=30, iterations=2, critic_steps=1, generator_steps=1))
    b = _train(tmp_path, name="b", seed=1, config=Phase1Config(max_size=30, iterations=2, critic_steps=1, generator_steps=1))
    assert not torch.equal(a.critics[0]["tail.weight"], b.critics[0]["tail.weight"])


@pytest.mark.parametrize("task,params", [("sisr", {}), ("denoise", {"sigma": [5, 50]}), ("jpeg", {"quality": [5, 30]})])
def test_builtin_distortions(task, params):
    d = make_distortion(task, params)
    x = torch.rand(2, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    y1 = d(x, torch.Generator().manual_seed(5))
    y2 = d(x, torch.Generator().manual_seed(5))
    assert y1.shape == x.shape and torch.equal(y1, y2)  # reproducible from the generator
    if task == "sisr":
        assert torch.equal(y1, x)
    else:
        assert (y1 - x).abs().mean() > 1e-3
    assert d.spec["name"] == task


def test_jpeg_is_a_real_codec():
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    y = make_distortion("jpeg", {"quality": 10})(x, torch.Generator())
    # JPEG output is 8-bit, so every value is a multiple of 1/255.
    assert torch.allclose(y * 255, (y * 255).round(), atol=1e-4)
    hi = make_distortion("jpeg", {"quality": 95})(x, torch.Generator())
    assert (hi - x).abs().mean() < (y - x).abs().mean()


def test_noise_sigma_matches():
    x = torch.full((1, 3, 128, 128), 0.5)
    y = make_distortion("denoise")(x, torch.Generator().manual_seed(0))
    assert abs((y - x).std().item() - 25 / 255) < 0.003


def test_plugin_by_module_path_and_registry(tmp_path):
    spec = "mdfloss.examples.distortions:gaussian_blur"
    w = _train(tmp_path, task=spec, distortion_params={"sigma": 1.5},
               config=Phase1Config(max_size=30, iterations=2, critic_steps=1, generator_steps=1))
    assert w.metadata["distortion"] == {"name": spec, "params": {"sigma": 1.5}}
    calls = []

    def my_noise(x):
        calls.append(x.shape)
        return x + 0.05 * torch.randn_like(x)

    d = make_distortion("my_noise", plugins={"my_noise": my_noise})
    with pytest.raises(InvalidInputError, match=r"unknown task 'my_noise'"):
        make_distortion("my_noise")  # no global registry: a plug-in is known only where it is passed
    with pytest.raises(InvalidInputError, match=r"'jpeg' is a built-in task"):
        make_distortion("jpeg", plugins={"jpeg": my_noise})
    x = torch.rand(1, 3, 16, 16)
    # Plug-ins that use torch's global RNG are reproducible through the seeded generator.
    assert torch.equal(d(x, torch.Generator().manual_seed(7)), d(x, torch.Generator().manual_seed(7)))
    assert calls


def test_plugin_must_keep_shape():
    d = make_distortion("crop", plugins={"crop": lambda x: x[..., :-1]})
    with pytest.raises(InvalidInputError, match=r"must return a tensor of shape"):
        d(torch.rand(1, 3, 8, 8), torch.Generator())


@pytest.mark.parametrize(
    "task,params,match",
    [
        ("deblur", {}, r"unknown task 'deblur'"),
        ("jpeg", {"quality": 0}, r"quality: expected an integer in \[1, 100\]"),
        ("jpeg", {"quality": [5, 101]}, r"quality: expected an integer in \[1, 100\]"),
        ("denoise", {"sigma": [20, 10]}, r"min <= max"),
        ("denoise", {"sigma": [0, 10]}, r"sigma: expected a number in \(0, 255\]"),
        ("denoise", {"sigma": 256}, r"sigma: expected a number in \(0, 255\]"),
        ("denoise", {"sigma": [5, 10, 20]}, r"sigma: expected a number or \[min, max\]"),
        ("jpeg", {"sigma": 3}, r"unknown parameter"),
        ("nosuchmodule_xyz:fn", {}, r"cannot import module"),
        ("mdfloss.examples.distortions:nothing", {}, r"has no callable named 'nothing'"),
        ("mdfloss.examples.distortions:gaussian_blur", {"radius": 3}, r"do not fit the plug-in"),
    ],
)
def test_bad_task(task, params, match):
    with pytest.raises(InvalidInputError, match=match):
        make_distortion(task, params)


def test_refusals(tmp_path):
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((20, 30, 3), dtype=np.uint8)).save(small)
    with pytest.raises(InvalidInputError, match=r"smaller than the pyramid's coarsest size"):
        _train(tmp_path, image=small)
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    with pytest.raises(ImageReadError, match=r"not a readable image"):
        _train(tmp_path, image=bad)
    with pytest.raises(OutputPathError, match=r"does not exist; create it first"):
        train_loss("jpeg", out=tmp_path / "no" / "dir" / "x.safetensors", config=TINY)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        import os

        if os.access(ro, os.W_OK):  # root ignores permissions; test the message via a file-as-folder
            (tmp_path / "afile").write_text("x")
            with pytest.raises(OutputPathError):
                train_loss("jpeg", out=tmp_path / "afile" / "x.safetensors", config=TINY)
        else:
            with pytest.raises(OutputPathError, match=r"not writable"):
                train_loss("jpeg", out=ro / "x.safetensors", config=TINY)
    finally:
        ro.chmod(0o700)


def test_existing_work_needs_resume_or_force(tmp_path):
    _train(tmp_path, name="w", stop_after=2)
    with pytest.raises(OutputPathError, match=r"pass --resume to continue it or --force"):
        _train(tmp_path, name="w")
    with pytest.raises(OutputPathError, match=r"--resume: .* was started with seed=0, not 99"):
        _train(tmp_path, name="w", resume=True, seed=99)
    # another preset: one setting named, not two whole configurations printed
    with pytest.raises(OutputPathError, match=r"was started with config.iterations=\d+, not 7;") as err:
        _train(tmp_path, name="w", resume=True, config=replace(TINY, iterations=7))
    assert "{" not in str(err.value)


def test_first_difference_looks_into_nested_settings():
    from mdfloss.common.runs import first_difference

    assert first_difference({"a": 1, "c": {"x": 1, "y": [1, 2]}}, {"a": 1, "c": {"x": 1, "y": [1, 3]}}) == (
        "c.y", [1, 2], [1, 3])
    assert first_difference({"a": {"b": 1}}, {"a": {"b": 1}}) is None
    assert first_difference({"a": 1}, {"b": 1}) == ("a", 1, None)


def test_nan_stops_training_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    from mdfloss import TrainingDivergedError
    from mdfloss.phase1 import steps

    real_step = steps._generator_step

    def diverging(run, real, z, prev):  # the generator's loss turns NaN at scale 1, as a diverging run's would
        loss_g, rec = real_step(run, real, z, prev)
        return (loss_g * float("nan"), rec) if run.k == 1 else (loss_g, rec)

    monkeypatch.setattr(steps, "_generator_step", diverging)
    out = tmp_path / "nan.safetensors"
    with pytest.raises(TrainingDivergedError, match=r"scale 1, iteration 0: .*NaN or Inf.*last good checkpoint is kept"):
        train_loss("jpeg", out=out, config=TINY, progress=False, checkpoint_every=2)
    assert not out.exists()
    work = tmp_path / "nan.safetensors.work"
    assert list_checkpoints(work), "the checkpoint written after scale 0 must survive"
    assert '"event": "diverged"' in (work / "log.jsonl").read_text()


def test_a_plugin_returning_nan_is_named(tmp_path):
    with pytest.raises(InvalidInputError, match=r"task 'poisoned': the plug-in must return finite values"):
        train_loss("poisoned", out=tmp_path / "p.safetensors", config=TINY, progress=False,
                   plugins={"poisoned": lambda x: x * float("nan")})
    assert not (tmp_path / "p.safetensors").exists()


def test_diverging_critic_is_detected(tmp_path):
    from dataclasses import replace

    from mdfloss import TrainingDivergedError

    with pytest.raises(TrainingDivergedError, match=r"the critic diverged"):
        train_loss("jpeg", out=tmp_path / "d.safetensors", config=replace(TINY, max_critic_gap=1e-12), progress=False)
    assert not (tmp_path / "d.safetensors").exists()


def _restorer_file(path, task):
    """A small, valid train-restorer model file (random weights)."""
    from mdfloss.restoration.models import build_model
    from mdfloss.restoration.presets import restorer_preset

    preset = restorer_preset(task, "smoke")
    scale = preset.degradation.get("scale", 1) if task == "sisr" else 1
    torch.manual_seed(0)
    torch.save({"model": build_model(preset.model, scale=scale).state_dict(), "task": task, "loss": "l1",
                "preset": preset.to_dict(), "seed": 0}, path)
    return path


@pytest.mark.parametrize("task", ["denoise", "sisr"])
def test_restorer_as_distortion_runs_the_network_on_the_degraded_image(tmp_path, task):
    from mdfloss.restoration.as_distortion import RestoredDistortion
    from mdfloss.restoration.evaluate import load_restorer

    path = _restorer_file(tmp_path / "m.pt", task)
    d = make_distortion(f"{task}_restored", plugins={f"{task}_restored": RestoredDistortion(path, task)})
    x = torch.rand(1, 3, 30, 26, generator=torch.Generator().manual_seed(1))  # not a multiple of 4
    y = d(x, torch.Generator().manual_seed(5))
    assert y.shape == x.shape and not torch.equal(y, x)
    # By hand: the same seed chain, degradation, then the network, then the crop.
    model, record = load_restorer(path)
    from mdfloss.restoration.degradations import Degradation

    deg = Degradation(task, **record["preset"]["degradation"])
    seed = int(torch.randint(0, 2**62, (), generator=torch.Generator().manual_seed(5)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        inner = int(torch.randint(0, 2**62, ()))
    pad = torch.nn.functional.pad(x, (0, (-26) % deg.factor, 0, (-30) % deg.factor), mode="replicate")
    with torch.no_grad():
        expected = model(deg(pad, torch.Generator().manual_seed(inner))).clamp(0, 1)[..., :30, :26]
    torch.testing.assert_close(y, expected)
    assert d.spec["params"]["restorer_sha256"] and d.spec["params"]["restorer_loss"] == "l1"


def test_train_with_a_restorer_records_it(tmp_path):
    from mdfloss.restoration.as_distortion import RestoredDistortion

    restored = RestoredDistortion(_restorer_file(tmp_path / "m.pt", "jpeg"), "jpeg")
    w = _train(tmp_path, task=restored.name, plugins={restored.name: restored})
    assert w.metadata["distortion"]["name"] == "jpeg_restored"
    assert len(w.metadata["distortion"]["params"]["restorer_sha256"]) == 64


def test_several_training_images_train_one_loss(tmp_path):
    from PIL import Image

    from mdfloss.loss.assets import bundled_image_path

    photo = Image.open(bundled_image_path()).convert("RGB")
    second = tmp_path / "imgs" / "b.png"
    second.parent.mkdir()
    photo.transpose(Image.Transpose.FLIP_TOP_BOTTOM).crop((0, 0, 200, 150)).save(second)
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    photo.save(tmp_path / "imgs" / "a.png")
    w = _train(tmp_path, name="two", image=tmp_path / "imgs")  # a folder: its images, by name
    names = [i["name"] for i in w.metadata["training_image"]]
    assert names == ["a.png", "b.png"] and all(len(i["sha256"]) == 64 for i in w.metadata["training_image"])
    one = _train(tmp_path, name="one", image=tmp_path / "imgs" / "a.png")
    # Same settings and seed, one image more: the critics saw different data.
    assert any(not torch.equal(a[k], b[k]) for a, b in zip(one.critics, w.critics) for k in a)
    log = (tmp_path / "two.safetensors.work" / "log.jsonl").read_text()
    assert '"event": "start"' in log and '"done"' in log


def test_training_images_are_checked(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match=r"holds no images"):
        _train(tmp_path, name="e", image=tmp_path / "empty")
    with pytest.raises(ImageReadError, match=r"does not exist"):
        _train(tmp_path, name="m", image=[tmp_path / "nope.png"])
    assert not (tmp_path / "e.safetensors").exists() and not (tmp_path / "m.safetensors").exists()


def test_resume_says_what_it_resumed_and_the_bar_shows_the_whole_runs_eta(tmp_path, capsys):
    from mdfloss.common.progress import WorkClock

    _train(tmp_path, name="r", stop_after=3)
    capsys.readouterr()
    _train(tmp_path, name="r", resume=True, progress=True)
    err = capsys.readouterr().err
    assert "resumed from the newest good checkpoint in" in err and "scale 1/" in err and "iteration 2" in err
    assert "run_eta=" in err
    _train(tmp_path, name="fresh", resume=True, progress=None)
    assert "no checkpoint in" in capsys.readouterr().err
    _train(tmp_path, name="quiet", stop_after=2)
    capsys.readouterr()
    _train(tmp_path, name="quiet", resume=True, progress=False)
    assert capsys.readouterr().err == ""  # progress=False silences the note as it silences the bars
    # the ETA weighs the work left by its pixels: 10 s for the first 20 units of 100 leaves 40 s
    assert WorkClock(100, clock=iter([0.0, 10.0]).__next__).eta(20) == "0:00:40"
    assert WorkClock(100, clock=iter([0.0, 10.0]).__next__).eta(0) == "?"
