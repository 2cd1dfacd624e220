"""Atomic file writes (a temp file in the same folder, fsync, then rename), and the CSV and PNG writers."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import tempfile
from pathlib import Path

from mdfloss.common.errors import OutputPathError


def safe_name(name: str) -> str:
    """``name`` with every character but letters, digits, '-', '_' and '.' replaced by '_' (for file names)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def check_output_path(path: str | Path, *, force: bool = True, argument: str = "out") -> Path:
    """Return ``path`` as a Path after checking that it can be written.

    Raises:
        OutputPathError: the folder is missing or not writable, the path is a
            folder, or it exists and ``force`` is False.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"{argument}: '{path}' is a directory; give a file path")
    if path.exists() and not force:
        raise OutputPathError(f"{argument}: '{path}' already exists; pass --force to overwrite it")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputPathError(f"{argument}: folder '{parent}' does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise OutputPathError(f"{argument}: folder '{parent}' is not writable; choose another path")
    return path


def _umask() -> int:
    # Read, not set: os.umask() can only be read by changing it, which races with other threads.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise OutputPathError(f"cannot write '{path}': {exc.strerror}") from None
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_csv(path: str | Path, rows: list[dict], fieldnames: list[str] | None = None) -> None:
    """Rows of dicts (columns: ``fieldnames`` or the first row's keys), written atomically."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fieldnames or list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    atomic_write_bytes(path, buf.getvalue().encode())


def write_png(path: str | Path, image) -> None:
    """A PIL image or a matplotlib figure, written atomically as PNG."""
    buf = io.BytesIO()
    if hasattr(image, "savefig"):
        image.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    else:
        image.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
