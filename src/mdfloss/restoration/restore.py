"""Restore images with a trained network: any size, in tiles that overlap so the seams do not show.

A tile of ``tile`` x ``tile`` input pixels is run with ``overlap`` pixels of real context on every side (less at the
image's own border, where the untiled network sees its padding too), and only its interior is kept. When
``overlap`` reaches the network's receptive radius (EDSR of the ``cpu`` preset: 21 px, DnCNN: 9 px; the default
32 px covers both) every output pixel is computed from the same inputs as without tiles, so the result equals the
untiled one within float32 rounding, while memory is bounded by the tile.

Example:
    >>> import torch
    >>> from mdfloss.restoration.models import build_model
    >>> net = build_model({"arch": "dncnn", "depth": 4, "channels": 8}, scale=1).eval()
    >>> x = torch.rand(1, 3, 70, 90)
    >>> tiled = restore_tensor(net, x, tile=32, overlap=8)
    >>> bool((tiled - restore_tensor(net, x, tile=0)).abs().max() < 1e-5)
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mdfloss.common.errors import InvalidInputError, OutputPathError
from mdfloss.common.files import atomic_write_bytes
from mdfloss.common.imageio import image_files, read_image
from mdfloss.common.progress import progress_bar
from mdfloss.common.validation import check_int

DEFAULT_TILE = 256  # input pixels per tile side: about 0.3 GB of activations for the cpu-preset EDSR at x4
DEFAULT_OVERLAP = 32


@torch.no_grad()
def restore_tensor(model: torch.nn.Module, image: torch.Tensor, *, tile: int = DEFAULT_TILE,
                   overlap: int = DEFAULT_OVERLAP, scale: int | None = None) -> torch.Tensor:
    """The network's output on ``image`` (1, 3, H, W) in [0, 1], computed in tiles; (1, 3, sH, sW), unclamped.

    ``tile``: input pixels per tile side (0: the whole image at once); ``overlap``: context pixels on each side
    of a tile (at least the network's receptive radius for a result equal to the untiled one); ``scale``: the
    network's size factor (measured on a small input when not given).
    """
    check_int("tile", tile, 0)
    check_int("overlap", overlap, 0)
    if image.ndim != 4 or image.shape[0] != 1:
        raise InvalidInputError(f"image: expected one image (1, C, H, W), got shape {tuple(image.shape)}")
    if tile and tile < 8:
        raise InvalidInputError(f"tile: expected 0 (whole image) or at least 8 pixels, got {tile}")
    h, w = image.shape[-2:]
    if not tile or (h <= tile and w <= tile):
        return model(image)
    if scale is None:
        scale = model(image[..., :8, :8]).shape[-1] // 8
    out = image.new_empty(1, 3, h * scale, w * scale)
    for y in range(0, h, tile):
        for x in range(0, w, tile):
            y0, x0 = max(0, y - overlap), max(0, x - overlap)  # the tile with its context, inside the image
            y1, x1 = min(h, y + tile + overlap), min(w, x + tile + overlap)
            part = model(image[..., y0:y1, x0:x1])
            ty, tx = min(tile, h - y), min(tile, w - x)  # the tile's own pixels, kept
            oy, ox = (y - y0) * scale, (x - x0) * scale
            out[..., y * scale:(y + ty) * scale, x * scale:(x + tx) * scale] = \
                part[..., oy:oy + ty * scale, ox:ox + tx * scale]
    return out


def _png_bytes(image: torch.Tensor, bits: int) -> bytes:
    import io

    from PIL import Image

    arr = image[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy()
    buf = io.BytesIO()
    if bits == 16:  # Pillow writes 16-bit PNGs only for grey: the RGB one is written here
        _write_png16(buf, np.round(arr * 65535).astype(">u2"))
    else:
        Image.fromarray(np.round(arr * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _write_png16(buf, rgb16: np.ndarray) -> None:
    """A 16-bit RGB PNG (colour type 2, bit depth 16), written with zlib: Pillow cannot write one."""
    import struct
    import zlib

    h, w, _ = rgb16.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + rgb16[i].tobytes() for i in range(h))  # filter 0 per row
    buf.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
              + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


@dataclass
class RestoreReport:
    """What :func:`restore_files` did: the files written, and the time and pixels for a throughput."""

    written: list[Path]
    seconds: float
    megapixels_out: float


def restore_files(model_path: str | Path, inputs: str | Path, out_dir: str | Path, *, tile: int = DEFAULT_TILE,
                  overlap: int = DEFAULT_OVERLAP, device: str | torch.device = "auto", force: bool = False,
                  bits: int = 8, progress: bool | None = None) -> RestoreReport:
    """Restore an image file or every image of a folder with a ``train-restorer`` model or a network file that
    spandrel recognises, and write ``OUT_DIR/NAME.png`` for each (8- or 16-bit ``bits``).

    Existing outputs are refused unless ``force``; every name is checked before the first image is restored, and
    each PNG is written atomically, so a failure leaves no half-written file.
    """
    import time

    from mdfloss.common.device import resolve_device

    if bits not in (8, 16):
        raise InvalidInputError(f"bits: expected 8 or 16, got {bits!r}")
    check_int("tile", tile, 0)
    check_int("overlap", overlap, 0)
    src = Path(inputs)
    if not src.exists():
        raise InvalidInputError(f"--input: '{src}' does not exist; give an image file or a folder of images")
    files = image_files(src) if src.is_dir() else [src]
    if not files:
        raise InvalidInputError(f"--input: '{src}' holds no images")
    stems = [f.stem for f in files]
    twice = sorted({s for s in stems if stems.count(s) > 1})
    if twice:
        raise InvalidInputError(f"--input: several files are named '{twice[0]}' (e.g. .png and .jpg); their "
                                "outputs would overwrite each other, so keep one")
    out = Path(out_dir)
    targets = [out / f"{f.stem}.png" for f in files]
    existing = [t for t in targets if t.exists()]
    if existing and not force:
        raise OutputPathError(f"--out: '{existing[0]}' exists ({len(existing)} of {len(targets)} outputs do); "
                              "pass --force to overwrite, or choose another folder")
    model, scale = load_network(model_path)
    dev = resolve_device(device)
    model = model.to(dev)
    out.mkdir(parents=True, exist_ok=True)
    t0, pixels = time.perf_counter(), 0
    with progress_bar(len(files), desc="restore", enabled=progress) as bar:
        for f, target in zip(files, targets):
            image = read_image(f, argument="--input").to(dev)
            result = restore_tensor(model, image, tile=tile, overlap=overlap, scale=scale)
            atomic_write_bytes(target, _png_bytes(result, bits))
            pixels += result.shape[-2] * result.shape[-1]
            bar.update(1)
    return RestoreReport(targets, time.perf_counter() - t0, pixels / 1e6)


def load_network(path: str | Path) -> tuple[torch.nn.Module, int]:
    """A ``train-restorer`` model or a network file that spandrel recognises, in eval mode, and its size factor."""
    from mdfloss.restoration.evaluate import is_restorer_file, restorer_and_task

    if is_restorer_file(path):
        model, task = restorer_and_task(path, argument="--model")
        return model, task.factor
    from mdfloss.restoration import foreign_models

    if not Path(path).is_file():
        raise InvalidInputError(f"--model: '{path}' does not exist; give a train-restorer model.pt or a network "
                                "file that spandrel recognises")
    model, spec = foreign_models.load_foreign(path, argument="--model")
    return model.eval(), int(spec["scale"])
