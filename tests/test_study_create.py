"""``mdfloss study create``: study folders from restorations or from a benchmark, and their refusals."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from mdfloss.cli import main
from mdfloss.study.create import crop_positions, load_study

from .study_helpers import make_folders


def _cli(*args: str) -> SimpleNamespace:
    """``mdfloss study ARGS`` through the CLI's entry point, in this process (tests/test_cli.py runs the real
    ``python -m mdfloss``): its exit status and what it printed."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["study", *args])
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def _method_args(methods: dict[str, Path]) -> list[str]:
    return [a for name, d in methods.items() for a in ("--method", f"{name}={d}")]


def test_create_from_folders_copies_every_image(tmp_path):
    ref, methods = make_folders(tmp_path)
    proc = _cli("create", "--out", str(tmp_path / "st"), "--reference", str(ref), *_method_args(methods))
    assert proc.returncode == 0, proc.stderr
    meta = load_study(tmp_path / "st")
    assert meta["conditions"] == list(methods) and [s["scene"] for s in meta["scenes"]] == ["img0", "img1", "img2"]
    for name, folder in methods.items():
        copied = np.asarray(Image.open(tmp_path / "st" / "images" / meta["folders"][name] / "img1.png"))
        np.testing.assert_array_equal(copied, np.asarray(Image.open(folder / "img1.png")))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "st" / "images" / "reference" / "img2.png")),
                                  np.asarray(Image.open(ref / "img2.png")))


def test_crops_go_where_the_methods_differ():
    stack = np.zeros((3, 100, 120, 3), dtype=np.uint8)
    stack[1, 60:90, 10:40] = 200  # one method differs here only
    stack[2, 5:25, 90:110] = 90  # and a smaller difference there
    (y0, x0), (y1, x1) = crop_positions(stack, 2, 30)
    assert abs(y0 - 60) <= 2 and abs(x0 - 10) <= 2  # the largest difference first
    assert abs(y1 - 5) <= 10 and abs(x1 - 90) <= 10
    assert len(crop_positions(stack, 50, 30)) < 50  # only as many as fit without overlapping


def test_create_with_crops_writes_crops_at_the_same_place_in_every_method(tmp_path):
    ref, methods = make_folders(tmp_path)
    proc = _cli("create", "--out", str(tmp_path / "st"), "--reference", str(ref), *_method_args(methods),
                "--crops", "2", "--crop-size", "20")
    assert proc.returncode == 0, proc.stderr
    meta = load_study(tmp_path / "st")
    scene = meta["scenes"][1]
    assert scene["scene"] == "img0_c1" and scene["crop"][2:] == [20, 20]
    y, x = scene["crop"][:2]
    full = np.asarray(Image.open(methods["strong"] / "img0.png"))
    crop = np.asarray(Image.open(tmp_path / "st" / "images" / meta["folders"]["strong"] / "img0_c1.png"))
    np.testing.assert_array_equal(crop, full[y:y + 20, x:x + 20])


@pytest.mark.parametrize("case,fragment", [
    ("missing", "lacks the image 'img2'"), ("size", "sizes must match"), ("one", "at least 2 methods"),
    ("duplicate", "given twice"), ("syntax", "expected NAME=DIR"), ("exists", "not empty"),
    ("crop", "does not fit"), ("unreadable", "cannot read"), ("catch", "--catch: expected 0 to 50"),
    ("practice", "--practice: expected 0 to 20"), ("identical", "--identical: expected 0 to 50"),
    ("consent", "--consent: cannot read")])
def test_create_refuses_in_one_line_and_writes_nothing(tmp_path, case, fragment):
    ref, methods = make_folders(tmp_path)
    out = tmp_path / "st"
    args = _method_args(methods)
    if case == "missing":
        (methods["mild"] / "img2.png").unlink()
    elif case == "size":
        Image.new("RGB", (10, 10)).save(methods["mild"] / "img1.png")
    elif case == "one":
        args = args[:2]
    elif case == "duplicate":
        args = args + ["--method", f"clean={methods['mild']}"]
    elif case == "syntax":
        args = args + ["--method", str(methods["mild"])]
    elif case == "exists":
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    elif case == "crop":
        args = args + ["--crops", "1", "--crop-size", "400"]
    elif case == "unreadable":
        (methods["mild"] / "img0.png").write_bytes(b"not a png")
    elif case in ("catch", "identical"):
        args = args + [f"--{case}", "51"]
    elif case == "practice":
        args = args + ["--practice", "-1"]
    elif case == "consent":
        args = args + ["--consent", str(tmp_path / "no-such.txt")]
    proc = _cli("create", "--out", str(out), "--reference", str(ref), *args)
    assert proc.returncode == 2 and fragment in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    if case == "exists":
        assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    else:
        assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".st.")]  # no half-built folder left


def _fake_benchmark(root: Path, task: str = "denoise") -> Path:
    """A benchmark folder as run_benchmark leaves it, with untrained smoke networks (fast)."""
    from mdfloss.restoration.models import build_model
    from mdfloss.restoration.presets import restorer_preset

    out = root / "bench"
    preset = restorer_preset(task, "smoke")
    for k, loss in enumerate(("l1", "mdf:denoise@pyramid")):
        torch.manual_seed(k)
        run = out / ("loss_" + "".join(c if c.isalnum() or c in "-_." else "_" for c in loss))
        run.mkdir(parents=True)
        torch.save({"model": build_model(preset.model).state_dict(), "task": task, "loss": loss,
                    "preset": preset.to_dict(), "seed": 0}, run / "model.pt")
    report = {"task": task, "seeds": [0], "results": {"CBSD68": {"l1": {}, "mdf:denoise@pyramid": {}}}}
    (out / "results.json").write_text(json.dumps(report))
    return out


def test_create_from_benchmark_runs_each_network_on_the_set(tmp_path):
    from mdfloss.restoration.data import EvalPairs
    from mdfloss.restoration.degradations import Degradation
    from mdfloss.restoration.evaluate import load_restorer

    ref, _ = make_folders(tmp_path)
    bench = _fake_benchmark(tmp_path)
    proc = _cli("create", "--out", str(tmp_path / "st"), "--from-benchmark", str(bench), "--set", str(ref))
    assert proc.returncode == 0, proc.stderr
    meta = load_study(tmp_path / "st")
    assert meta["conditions"] == ["l1", "mdf:denoise@pyramid"] and len(meta["scenes"]) == 3
    # The stored restoration is the network's output on the benchmark's own degraded input.
    model, record = load_restorer(bench / "loss_l1" / "model.pt")
    name, lq, hq = EvalPairs(ref, Degradation("denoise", **record["preset"]["degradation"]), seed=0)[0]
    with torch.no_grad():
        expected = (model(lq[None]).clamp(0, 1) * 255).round()[0].permute(1, 2, 0).numpy()
    stored = np.asarray(Image.open(tmp_path / "st" / "images" / meta["folders"]["l1"] / f"{name}.png"))
    assert np.abs(stored.astype(float) - expected).max() <= 1
    assert not np.array_equal(stored, np.asarray(Image.open(tmp_path / "st" / "images" / meta["folders"][
        "mdf:denoise@pyramid"] / f"{name}.png")))


def test_create_from_benchmark_refuses_an_unfinished_benchmark(tmp_path):
    ref, _ = make_folders(tmp_path)
    bench = _fake_benchmark(tmp_path)
    (bench / "loss_l1" / "model.pt").unlink()
    proc = _cli("create", "--out", str(tmp_path / "st"), "--from-benchmark", str(bench), "--set", str(ref))
    assert proc.returncode == 2 and "network for 'l1' is missing" in proc.stderr
    proc = _cli("create", "--out", str(tmp_path / "st"), "--from-benchmark", str(tmp_path), "--set", str(ref))
    assert proc.returncode == 2 and "no results.json" in proc.stderr
    assert not (tmp_path / "st").exists()


def test_restorations_of_chosen_losses_and_images(tmp_path):
    from mdfloss.common.errors import InvalidInputError
    from mdfloss.study.from_benchmark import restorations

    ref, _ = make_folders(tmp_path)
    bench = _fake_benchmark(tmp_path)
    refs, images, _ = restorations(bench, str(ref), losses=["mdf:denoise@pyramid", "l1"], only=["img2", "img0"])
    assert list(images) == ["mdf:denoise@pyramid", "l1"] and sorted(refs) == ["img0", "img2"]
    assert all(sorted(per) == ["img0", "img2"] for per in images.values())
    with pytest.raises(InvalidInputError, match="no loss 'l2'"):
        restorations(bench, str(ref), losses=["l1", "l2"])
    with pytest.raises(InvalidInputError, match="no image"):
        restorations(bench, str(ref), only=["img9"])


def test_a_named_set_recorded_by_name_is_found_under_the_readers_data_root(tmp_path):
    # A benchmark records a named set by its name; the study finds it under the data root it is given, so a
    # benchmark folder copied to another machine still makes a study there.
    from mdfloss.common.errors import ImageReadError
    from mdfloss.study.from_benchmark import restorations

    ref, _ = make_folders(tmp_path)
    bench = _fake_benchmark(tmp_path)
    report = json.loads((bench / "results.json").read_text())
    (bench / "results.json").write_text(json.dumps({**report, "set_paths": {"CBSD68": "CBSD68"}}))
    root = tmp_path / "elsewhere"
    root.mkdir()
    (root / "CBSD68").symlink_to(ref)
    refs, images, _ = restorations(bench, "CBSD68", data_root=root)
    assert sorted(refs) == ["img0", "img1", "img2"] and all(sorted(v) == sorted(refs) for v in images.values())
    with pytest.raises(ImageReadError, match=r"CBSD68 is not downloaded .*--data-root"):
        restorations(bench, "CBSD68", data_root=tmp_path / "ref")
