"""Restoration: networks, degradations, loss specs, training (single process, DDP, resume)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

import json

from mdfloss import ImageReadError, InvalidInputError, OutputPathError, WeightFileError
from mdfloss.restoration.data import EvalPairs, TrainPatches, resolve_set
from mdfloss.restoration.degradations import Degradation
from mdfloss.restoration.losses.spec import build_loss
from mdfloss.restoration.metrics import fidelity, to_y
from mdfloss.restoration.models import build_model
from mdfloss.restoration.presets import restorer_preset
from mdfloss.restoration.train import train_restorer as _train_any_device

from .conftest import DATA, REPO, need, set5_as


def train_restorer(*args, **kwargs):
    """The tests assert bitwise equalities: they run on the CPU whatever the machine has."""
    return _train_any_device(*args, **{"device": "cpu", **kwargs})


MODEL_SPECS = [{"arch": "edsr", "num_blocks": 2, "channels": 16}, {"arch": "srresnet", "num_blocks": 2, "channels": 16},
               {"arch": "dncnn", "depth": 4, "channels": 16}]


@pytest.mark.parametrize("spec", MODEL_SPECS, ids=lambda s: s["arch"])
def test_model_shapes(spec):
    scale = 1 if spec["arch"] == "dncnn" else 4
    m = build_model(spec, scale=scale)
    x = torch.rand(1, 3, 12, 10)
    assert m(x).shape == (1, 3, 12 * scale, 10 * scale)


def test_model_errors():
    with pytest.raises(InvalidInputError, match=r"arch: expected one of"):
        build_model({"arch": "unet"})
    with pytest.raises(InvalidInputError, match=r"DnCNN keeps the image size"):
        build_model({"arch": "dncnn"}, scale=2)
    with pytest.raises(InvalidInputError, match=r"scale: expected 2, 3, 4 or 8"):
        build_model({"arch": "edsr"}, scale=5)


def test_degradations_reproducible():
    hr = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    lr = Degradation("sisr", scale=4)(hr, torch.Generator())
    assert lr.shape == (1, 3, 8, 8) and torch.equal(lr, torch.round(lr * 255) / 255)
    for task, kw in (("denoise", {"sigma": 25}), ("jpeg", {"quality": 10})):
        d = Degradation(task, **kw)
        a, b = d(hr, torch.Generator().manual_seed(3)), d(hr, torch.Generator().manual_seed(3))
        assert torch.equal(a, b) and a.shape == hr.shape and (a - hr).abs().mean() > 0.01
    with pytest.raises(InvalidInputError, match=r"sigma"):
        Degradation("denoise", sigma=0)
    with pytest.raises(InvalidInputError, match=r"unknown task 'deblur'"):
        Degradation("deblur")


def test_loss_specs():
    p, t = torch.rand(2, 3, 48, 48), torch.rand(2, 3, 48, 48)
    assert build_loss("l1")(p, t).item() == pytest.approx(torch.nn.functional.l1_loss(p, t).item())
    combo = build_loss("l1+0.5*l2")
    assert combo(p, t).item() == pytest.approx((torch.nn.functional.l1_loss(p, t) + 0.5 * torch.nn.functional.mse_loss(p, t)).item())
    for spec in ("ssim", "msssim", "mdf:jpeg", "mdf:published-jpeg@pyramid", "l1+0.1*mdf:jpeg@pyramid"):
        v = build_loss(spec)(p, t)
        assert torch.isfinite(v) and v.item() > 0, spec
        assert build_loss(spec)(t, t).item() == pytest.approx(0.0, abs=1e-6), spec


@pytest.mark.parametrize(
    "spec,error,match",
    [("l3", InvalidInputError, r"unknown loss 'l3'"), ("", InvalidInputError, r"expected a spec"),
     ("l1+*l2", InvalidInputError, r"cannot parse"), ("vgg", InvalidInputError, r"needs a local weights file"),
     ("vgg:/nope.pth", InvalidInputError, r"needs a local weights file"),
     ("mdf:", InvalidInputError, r"name a shipped loss"), ("mdf:nosuch", WeightFileError, r"'nosuch' does not exist"),
     ("mdf:sisr@fast", InvalidInputError, r"unknown option 'fast'"),
     ("mdf:sisr@finest=9", InvalidInputError, r"finest=9 but the loss has 8 scales"),
     ("mdf:sisr@finest=0", InvalidInputError, r"unknown option 'finest=0'"),
     ("mdf:sisr@scales=x", InvalidInputError, r"expected scales as A-B"),
     ("mdf:sisr@scales=9", InvalidInputError, r"scales: this loss has scales 0..7"),
     ("mdf:sisr@finest=2@scales=1", InvalidInputError, r"not both"),
     ("mdf:sisr@taps=head.nose", InvalidInputError, r"taps: expected a non-empty subset")],
)
def test_bad_loss_specs(spec, error, match):
    with pytest.raises(error, match=match):
        build_loss(spec)


@pytest.mark.parametrize("name", ["l1", "l2", "ssim", "ms_ssim"])
def test_pixel_losses_as_function_and_module(name):
    from mdfloss.restoration import losses

    fn = getattr(losses, f"{name}_loss")
    module = {"l1": losses.L1Loss, "l2": losses.L2Loss, "ssim": losses.SSIMLoss, "ms_ssim": losses.MSSSIMLoss}[name]
    g = torch.Generator().manual_seed(0)
    p, t = torch.rand(3, 3, 64, 64, generator=g), torch.rand(3, 3, 64, 64, generator=g)
    per_image = fn(p, t, reduction="none")
    assert per_image.shape == (3,) and (per_image > 0).all()
    assert torch.equal(module(reduction="none")(p, t), per_image)
    torch.testing.assert_close(fn(p, t), per_image.mean())
    torch.testing.assert_close(module(reduction="sum")(p, t), per_image.sum())
    assert fn(t, t).item() == pytest.approx(0.0, abs=1e-6)
    if name in ("l1", "l2"):
        ref = torch.nn.functional.l1_loss if name == "l1" else torch.nn.functional.mse_loss
        torch.testing.assert_close(fn(p, t), ref(p, t))
    with pytest.raises(InvalidInputError, match=r"reduction: expected one of"):
        fn(p, t, reduction="max")
    with pytest.raises(InvalidInputError, match=r"shapes must match"):
        fn(p, t[..., :32])


def test_mdf_spec_options_select_scales_and_precision():
    p, t = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    term = build_loss("mdf:sisr@pyramid@finest=2").terms[0]
    assert term.loss.scales == [6, 7] and term.loss.mode == "pyramid"
    from mdfloss import MDFLoss

    direct = MDFLoss.pretrained("sisr", mode="pyramid", scales=[6, 7], check_range=False)
    assert build_loss("mdf:sisr@pyramid@scales=6-7")(p, t).item() == pytest.approx(direct(p, t).item(), rel=1e-6)
    half = build_loss("mdf:sisr@pyramid@finest=2@bf16")(p, t)
    # bfloat16 keeps 8 bits of mantissa: the value moves, but by well under a percent here.
    assert half.dtype == torch.float32 and half.item() == pytest.approx(direct(p, t).item(), rel=2e-2)
    assert half.item() != direct(p, t).item()
    taps = build_loss("mdf:sisr@taps=head").terms[0]
    assert taps.loss.taps == ["head"]
    norm = build_loss("mdf:sisr@pyramid@finest=2@normalize").terms[0]
    assert norm.loss.normalize and norm(p, t).item() != pytest.approx(direct(p, t).item(), rel=1e-3)


def test_mdf_spec_uses_a_calibrated_file_unless_told_not_to(tmp_path):
    from mdfloss import load_loss_file, save_loss_file
    from mdfloss.loss.weights import LossWeights

    w = load_loss_file(REPO / "tests" / "fixtures" / "fast_jpeg.safetensors")
    cal = {f"{k}.{t}": torch.full((1 if t == "tail" else 32,), 2.0) for k in range(6) for t in ("head", "body", "tail")}
    save_loss_file(tmp_path / "c.safetensors", LossWeights(w.critics, {**w.metadata, "calibration": {}}, cal))
    p, t = torch.rand(1, 3, 48, 48), torch.rand(1, 3, 48, 48)
    on, off = (build_loss(f"mdf:{tmp_path / 'c.safetensors'}@pyramid{o}") for o in ("", "@uncalibrated"))
    assert on.terms[0].loss.calibrated and not off.terms[0].loss.calibrated
    assert on(p, t).item() == pytest.approx(2 * off(p, t).item(), rel=1e-5)  # every weight 2: twice the loss


def test_vgg_with_local_weights(tmp_path):
    from safetensors.torch import save_file

    from mdfloss.restoration.losses.vgg import vgg19_features

    net = vgg19_features()
    save_file({f"features.{k}": v for k, v in net.state_dict().items()}, tmp_path / "vgg.safetensors")
    loss = build_loss(f"vgg:{tmp_path / 'vgg.safetensors'}")
    p, t = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    assert loss(p, t).item() > 0 and loss(t, t).item() == 0


def test_metrics_conventions():
    x = torch.rand(1, 3, 20, 20)
    m = fidelity(x, x, border=4)
    assert m["psnr_rgb"] == float("inf") and m["ssim_y"] == pytest.approx(1.0)
    white = torch.ones(1, 3, 2, 2)
    assert to_y(white)[0, 0, 0, 0].item() == pytest.approx(235 / 255)


def test_datasets(tmp_path):
    folder = need(DATA / "Set5")
    d = Degradation("sisr", scale=4)
    tp = TrainPatches(folder, d, patch=48, length=4, seed=1)
    lq, hq = tp[0]
    assert lq.shape == (3, 12, 12) and hq.shape == (3, 48, 48)
    assert torch.equal(tp[0][1], TrainPatches(folder, d, patch=48, length=4, seed=1)[0][1])
    name, lq, hq = EvalPairs(folder, d)[0]
    assert hq.shape[-1] % 4 == 0 and lq.shape[-1] * 4 == hq.shape[-1]
    with pytest.raises(ImageReadError, match=r"holds no images"):
        TrainPatches(tmp_path, d, 48, 4)
    with pytest.raises(ImageReadError, match=r"neither a folder, nor DEGRADED_DIR:CLEAN_DIR, nor a named set"):
        resolve_set("Nope")


def _preset(task="sisr", **kw):
    return replace(restorer_preset(task, "smoke"), train_set=str(need(DATA / "Set5")), val_set=str(DATA / "Set5"), **kw)


def _events(run_dir, kind):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["event"] == kind]


def test_train_resume_equals_uninterrupted(tmp_path):
    p = _preset(iterations=6)
    full = train_restorer("sisr", "l1", tmp_path / "full", p, progress=False, checkpoint_every=2)
    assert train_restorer("sisr", "l1", tmp_path / "part", p, progress=False, checkpoint_every=2, stop_after=3) is None
    part = train_restorer("sisr", "l1", tmp_path / "part", p, progress=False, checkpoint_every=2, resume=True)
    a = torch.load(full, weights_only=True)["model"]
    b = torch.load(part, weights_only=True)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # The resumed run started from the checkpoint of iteration 2, not from scratch.
    assert [r["iteration"] for r in _events(tmp_path / "part", "resumed")] == [2]
    # Iteration 0 is logged once (a restart from scratch would log it again), then the last one.
    assert [r["iteration"] for r in _events(tmp_path / "part", "train")] == [0, 5]
    assert not _events(tmp_path / "full", "resumed")
    with pytest.raises(OutputPathError, match=r"already exists"):
        train_restorer("sisr", "l1", tmp_path / "full", p, progress=False)


def test_resume_refuses_other_settings_and_unasked_restarts(tmp_path):
    p = _preset(iterations=6)
    train_restorer("sisr", "l1", tmp_path / "r", p, progress=False, checkpoint_every=2, stop_after=3)
    with pytest.raises(OutputPathError, match=r"--resume: .* started with loss=\"l1\", not \"l2\""):
        train_restorer("sisr", "l2", tmp_path / "r", p, progress=False, resume=True)
    with pytest.raises(OutputPathError, match=r"holds checkpoints of an earlier run; pass --resume"):
        train_restorer("sisr", "l1", tmp_path / "r", p, progress=False)
    assert not (tmp_path / "r" / "model.pt").exists()
    # --force starts over: no resumed event, and the old log is gone.
    train_restorer("sisr", "l2", tmp_path / "r", p, progress=False, force=True)
    assert not _events(tmp_path / "r", "resumed") and _events(tmp_path / "r", "train")[0]["iteration"] == 0


def test_fine_tune_loads_the_init_weights(tmp_path):
    p = _preset("sisr", iterations=2)  # EDSR: no BatchNorm statistics that would move at lr 0
    base = train_restorer("sisr", "l1", tmp_path / "base", p, progress=False)
    # With a zero learning rate the fine-tuned weights must be the base model's exactly.
    frozen = train_restorer("sisr", "l1+0.1*mdf:sisr@pyramid", tmp_path / "ft", replace(p, lr=0.0), init=base,
                            progress=False)
    a, b = (torch.load(x, weights_only=True)["model"] for x in (base, frozen))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    fresh = train_restorer("sisr", "l1", tmp_path / "fresh", replace(p, lr=0.0), seed=7, progress=False)
    c = torch.load(fresh, weights_only=True)["model"]
    assert any(not torch.equal(a[k], c[k]) for k in a)  # without --init the weights differ


@pytest.mark.parametrize("kind", ["missing", "corrupt", "other-task", "other-network", "not-a-model"])
def test_bad_init_is_refused(tmp_path, kind):
    p = _preset("denoise", iterations=1)
    init = tmp_path / "init.pt"
    if kind == "corrupt":
        init.write_bytes(b"\x80not a torch file")
    elif kind == "other-task":
        init = train_restorer("jpeg", "l1", tmp_path / "jpeg", _preset("jpeg", iterations=1), progress=False)
    elif kind == "other-network":
        init = train_restorer("denoise", "l1", tmp_path / "wide", replace(p, model={"arch": "dncnn", "depth": 4,
                                                                                     "channels": 8}), progress=False)
    elif kind == "not-a-model":
        torch.save({"something": torch.zeros(2)}, init)
    match = {"missing": r"does not exist", "corrupt": r"not a readable model file",
             "other-task": r"trained for task 'jpeg', not 'denoise'", "other-network": r"another network",
             "not-a-model": r"another network"}[kind]
    with pytest.raises(WeightFileError, match=r"init: .*" + match):
        train_restorer("denoise", "l1", tmp_path / "out", p, init=init, progress=False)
    assert not (tmp_path / "out").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_ddp_equals_one_process(tmp_path):
    """2 gloo processes with the global batch split give the one-process weights (EDSR, no BatchNorm)."""
    need(DATA / "Set5")
    common = ["train-restorer", "--task", "sisr", "--loss", "l1", "--preset", "smoke", "--device", "cpu",
              "--data-root", str(DATA), "--seed", "5"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    one = subprocess.run([sys.executable, "-m", "mdfloss", *common, "--out", str(tmp_path / "one")], env=env,
                         capture_output=True, text=True)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2",
                          f"--master-port={_free_port()}", "-m", "mdfloss", *common, "--out", str(tmp_path / "two")],
                         env=env, capture_output=True, text=True)
    assert two.returncode == 0, two.stderr[-2000:]
    a = torch.load(tmp_path / "one" / "model.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "two" / "model.pt", weights_only=True)["model"]
    # Same data and initialisation; only the order of float additions in the gradient average differs.
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6)


def test_evaluate_writes_csv_and_means(tmp_path):
    from mdfloss.restoration.evaluate import evaluate

    model = train_restorer("jpeg", "l1", tmp_path / "m", _preset("jpeg", iterations=1), progress=False)
    means = evaluate(model, need(DATA / "Set5"), out_csv=tmp_path / "e.csv", limit=2)
    lines = (tmp_path / "e.csv").read_text().splitlines()
    assert lines[0] == "image,psnr_rgb,ssim_rgb,psnr_y,ssim_y,jod,flip,haarpsi,mdsi"
    assert lines[-1].startswith("MEAN") and len(lines) == 4
    assert 5 < means["psnr_y"] < 60 and 0 < means["ssim_rgb"] <= 1
    assert 0 < means["jod"] < 10 and 0 < means["flip"] < 1 and 0 < means["haarpsi"] < 1 and means["mdsi"] > 0


def test_benchmark_smoke_report(tmp_path):
    from mdfloss.restoration.benchmark import run_benchmark

    root = set5_as(tmp_path / "data", "BSDS500_train", "CBSD68", "McMaster")
    report = run_benchmark("denoise", ["l1", "msssim", "mdf@pyramid"], "smoke", tmp_path / "b",
                           data_root=root, progress=False)
    out = tmp_path / "b"
    for f in ("results.md", "results.csv", "results.json", "crops_CBSD68.png", "diffs_CBSD68.png", "diffs_McMaster.png"):
        assert (out / f).is_file(), f
    md = (out / "results.md").read_text()
    assert "## CBSD68 (2 images)" in md and "mdf:denoise@pyramid" in md and "| jod |" in md
    assert "Paired difference to l1" in md and "Paired difference to the best standard loss" in md
    verdict_rows = [line for line in md.splitlines() if line.startswith("| jod | ")]
    assert len(verdict_rows) == 2 and all("no winner" in r or "wins**" in r for r in verdict_rows)  # one per set
    assert set(report["timing"]) == {"l1", "msssim", "mdf:denoise@pyramid"}
    # A rerun into the same folder reuses the finished trainings and reports the same numbers.
    models = sorted(out.glob("*/model.pt"))
    stamps = [m.stat().st_mtime_ns for m in models]
    again = run_benchmark("denoise", ["l1", "msssim", "mdf@pyramid"], "smoke", out, data_root=root, progress=False)
    assert [m.stat().st_mtime_ns for m in models] == stamps and len(models) == 4
    assert again["results"] == report["results"]


def test_benchmark_retrains_a_run_finished_with_other_settings(tmp_path):
    from mdfloss.restoration.benchmark import _train_or_reuse
    from mdfloss.restoration.evaluate import load_restorer

    first = _preset("denoise", iterations=2)
    path = _train_or_reuse("denoise", "l1", tmp_path / "run", first, None, seed=0, progress=False)
    assert _train_or_reuse("denoise", "l1", tmp_path / "run", first, None, seed=0, progress=False) == path
    stamp = path.stat().st_mtime_ns
    second = replace(first, iterations=3)
    again = _train_or_reuse("denoise", "l1", tmp_path / "run", second, None, seed=0, progress=False)
    assert again.stat().st_mtime_ns != stamp and load_restorer(again)[1]["preset"] == second.to_dict()
    trains = [line for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines() if '"train"' in line]
    assert len(trains) == 2  # iterations 0 and 2 of the new run only: the old log was removed


def test_bf16_on_a_cpu_without_native_bfloat16_warns_once(monkeypatch):
    import warnings

    from mdfloss.common import device

    monkeypatch.setattr(device, "cpu_has_fast_bfloat16", lambda: False)
    monkeypatch.setattr(device, "_warned_slow_bf16", False)
    loss = build_loss("mdf:sisr@pyramid@finest=1@bf16")
    p, t = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    with pytest.warns(RuntimeWarning, match=r"no native bfloat16.*about 25x slower.*drop @bf16"):
        loss(p, t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss(p, t)  # once per process
    monkeypatch.setattr(device, "_warned_slow_bf16", False)
    monkeypatch.setattr(device, "cpu_has_fast_bfloat16", lambda: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss(p, t)  # native bfloat16: nothing to say
