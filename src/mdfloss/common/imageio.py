"""Reading images into tensors, with every file mode converted sensibly.

* 8-bit RGB / grey: divided by 255.
* 16-bit PNG (I;16 and friends): divided by 65535, no 8-bit round trip.
* RGBA / LA / palette with transparency: composited over white.
* CMYK JPEG: converted to RGB by Pillow's ICC-less conversion.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from mdfloss.common.errors import ImageReadError

#: Images with more pixels are refused (decompression-bomb guard); override per call
#: with ``max_pixels`` or for the command line with the environment variable MDFLOSS_MAX_PIXELS.
DEFAULT_MAX_PIXELS = 64_000_000


def _default_max_pixels() -> int:
    env = os.environ.get("MDFLOSS_MAX_PIXELS")
    if env is None:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(env)
    except ValueError:
        value = 0
    if value <= 0:
        raise ImageReadError(f"MDFLOSS_MAX_PIXELS: expected a positive integer, got {env!r}")
    return value
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def image_files(folder: Path) -> list[Path]:
    """The image files directly in ``folder`` (by suffix), sorted by name; the caller decides what none means."""
    return sorted(f for f in Path(folder).iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)


def _to_array(im: Image.Image) -> np.ndarray:
    """Return float32 (H, W, 3) in [0, 1]."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(im, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") or a.max() > 255 else 255.0
        a = np.clip(a / hi, 0.0, 1.0).astype(np.float32)
        return np.repeat(a[..., None], 3, axis=2)
    if mode == "F":
        a = np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
        return np.repeat(a[..., None], 3, axis=2)
    if mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba).convert("RGB")
    elif mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.float32) / 255.0


def read_image(path: str | Path, *, max_pixels: int | None = None, argument: str = "image") -> torch.Tensor:
    """Read an image file as a float tensor (1, 3, H, W) in [0, 1].

    Raises:
        ImageReadError: missing, a folder, empty, not an image, corrupt or
            truncated, or larger than ``max_pixels``.
    """
    path = Path(path)
    max_pixels = _default_max_pixels() if max_pixels is None else max_pixels
    if not path.exists():
        raise ImageReadError(f"{argument}: file '{path}' does not exist")
    if path.is_dir():
        raise ImageReadError(f"{argument}: '{path}' is a directory; give an image file")
    if path.stat().st_size == 0:
        raise ImageReadError(f"{argument}: '{path}' is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise ImageReadError(
                        f"{argument}: '{path}' has {w}x{h} = {w * h} pixels, more than the limit of "
                        f"{max_pixels}; raise max_pixels (or MDFLOSS_MAX_PIXELS) if the file is trusted"
                    )
                im.load()
                arr = _to_array(im)
    except ImageReadError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(f"{argument}: '{path}' is not a readable image ({exc.__class__.__name__})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageReadError(f"{argument}: '{path}' is corrupt or truncated ({exc})") from None
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1).unsqueeze(0).contiguous()


def quantize_8bit(x: torch.Tensor) -> torch.Tensor:
    """Round to the 256 levels of an 8-bit image (values clamped to [0, 1] first), as a saved image would be.

    Example:
        >>> import torch
        >>> quantize_8bit(torch.tensor([0.5, 1.2, -0.1]))
        tensor([0.5020, 1.0000, 0.0000])
    """
    return torch.round(x.clamp(0, 1) * 255) / 255
