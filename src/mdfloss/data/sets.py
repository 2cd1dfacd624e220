"""Data sets by name: where they live, what the manifest says they are, and checking them.

The manifest (``manifest.json`` beside this file, or ``--manifest FILE`` in the same format) lists each
set's files with their public URL, sha256 and size, taken from a pinned commit of a public repository
(``tools/make_data_manifest.py``), or an archive, or a page to fetch it from by hand. Sets live in
``<root>/<NAME>/`` where the root is ``$MDFLOSS_DATA``, else the user's cache folder (``$XDG_CACHE_HOME/mdfloss``
or ``~/.cache/mdfloss``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mdfloss.common.errors import InvalidInputError, MDFError
from mdfloss.common.files import sha256_file


class DataError(MDFError, ValueError):
    """A data set is missing, fails its checksums, or cannot be downloaded."""


def data_root() -> Path:
    """``$MDFLOSS_DATA``, else the user's cache folder."""
    env = os.environ.get("MDFLOSS_DATA")
    if env:
        return Path(env)
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "mdfloss"


@dataclass(frozen=True)
class DataSet:
    name: str
    entry: dict

    @property
    def files(self) -> list[dict]:
        return self.entry.get("files", [])

    @property
    def verifiable(self) -> bool:
        return bool(self.files) or bool((self.entry.get("archive") or {}).get("sha256"))

    @property
    def size(self) -> int:
        return sum(f.get("size", 0) for f in self.files)


def load_manifest(path: Path | None = None) -> dict[str, DataSet]:
    """The sets of a manifest (the built-in one by default), checked enough to use."""
    try:
        text = Path(path).read_text() if path else resources.files("mdfloss.data").joinpath(
            "manifest.json").read_text()
        raw = json.loads(text)
        sets = raw["sets"]
        ok = raw.get("kind") == "mdfloss.data-manifest" and isinstance(sets, dict)
        for entry in sets.values():
            ok = ok and isinstance(entry, dict) and ("files" in entry or "archive" in entry or "manual" in entry)
            for f in entry.get("files", []):
                ok = ok and isinstance(f.get("url"), str) and len(f.get("sha256", "")) == 64 and "/" not in f["name"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise InvalidInputError(f"--manifest: '{path}' is not a data manifest (see src/mdfloss/data/manifest.json "
                                "for the format)")
    return {name: DataSet(name, entry) for name, entry in sets.items()}


def get_set(name: str, manifest: dict[str, DataSet]) -> DataSet:
    if name not in manifest:
        raise InvalidInputError(f"NAME: unknown data set {name!r}; 'mdfloss data list' shows the known ones")
    return manifest[name]


def verify(ds: DataSet, root: Path) -> list[str]:
    """Problems with a downloaded set (empty: it is complete and every file has its manifest hash)."""
    folder = root / ds.name
    if not folder.is_dir():
        return [f"{ds.name} is not downloaded (no folder {folder})"]
    if not ds.files:
        return [] if ds.verifiable else [f"{ds.name}: the manifest has no file hashes, so it cannot be verified"]
    problems = []
    for f in ds.files:
        path = folder / f["name"]
        if not path.is_file():
            problems.append(f"{f['name']} is missing")
        elif sha256_file(path) != f["sha256"]:
            problems.append(f"{f['name']} does not match its sha256")
    return problems


def status(ds: DataSet, root: Path) -> str:
    folder = root / ds.name
    if not folder.is_dir():
        return "not downloaded"
    if not ds.files:
        return "present (unverifiable)"
    present = sum((folder / f["name"]).is_file() for f in ds.files)
    if present == len(ds.files):
        return "present"
    stems = {p.stem for p in folder.iterdir()}
    if all(Path(f["name"]).stem in stems for f in ds.files):
        return "present (converted copy)"  # e.g. PNGs converted from the BMP originals: not byte-checkable
    return f"incomplete ({present}/{len(ds.files)} files)"
