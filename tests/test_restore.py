"""mdfloss restore: tiled output equals untiled, files and refusals, 8- and 16-bit PNGs."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from mdfloss.common.errors import InvalidInputError
from mdfloss.restoration.models import build_model
from mdfloss.restoration.restore import restore_tensor

from .conftest import run_cli


@pytest.mark.parametrize("spec, scale", [({"arch": "edsr", "num_blocks": 2, "channels": 8}, 4),
                                         ({"arch": "dncnn", "depth": 4, "channels": 8}, 1)])
@pytest.mark.parametrize("tile", [8, 24, 40])
def test_tiled_equals_untiled(spec, scale, tile):
    torch.manual_seed(0)
    net = build_model(spec, scale=scale).eval()
    x = torch.rand(1, 3, 45, 61, generator=torch.Generator().manual_seed(1))  # sizes no tile divides
    whole = restore_tensor(net, x, tile=0)
    tiled = restore_tensor(net, x, tile=tile, overlap=16)
    assert tiled.shape == whole.shape == (1, 3, 45 * scale, 61 * scale)
    assert float((tiled - whole).abs().max()) < 1e-5


def test_too_little_overlap_shows_seams():
    torch.manual_seed(0)
    net = build_model({"arch": "dncnn", "depth": 6, "channels": 8}, scale=1).eval()
    x = torch.rand(1, 3, 48, 48)
    assert float((restore_tensor(net, x, tile=16, overlap=0) - restore_tensor(net, x, tile=0)).abs().max()) > 1e-4


@pytest.mark.parametrize("kw, message", [({"tile": -1}, "tile: expected an integer of at least 0"),
                                         ({"tile": 4}, "at least 8 pixels"), ({"tile": 7}, "at least 8 pixels"),
                                         ({"overlap": -2}, "overlap: expected an integer of at least 0")])
def test_bad_tiles_are_refused(kw, message):
    net = build_model({"arch": "dncnn", "depth": 2, "channels": 4}, scale=1).eval()
    with pytest.raises(InvalidInputError, match=message):
        restore_tensor(net, torch.rand(1, 3, 16, 16), **kw)


@pytest.fixture(scope="module")
def model_pt(tmp_path_factory):
    from mdfloss.restoration.presets import restorer_preset
    from mdfloss.restoration.train import train_restorer

    from .conftest import DATA, need, set5_as

    root = set5_as(tmp_path_factory.mktemp("data"), "BSDS500_train", "LIVE1")
    need(DATA / "Set5")
    out = tmp_path_factory.mktemp("m")
    return train_restorer("jpeg", "l1", out, restorer_preset("jpeg", "smoke", iterations=1, val_set="LIVE1"),
                          data_root=root, progress=False, device="cpu")


def _read_png16(path):
    raw = path.read_bytes()
    w, h, depth, colour = struct.unpack(">IIBB", raw[16:26])
    pos, data = 8, b""
    while pos < len(raw):
        n = struct.unpack(">I", raw[pos:pos + 4])[0]
        if raw[pos + 4:pos + 8] == b"IDAT":
            data += raw[pos + 8:pos + 8 + n]
        pos += 12 + n
    rows = zlib.decompress(data)
    stride = 1 + w * 6
    arr = np.frombuffer(b"".join(rows[i * stride + 1:(i + 1) * stride] for i in range(h)), dtype=">u2")
    return depth, colour, arr.reshape(h, w, 3)


def test_restore_folder_keeps_names_refuses_overwrite_and_writes_16_bit(tmp_path, capsys, model_pt):
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 52, 3), dtype=np.uint8)).save(src / "a.jpg", quality=20)
    Image.fromarray(rng.integers(0, 256, (33, 30), dtype=np.uint8)).save(src / "b.png")  # grey
    code, out, err = run_cli(capsys, "restore", "--model", model_pt, "--input", src, "--out", tmp_path / "o",
                             "--tile", "16", "--overlap", "16")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["a.png", "b.png"]
    assert "wrote 2 images" in out and "images/s" in out and "megapixels/s" in out
    got = np.asarray(Image.open(tmp_path / "o" / "a.png"))
    from mdfloss.common.imageio import read_image
    from mdfloss.restoration.restore import load_network

    net, _ = load_network(model_pt)
    want = restore_tensor(net, read_image(src / "a.jpg"), tile=0).clamp(0, 1)[0].permute(1, 2, 0).numpy()
    assert got.shape == (40, 52, 3) and np.abs(got / 255.0 - want).max() <= 0.5 / 255 + 1e-6  # tiled == untiled
    code, out, err = run_cli(capsys, "restore", "--model", model_pt, "--input", src, "--out", tmp_path / "o")
    assert code == 2 and "pass --force to overwrite" in err and err.count("\n") == 1
    code, out, err = run_cli(capsys, "restore", "--model", model_pt, "--input", src / "a.jpg", "--out",
                             tmp_path / "o", "--force", "--bits", "16")
    assert code == 0, err
    depth, colour, arr16 = _read_png16(tmp_path / "o" / "a.png")
    assert (depth, colour) == (16, 2) and np.abs(arr16 / 65535.0 - want).max() <= 0.5 / 65535 + 1e-6


def test_restore_refusals(tmp_path, capsys, model_pt):
    code, out, err = run_cli(capsys, "restore", "--model", model_pt, "--input", tmp_path / "nope", "--out", tmp_path)
    assert code == 2 and "--input: " in err and "does not exist" in err
    (tmp_path / "twins").mkdir()
    for name in ("x.png", "x.jpg"):
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "twins" / name)
    code, out, err = run_cli(capsys, "restore", "--model", model_pt, "--input", tmp_path / "twins", "--out",
                             tmp_path / "o2")
    assert code == 2 and "several files are named 'x'" in err and not (tmp_path / "o2").exists()
    (tmp_path / "twins" / "x.jpg").unlink()
    code, out, err = run_cli(capsys, "restore", "--model", tmp_path / "none.pt", "--input", tmp_path / "twins",
                             "--out", tmp_path / "o3")
    assert code == 2 and "--model" in err and "does not exist" in err and not (tmp_path / "o3").exists()


def test_evaluate_shows_the_degraded_inputs_own_score(tmp_path, capsys, model_pt):
    from mdfloss.restoration.data import EvalPairs
    from mdfloss.restoration.evaluate import DegradedInput, load_restorer, score_pair
    from mdfloss.tasks import get_task

    from .conftest import DATA, need

    code, out, err = run_cli(capsys, "evaluate", "--model", model_pt, "--set", need(DATA / "Set5"), "--limit", "2",
                             "--no-perceptual")
    assert code == 0, err
    line = next(line for line in out.splitlines() if line.strip().startswith("psnr_rgb:"))
    model_v, input_v, diff = (float(v) for v in line.split(":")[1].split())
    assert diff == pytest.approx(model_v - input_v, abs=2e-4)
    # the input's score, computed here by hand: the JPEG images against their references
    record = load_restorer(model_pt)[1]
    deg = get_task(record["task"], record["preset"]["degradation"])
    pairs = EvalPairs(need(DATA / "Set5"), deg, seed=0)
    by_hand = [score_pair(lq[None], hq[None], 0)["psnr_rgb"] for _, lq, hq in (pairs[0], pairs[1])]
    assert input_v == pytest.approx(sum(by_hand) / 2, abs=1e-4)
    # for SISR the input is brought to the reference's size first
    up = DegradedInput(4)(torch.rand(1, 3, 8, 10))
    assert up.shape == (1, 3, 32, 40)
