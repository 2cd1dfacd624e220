"""The command line: results on stdout, one-line errors on stderr, exit 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mdfloss.cli import main

from .conftest import REFERENCE, need, run_cli


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_compare_matches_published_value(capsys, expected_values):
    entry = expected_values["pairs"][0]
    code, out, err = run(capsys, "compare", str(need(REFERENCE / "pairs" / entry["target"])),
                         str(REFERENCE / "pairs" / entry["prediction"]), "--loss", "published-sisr",
                         "--mode", "reference")
    assert code == 0 and err == ""
    assert abs(float(out) - entry["loss"]) / entry["loss"] < 1e-5


def test_compare_pyramid_and_modes_of_images(capsys, tmp_path):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(a).save(tmp_path / "a.png")
    Image.fromarray(a).convert("RGBA").save(tmp_path / "b.png")
    Image.fromarray(a).convert("CMYK").save(tmp_path / "c.jpg", quality=95)
    code, out, _ = run(capsys, "compare", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--mode", "pyramid")
    assert code == 0 and float(out) == 0.0  # opaque RGBA equals RGB
    code, out, _ = run(capsys, "compare", str(tmp_path / "a.png"), str(tmp_path / "c.jpg"))
    assert code == 0 and float(out) > 0


def test_info(capsys):
    code, out, _ = run(capsys, "info", "published-jpeg")
    assert code == 0 and "task: jpeg" in out and "widths 32, 32, 32, 32, 64, 64, 64, 64" in out
    code, out, _ = run(capsys, "info", "published-jpeg", "--json")
    assert code == 0 and '"format_version": 1' in out


def test_convert_reference(capsys, tmp_path):
    dst = tmp_path / "jpeg.safetensors"
    code, out, _ = run(capsys, "convert-reference", str(need(REFERENCE / "Ds_JPEG.pth")), str(dst))
    assert code == 0 and dst.is_file() and "8 critics" in out
    code, _, err = run(capsys, "convert-reference", str(REFERENCE / "Ds_JPEG.pth"), str(dst))
    assert code == 2 and "already exists; pass --force" in err
    assert run(capsys, "convert-reference", str(REFERENCE / "Ds_JPEG.pth"), str(dst), "--force")[0] == 0


@pytest.mark.parametrize(
    "args,match",
    [
        (["compare", "/nope/a.png", "/nope/b.png"], "IMAGE_A: file '/nope/a.png' does not exist"),
        (["info", "/nope.safetensors"], "does not exist"),
        (["info", "no-such-loss"], "does not exist"),
        (["convert-reference", "/nope.pth", "{tmp}/x.safetensors"], "does not exist"),
        (["compare", "a", "b", "--mode", "fast"], "Invalid value for '--mode'"),
        (["frobnicate"], "No such command"),
    ],
)
def test_user_errors_are_one_line(capsys, tmp_path, args, match):
    code, out, err = run(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert code == 2 and match in err and "Traceback" not in err


def test_size_mismatch_and_bad_loss_file(capsys, tmp_path):
    Image.new("RGB", (40, 40)).save(tmp_path / "a.png")
    Image.new("RGB", (48, 40)).save(tmp_path / "b.png")
    code, _, err = run(capsys, "compare", str(tmp_path / "a.png"), str(tmp_path / "b.png"))
    assert code == 2 and "the images must have the same size" in err
    (tmp_path / "bad.safetensors").write_bytes(b"\x00" * 50)
    code, _, err = run(capsys, "compare", str(tmp_path / "a.png"), str(tmp_path / "a.png"), "--loss",
                       str(tmp_path / "bad.safetensors"))
    assert code == 2 and "truncated" in err


def test_python_dash_m_has_no_traceback(tmp_path):
    (tmp_path / "x.png").write_text("text")
    proc = subprocess.run([sys.executable, "-m", "mdfloss", "compare", str(tmp_path / "x.png"), str(tmp_path / "x.png")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "not a readable image" in proc.stderr


# --- one spelling per option: the old ones still work for one release and say so -----------------------------------

def test_old_option_spellings_still_work_with_a_note(capsys, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    code, out, err = run_cli(capsys, "data", "list", "--root", root)
    assert code == 0 and f"root: {root}" in out and "--root is deprecated" in err and "--data-root" in err
    code, out, err = run_cli(capsys, "data", "list", "--data-root", root)
    assert code == 0 and f"root: {root}" in out and "deprecated" not in err
    code, out, err = run_cli(capsys, "data", "list", "--data-root", root, "--root", tmp_path)
    assert code == 2 and "give --data-root alone" in err
    args = ["study", "simulate", "--conditions", "2", "--scenes", "1", "--observers", "2",
            "--answers-per-observer", "3"]
    new = run_cli(capsys, *args, "--sampler", "random")
    old = run_cli(capsys, *args, "--sampling", "random")
    assert new[0] == old[0] == 0 and new[1] == old[1] and "--sampling is deprecated" in old[2]
    assert "random" in new[1] and "active" not in new[1]  # the value took effect: one strategy, not both


def test_info_shows_every_training_image_of_a_loss_trained_on_several(capsys, tmp_path):
    from mdfloss.loss.assets import pretrained_path
    from mdfloss.loss.weights import load_loss_file, save_loss_file

    w = load_loss_file(pretrained_path("jpeg"))
    w.metadata["training_image"] = [{"name": "a.png", "sha256": "ab" * 32, "size": [64, 48]},
                                    {"name": "b.png", "sha256": "cd" * 32, "size": [64, 48]}]
    save_loss_file(tmp_path / "two.safetensors", w)
    code, out, err = run_cli(capsys, "info", tmp_path / "two.safetensors")
    assert code == 0, err
    assert "2 images: a.png sha256 abababab" in out and "b.png sha256 cdcdcdcd" in out


def test_a_restorer_given_as_a_loss_is_told_where_it_goes(capsys, tmp_path):
    import torch

    torch.save({"model": {}, "task": "jpeg"}, tmp_path / "model.pt")
    code, out, err = run_cli(capsys, "info", tmp_path / "model.pt")
    assert code == 2 and "mdfloss evaluate --model FILE" in err and err.count("\n") == 1


def test_an_hwc_image_gets_the_advice_that_fixes_it():
    import torch

    from mdfloss import InvalidInputError, mdf_loss

    hwc = torch.rand(96, 96, 3)
    with pytest.raises(InvalidInputError, match=r"looks like \(H, W, C\): use x.permute\(2, 0, 1\).unsqueeze\(0\)"):
        mdf_loss(hwc, hwc, "sisr")
    fixed = hwc.permute(2, 0, 1).unsqueeze(0)
    assert float(mdf_loss(fixed, fixed, "sisr")) == 0.0  # the advice works
    with pytest.raises(InvalidInputError, match=r"add a batch dimension with x.unsqueeze\(0\)"):
        mdf_loss(fixed[0], fixed[0], "sisr")
