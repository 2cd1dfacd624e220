"""What both trainers share: the settings a run was started with, checked loading of the
files a user names, the JSONL log, the step learning-rate schedule and seed derivation.

A run's folder holds ``run.json`` with its settings. ``--resume`` with other settings is
refused in one line that names the first setting that differs, so a run can never be
continued with, say, another loss and still claim its old name.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path
from typing import Any, Iterable, Sequence

import torch

from mdfloss.common.errors import OutputPathError, WeightFileError
from mdfloss.common.files import atomic_write_bytes, sha256_file  # noqa: F401 - sha256_file: older imports

RUN_FILE = "run.json"


def derive_seed(seed: int, *keys: Any) -> int:
    """A 63-bit seed from ``seed`` and ``keys``: every random stream of a run has its own."""
    h = hashlib.sha256(repr((int(seed),) + keys).encode()).digest()
    return int.from_bytes(h[:8], "little") & ((1 << 63) - 1)


def seed_of_text(text: str) -> int:
    """A 63-bit seed from a text (the restoration data's per-item and per-image streams, ``"SEED:KEY"``).

    Kept apart from :func:`derive_seed` so that runs made before the two lived here draw the same patches."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") & ((1 << 63) - 1)


def derive_generator(seed: int, *keys: Any) -> torch.Generator:
    """A CPU generator seeded by :func:`derive_seed`."""
    return torch.Generator().manual_seed(derive_seed(seed, *keys))


def step_lr(base: float, iteration: int, total: int, decay_at: Sequence[float], factor: float) -> float:
    """``base`` times ``factor`` for each fraction in ``decay_at`` of ``total`` iterations already passed."""
    return base * factor ** sum(iteration >= f * total for f in decay_at)


class JsonlLog:
    """Append-only JSONL log: one flushed line per record; disabled logs write nothing. ``mirror`` also gets
    every record (TensorBoard, :mod:`mdfloss.common.tensorboard`)."""

    def __init__(self, path: Path, enabled: bool = True, mirror=None) -> None:
        self._f = open(path, "a", encoding="utf-8") if enabled else None
        self._mirror = mirror if enabled else None

    def write(self, **record: Any) -> None:
        if self._f is not None:
            self._f.write(json.dumps(record) + "\n")
            self._f.flush()
        if self._mirror is not None:
            self._mirror(record)

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    def __enter__(self) -> "JsonlLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def normal_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as they read back from ``run.json`` (tuples become lists)."""
    return json.loads(json.dumps(settings, sort_keys=True))  # tuples -> lists, as read back


def recorded_settings(workdir: Path) -> dict[str, Any] | None:
    """The settings a run in ``workdir`` was started with, or None."""
    path = workdir / RUN_FILE
    return json.loads(path.read_text(encoding="utf-8")).get("settings") if path.is_file() else None


def first_difference(old: Any, new: Any, prefix: str = "") -> tuple[str, Any, Any] | None:
    """The first setting that differs, as ``(dotted.key, old value, new value)``, looking into nested settings
    (a preset's ``config.iterations``), so a message names one value instead of two whole dictionaries."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            found = first_difference(old.get(key), new.get(key), f"{prefix}{key}.")
            if found is not None:
                return found
        return None
    return None if old == new else (prefix.rstrip("."), old, new)


def prepare_workdir(workdir: Path, settings: dict[str, Any], *, resume: bool, force: bool,
                    has_checkpoints: bool, clear: Iterable[Path] = (), write: bool = True) -> None:
    """Check that a run may start or resume in ``workdir`` and record its settings there.

    * checkpoints of an earlier run and neither ``resume`` nor ``force``: refused;
    * ``force`` without ``resume``: the earlier run's files (``clear``) are removed;
    * ``resume`` with other settings than recorded: refused, naming the first that differs.

    With ``write=False`` (the other ranks of a distributed run) it only checks.
    """
    settings = normal_settings(settings)
    recorded = workdir / RUN_FILE
    if has_checkpoints and not resume and not force:
        raise OutputPathError(f"out: '{workdir}' holds checkpoints of an earlier run; pass --resume to continue "
                              "it or --force to start over")
    if force and not resume and write:
        for p in clear:
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        recorded.unlink(missing_ok=True)
    if resume and recorded.is_file():
        diff = first_difference(recorded_settings(workdir) or {}, settings)
        if diff is not None:
            key, was, now = diff
            raise OutputPathError(
                f"--resume: the run in '{workdir}' was started with {key}={json.dumps(was)}, not "
                f"{json.dumps(now)}; resume with the same settings, or use another --out or --force"
            )
    if write:
        workdir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(recorded, json.dumps({"settings": settings}, indent=1).encode())


def load_checked(path: str | Path, *, argument: str, kind: str, keys: Sequence[str] = ()) -> dict[str, Any]:
    """``torch.load(weights_only=True)`` of a file the user named, with one-line errors.

    Raises:
        WeightFileError: the file is missing, not a readable torch file, or lacks ``keys``
            (another kind of file than ``kind``).
    """
    path = Path(path)
    if not path.is_file():
        raise WeightFileError(f"{argument}: '{path}' does not exist or is not a file; give the path of {kind}")
    try:
        with open(path, "rb") as f:
            record = torch.load(io.BytesIO(f.read()), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure is a bad file to the user
        raise WeightFileError(f"{argument}: '{path}' is not a readable model file ({exc.__class__.__name__}); "
                              f"give {kind}") from None
    missing = [k for k in keys if not isinstance(record, dict) or k not in record]
    if missing:
        raise WeightFileError(f"{argument}: '{path}' is not {kind} (it lacks {', '.join(missing)})")
    return record
