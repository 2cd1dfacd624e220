"""Loss files: safetensors tensors plus JSON metadata in the safetensors header.

Layout: tensors ``critics.{k}.{published key}`` for each scale k (0 = coarsest),
with BatchNorm kept unfused so the same file serves training and the loss.
The header's ``__metadata__`` holds one key, ``mdfloss``, a JSON document:

=================  ==========================================================
``format``         ``"mdfloss-loss"``
``format_version`` integer; files from a newer version are refused
``architecture``   per scale: ``width``, ``num_layers``, ``kernel_size``, ``in_channels``
``input_range``    ``[lo, hi]``: the range the critics expect (``[-1, 1]`` when
                   trained SinGAN-style; ``[0, 1]`` for the converted published files)
``scale_factors``  per scale: image size relative to the finest scale (pyramid mode)
``default_scales`` scales the loss uses unless told otherwise
``default_taps``   subset of ``["head", "body", "tail"]``
``task``           ``sisr``, ``denoise``, ``jpeg`` or a user name
``distortion``     ``{"name": ..., "params": {...}}``
``training_image`` ``{"sha256": ..., "name": ..., "size": [w, h]}`` or null
``training_config`` the Phase-1 settings, or null
``source``         where the weights came from; ``license`` their licence
``calibration``    optional (format 2): how the per-channel tap weights were fitted
``tensors_sha256`` sha256 of every tensor (name and float32 bytes, by name); a
                   file whose tensors do not match it is refused (files
                   written before 0.2 have none and load as before)
=================  ==========================================================

A calibrated file (format 2) also holds ``calibration.{k}.{tap}`` tensors: non-negative
weights, one per channel of that tap of critic k (see :mod:`mdfloss.phase1.calibrate`).
Files without calibration are written as format 1, so older mdfloss releases still read them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from mdfloss.common.errors import WeightFileError
from mdfloss.common.files import atomic_write_bytes
from mdfloss.loss.critic_layout import TAPS, architecture_of, expected_keys

FORMAT_NAME = "mdfloss-loss"
FORMAT_VERSION = 2  # 2 adds calibration tensors; a file without them is still written as 1
_REQUIRED_META = ("format", "format_version", "architecture", "input_range", "scale_factors")


@dataclass
class LossWeights:
    """Critic state dicts (coarsest first) and the file's metadata.

    Example:
        >>> from mdfloss.loss.assets import pretrained_path
        >>> w = load_loss_file(pretrained_path("sisr"))
        >>> len(w.critics), w.widths[-1], w.metadata["task"]
        (8, 64, 'sisr')
    """

    critics: list[dict[str, torch.Tensor]]
    metadata: dict[str, Any] = field(default_factory=dict)
    #: ``{"k.tap": (C,) non-negative weights}`` for every critic and tap, or None (uncalibrated).
    calibration: dict[str, torch.Tensor] | None = None

    @property
    def widths(self) -> list[int]:
        return [int(c["head.conv.weight"].shape[0]) for c in self.critics]


def loss_metadata(widths: list[int], *, input_range: list[float], scale_factors: list[float],
                  task: str, source: str, license: str, **extra: Any) -> dict[str, Any]:
    """The metadata of a loss file: format, architecture, range, pyramid, task, provenance, then ``extra``."""
    n = len(widths)
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "architecture": architecture_of(widths),
        "input_range": list(input_range),
        "scale_factors": list(scale_factors),
        "default_scales": list(range(n)),
        "default_taps": list(TAPS),
        "task": task,
        "distortion": None,
        "training_image": None,
        "training_config": None,
        "source": source,
        "license": license,
        **extra,
    }


def _validate(critics: list[dict[str, torch.Tensor]], meta: dict[str, Any], where: str) -> None:
    missing = [k for k in _REQUIRED_META if k not in meta]
    if missing:
        raise WeightFileError(f"{where}: metadata lacks {', '.join(missing)}; the file is not a valid loss file")
    if meta["format"] != FORMAT_NAME:
        raise WeightFileError(f"{where}: metadata format is {meta['format']!r}, expected {FORMAT_NAME!r}")
    version = meta["format_version"]
    if not isinstance(version, int) or version < 1:
        raise WeightFileError(f"{where}: format_version {version!r} is not a positive integer")
    if version > FORMAT_VERSION:
        raise WeightFileError(
            f"{where}: format_version {version} is newer than this mdfloss understands "
            f"({FORMAT_VERSION}); upgrade mdfloss to read it"
        )
    arch = meta["architecture"]
    if not isinstance(arch, list) or len(arch) != len(critics) or not critics:
        raise WeightFileError(f"{where}: metadata describes {len(arch) if isinstance(arch, list) else '?'} "
                              f"scales but the file holds {len(critics)}")
    if not isinstance(meta["scale_factors"], list) or len(meta["scale_factors"]) != len(critics):
        raise WeightFileError(f"{where}: scale_factors must list one factor per scale")
    lo_hi = meta["input_range"]
    if not (isinstance(lo_hi, list) and len(lo_hi) == 2 and lo_hi[0] < lo_hi[1]):
        raise WeightFileError(f"{where}: input_range must be [lo, hi] with lo < hi, got {lo_hi!r}")
    for k, (state, a) in enumerate(zip(critics, arch)):
        width = a.get("width") if isinstance(a, dict) else None
        if not isinstance(width, (int, float)) or isinstance(width, bool) or not float(width).is_integer() \
                or width < 1:
            raise WeightFileError(f"{where}: architecture entry {k} needs a positive whole 'width', got {width!r}")
        want = expected_keys(int(width))
        for key, shape in want.items():
            t = state.get(key)
            if t is None:
                raise WeightFileError(f"{where}: scale {k} lacks tensor {key}")
            if tuple(t.shape) != shape:
                raise WeightFileError(f"{where}: scale {k} tensor {key} has shape {tuple(t.shape)}, expected {shape}")
            if not torch.isfinite(t).all():
                raise WeightFileError(f"{where}: scale {k} tensor {key} holds NaN or Inf")


def _validate_calibration(calibration: dict[str, torch.Tensor] | None, meta: dict[str, Any], widths: list[int],
                          where: str) -> None:
    if calibration is None:
        if meta.get("calibration") is not None:
            raise WeightFileError(f"{where}: metadata describes a calibration but the file holds no calibration "
                                  "tensors")
        return
    if not isinstance(meta.get("calibration"), dict):
        raise WeightFileError(f"{where}: holds calibration tensors but no 'calibration' metadata")
    want = {f"{k}.{tap}": (1 if tap == "tail" else w) for k, w in enumerate(widths) for tap in TAPS}
    if set(calibration) != set(want):
        raise WeightFileError(f"{where}: calibration must hold one tensor per critic and tap "
                              f"({len(want)}), got {len(calibration)}")
    for key, n in want.items():
        t = calibration[key]
        if tuple(t.shape) != (n,):
            raise WeightFileError(f"{where}: calibration {key} has shape {tuple(t.shape)}, expected ({n},)")
        if not torch.isfinite(t).all() or (t < 0).any():
            raise WeightFileError(f"{where}: calibration {key} must be finite and non-negative")


def to_bytes(weights: LossWeights) -> bytes:
    """Serialise to safetensors bytes (validated first)."""
    meta = dict(weights.metadata)
    meta.setdefault("format", FORMAT_NAME)
    meta["format_version"] = FORMAT_VERSION if weights.calibration is not None else 1
    meta.setdefault("architecture", architecture_of(weights.widths))
    if weights.calibration is None:
        meta.pop("calibration", None)
    _validate(weights.critics, meta, "weights to save")
    _validate_calibration(weights.calibration, meta, weights.widths, "weights to save")
    tensors = {}
    for k, state in enumerate(weights.critics):
        for key in expected_keys(weights.widths[k]):
            tensors[f"critics.{k}.{key}"] = state[key].detach().to("cpu", torch.float32).contiguous()
    for key, t in (weights.calibration or {}).items():
        tensors[f"calibration.{key}"] = t.detach().to("cpu", torch.float32).contiguous()
    meta["tensors_sha256"] = tensors_checksum(tensors)
    return st_save(tensors, metadata={"mdfloss": json.dumps(meta, sort_keys=True)})


def tensors_checksum(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 over every tensor's name and bytes, in name order: what a loss file's data must still be.

    Example:
        >>> import torch
        >>> tensors_checksum({"a": torch.zeros(2)}) == tensors_checksum({"a": torch.zeros(2)}) != tensors_checksum(
        ...     {"a": torch.ones(2)})
        True
    """
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].detach().to("cpu").contiguous().numpy().tobytes())
    return digest.hexdigest()


def save_loss_file(path: str | Path, weights: LossWeights) -> None:
    """Write a loss file atomically."""
    atomic_write_bytes(path, to_bytes(weights))


def _looks_like_pickle(raw: bytes) -> bool:
    # A safetensors file starts with its header length (8 bytes, little-endian) and then '{'; the length's
    # first byte may well be 0x80 (a 16,768-byte header is 80 41 00 ...), so that alone says nothing.
    if raw[8:9] == b"{":
        return False
    return raw[:1] == b"\x80" or raw[:2] == b"PK"


def load_loss_file(path: str | Path) -> LossWeights:
    """Read and validate a loss file; never unpickles anything.

    Raises:
        WeightFileError: missing, unreadable, pickled, corrupt, truncated,
            lacking or with wrong metadata, or from a future format version.
    """
    path = Path(path)
    if not path.exists():
        raise WeightFileError(f"loss file '{path}' does not exist; check the path or use MDFLoss.pretrained(name)")
    if not path.is_file():
        raise WeightFileError(f"loss file '{path}' is not a file")
    raw = path.read_bytes()
    where = f"loss file '{path}'"
    if _looks_like_pickle(raw):
        raise WeightFileError(
            f"{where} is a pickle/torch archive, which mdfloss never loads as a loss: a restoration network "
            "(train-restorer's model.pt) is scored with 'mdfloss evaluate --model FILE', and only the MDF authors' "
            "published critics convert, with 'mdfloss convert-reference IN.pth OUT.safetensors'"
        )
    if len(raw) < 8:
        raise WeightFileError(f"{where} is empty or truncated ({len(raw)} bytes)")
    header_len = int.from_bytes(raw[:8], "little")
    if header_len <= 0 or 8 + header_len > len(raw):
        raise WeightFileError(f"{where} is truncated or not a safetensors file")
    try:
        header = json.loads(raw[8 : 8 + header_len])
        tensors = st_load(raw)
    except (SafetensorError, ValueError, UnicodeDecodeError) as exc:
        raise WeightFileError(f"{where} is corrupt or truncated: {exc}") from None
    meta_raw = (header.get("__metadata__") or {}).get("mdfloss") if isinstance(header, dict) else None
    if meta_raw is None:
        raise WeightFileError(f"{where} has no mdfloss metadata; it is not a loss file written by mdfloss")
    try:
        meta = json.loads(meta_raw)
    except ValueError:
        raise WeightFileError(f"{where} has metadata that is not valid JSON") from None
    if not isinstance(meta, dict):
        raise WeightFileError(f"{where} has metadata that is not a JSON object")
    if "tensors_sha256" in meta and meta["tensors_sha256"] != tensors_checksum(tensors):
        raise WeightFileError(f"{where}: its tensors do not match the checksum written with them, so the file was "
                              "damaged after it was written; copy or download it again")
    n = len(meta.get("architecture") or [])
    critics: list[dict[str, torch.Tensor]] = [{} for _ in range(n)]
    calibration: dict[str, torch.Tensor] = {}
    for name, t in tensors.items():
        parts = name.split(".", 2)
        if len(parts) != 3 or not parts[1].isdigit() or int(parts[1]) >= n:
            raise WeightFileError(f"{where} holds an unexpected tensor '{name}'")
        if parts[0] == "critics":
            critics[int(parts[1])][parts[2]] = t
        elif parts[0] == "calibration" and parts[2] in TAPS:
            calibration[f"{parts[1]}.{parts[2]}"] = t
        else:
            raise WeightFileError(f"{where} holds an unexpected tensor '{name}'")
    _validate(critics, meta, where)
    widths = [int(a["width"]) for a in meta["architecture"]]
    _validate_calibration(calibration or None, meta, widths, where)
    return LossWeights(critics, meta, calibration or None)
