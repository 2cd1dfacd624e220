"""Image files of every common mode load as (1, 3, H, W) in [0, 1]; broken files are refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from mdfloss import ImageReadError
from mdfloss.common.imageio import read_image


def _rgb(h=20, w=24):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_rgb_png(tmp_path):
    a = _rgb()
    Image.fromarray(a).save(tmp_path / "a.png")
    x = read_image(tmp_path / "a.png")
    assert x.shape == (1, 3, 20, 24) and x.dtype == torch.float32
    assert torch.equal(x[0].permute(1, 2, 0), torch.from_numpy(a).float() / 255)


def test_grey_is_three_equal_channels(tmp_path):
    Image.fromarray(_rgb()[..., 0]).save(tmp_path / "g.png")
    x = read_image(tmp_path / "g.png")
    assert x.shape == (1, 3, 20, 24) and torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 1], x[:, 2])


def test_sixteen_bit_keeps_precision(tmp_path):
    a = (np.arange(20 * 24, dtype=np.uint16).reshape(20, 24) * 131).astype(np.uint16)
    Image.fromarray(a).save(tmp_path / "d.png")
    x = read_image(tmp_path / "d.png")
    torch.testing.assert_close(x[0, 0], torch.from_numpy(a.astype(np.float32) / 65535))


def test_rgba_composited_over_white(tmp_path):
    a = np.zeros((4, 4, 4), dtype=np.uint8)
    a[..., 3] = 0  # fully transparent black
    a[0, 0] = [255, 0, 0, 255]
    Image.fromarray(a, "RGBA").save(tmp_path / "t.png")
    x = read_image(tmp_path / "t.png")
    assert x[0, :, 1, 1].tolist() == [1.0, 1.0, 1.0]
    assert x[0, :, 0, 0].tolist() == [1.0, 0.0, 0.0]


def test_palette_and_cmyk(tmp_path):
    Image.fromarray(_rgb()).convert("P").save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png").shape == (1, 3, 20, 24)
    Image.fromarray(_rgb()).convert("CMYK").save(tmp_path / "c.jpg")
    x = read_image(tmp_path / "c.jpg")
    assert x.shape == (1, 3, 20, 24) and 0 <= x.min() and x.max() <= 1


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda p: None, r"does not exist"),
        (lambda p: p.write_bytes(b""), r"empty \(0 bytes\)"),
        (lambda p: p.write_text("not an image at all"), r"not a readable image"),
        (lambda p: p.write_bytes(_png_bytes()[:60]), r"corrupt or truncated|not a readable image"),
    ],
    ids=["missing", "zero-bytes", "text-named-png", "truncated"],
)
def test_bad_files(tmp_path, make, match):
    p = tmp_path / "x.png"
    make(p)
    with pytest.raises(ImageReadError, match=match):
        read_image(p)


def test_directory_and_pixel_limit(tmp_path):
    with pytest.raises(ImageReadError, match=r"is a directory"):
        read_image(tmp_path)
    Image.fromarray(_rgb(100, 100)).save(tmp_path / "big.png")
    with pytest.raises(ImageReadError, match=r"more than the limit of 5000.*max_pixels"):
        read_image(tmp_path / "big.png", max_pixels=5000)


def _png_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(_rgb(64, 64)).save(buf, format="PNG")
    return buf.getvalue()
