"""Loss files shipped with the package, found by name."""

from __future__ import annotations

from pathlib import Path

from mdfloss.common.errors import WeightFileError

_HERE = Path(__file__).resolve().parent

#: name -> file in this folder. ``sisr``, ``denoise`` (sigma 25) and ``jpeg`` (quality 10)
#: were trained by mdfloss's Phase 1 (docs/phase1.md says how); ``published-*`` are the
#: authors' critics converted to safetensors (BSD-3-Clause, LICENSE.gfxdisp-mdf beside them).
_FILES = {
    "published-sisr": "published_sisr.safetensors",
    "published-jpeg": "published_jpeg.safetensors",
    "sisr": "mdf_sisr.safetensors",
    "denoise": "mdf_denoise.safetensors",
    "jpeg": "mdf_jpeg.safetensors",
}


def available_losses() -> list[str]:
    """Names accepted by ``MDFLoss.pretrained``."""
    return [n for n in _FILES if (_HERE / _FILES[n]).is_file()]


def is_pretrained_name(name: str) -> bool:
    return name in _FILES


def resolve_loss_path(name_or_path: str | Path) -> Path:
    """A shipped loss name's file, or the path itself."""
    return pretrained_path(str(name_or_path)) if is_pretrained_name(str(name_or_path)) else Path(name_or_path)


def pretrained_path(name: str) -> Path:
    if name not in _FILES:
        raise WeightFileError(
            f"name: no shipped loss called {name!r}; choose one of {', '.join(available_losses())} "
            "or give a loss-file path"
        )
    path = _HERE / _FILES[name]
    if not path.is_file():
        raise WeightFileError(f"the shipped loss file for {name!r} is missing from the installation ({path})")
    return path


def bundled_image_path() -> Path:
    """The bundled CC0 training photograph (see IMAGE_SOURCE.md beside it)."""
    return _HERE / "chelsea.png"
