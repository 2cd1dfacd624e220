"""Self-verifying checkpoints: a sha256 of the payload, then the payload.

Payloads are written with ``torch.save`` and read back with
``torch.load(weights_only=True)`` (torch's allow-list unpickler), so only
tensors and plain containers can come out of them. A checkpoint whose
checksum does not match is skipped in favour of the previous good one.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from typing import Any

import torch

from mdfloss.common.files import atomic_write_bytes

_DIGEST = 32
_NAME = re.compile(r"^ckpt-(\d{6})\.pt$")


def _path(workdir: Path, step: int) -> Path:
    return workdir / f"ckpt-{step:06d}.pt"


def save_checkpoint(workdir: str | Path, step: int, payload: dict[str, Any], keep: int = 2) -> Path:
    """Write checkpoint number ``step`` atomically and drop all but the newest ``keep``."""
    workdir = Path(workdir)
    buf = io.BytesIO()
    torch.save(payload, buf)
    data = buf.getvalue()
    path = _path(workdir, step)
    atomic_write_bytes(path, hashlib.sha256(data).digest() + data)
    for old in list_checkpoints(workdir)[keep:]:
        old.unlink(missing_ok=True)
    return path


def list_checkpoints(workdir: str | Path) -> list[Path]:
    """Checkpoint files, newest first."""
    workdir = Path(workdir)
    if not workdir.is_dir():
        return []
    found = [p for p in workdir.iterdir() if _NAME.match(p.name)]
    return sorted(found, key=lambda p: int(p.name[5:11]), reverse=True)  # ckpt-NNNNNN.pt, as _NAME matched


def read_checkpoint(path: Path) -> dict[str, Any] | None:
    """The payload, or None when the file is corrupt or truncated."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    digest, data = raw[:_DIGEST], raw[_DIGEST:]
    if len(digest) != _DIGEST or hashlib.sha256(data).digest() != digest:
        return None
    try:
        payload = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception:  # noqa: BLE001 - any failure means "not a usable checkpoint"
        return None
    return payload if isinstance(payload, dict) else None


def load_latest(workdir: str | Path) -> tuple[dict[str, Any] | None, list[Path]]:
    """(newest good payload or None, the corrupt files that were skipped)."""
    skipped: list[Path] = []
    for path in list_checkpoints(workdir):
        payload = read_checkpoint(path)
        if payload is not None:
            return payload, skipped
        skipped.append(path)
    return None, skipped
