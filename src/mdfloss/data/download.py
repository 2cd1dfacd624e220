"""Downloading a data set with pooch: every file checked against its sha256, nothing kept that fails.

Files are fetched into ``<root>/.<NAME>.partial/``; pooch writes each to a temporary file and keeps it only
when its hash matches, so an interrupted download resumes with the files it has, and a file with the wrong
hash is never kept. The set's folder appears (or gains its missing files) only once every file is verified.
An archive (``"archive": {"url", "sha256", "strip"}``) is verified, unpacked, and its members checked against
``"files"`` when the manifest lists them.
"""

from __future__ import annotations

import logging
import shutil
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

from mdfloss.common.extras import require
from mdfloss.common.files import sha256_file
from mdfloss.data.sets import DataError, DataSet, verify


def _fail(ds: DataSet, url: str, exc: BaseException) -> DataError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "hash" in reason.lower() and "match" in reason.lower():
        reason = "the file's sha256 does not match the manifest (a changed or truncated file); it was not kept"
    return DataError(f"data: downloading {ds.name} from {url} failed: {reason}; the files verified so far are kept "
                     "and a rerun resumes")


def _download_errors() -> tuple[type[BaseException], ...]:
    """What a pooch download raises: a hash mismatch (ValueError), the disk, and requests' HTTP errors."""
    requests = sys.modules.get("requests")
    return (ValueError, OSError) + ((requests.RequestException,) if requests else ())


def _fetch_files(pooch, ds: DataSet, partial: Path, wanted: list[dict], step: Callable[[], None]) -> None:
    for f in wanted:
        try:
            pooch.retrieve(f["url"], known_hash=f"sha256:{f['sha256']}", fname=f["name"], path=partial,
                           progressbar=False)
        except _download_errors() as exc:
            raise _fail(ds, f["url"], exc) from None
        step()


def _fetch_archive(pooch, ds: DataSet, root: Path, partial: Path) -> None:
    spec = ds.entry["archive"]
    downloads = root / ".downloads"
    name = spec["url"].rstrip("/").rsplit("/", 1)[-1]
    try:
        archive = Path(pooch.retrieve(spec["url"], known_hash=f"sha256:{spec['sha256']}" if spec.get("sha256")
                                      else None, fname=name, path=downloads, progressbar=False))
    except _download_errors() as exc:
        raise _fail(ds, spec["url"], exc) from None
    strip = spec.get("strip", "")
    try:
        with zipfile.ZipFile(archive) as z:
            for member in z.infolist():
                if member.is_dir() or not member.filename.startswith(strip):
                    continue
                rel = Path(member.filename[len(strip):])
                if rel.is_absolute() or ".." in rel.parts:
                    raise DataError(f"data: {name} holds an unsafe path {member.filename!r}; refused")
                target = partial / rel.name
                with z.open(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        archive.unlink(missing_ok=True)  # a broken archive is not kept
        shutil.rmtree(partial, ignore_errors=True)
        raise DataError(f"data: {name} for {ds.name} is not a readable zip archive ({exc}); it was deleted, "
                        "rerun to download it again") from None
    for f in ds.files:  # members are verified after unpacking, not only the archive
        path = partial / f["name"]
        if not path.is_file() or sha256_file(path) != f["sha256"]:
            shutil.rmtree(partial, ignore_errors=True)
            raise DataError(f"data: {ds.name}: {f['name']} from {name} is missing or does not match its sha256; "
                            "nothing was kept")


def download(ds: DataSet, root: Path, *, progress: Callable[[str], None] | None = None) -> Path:
    """Fetch one set into ``root/NAME`` (what is there and verified is kept); returns the folder."""
    if "manual" in ds.entry:
        raise DataError(f"data: {ds.name} cannot be downloaded automatically: {ds.entry.get('note', '')} "
                        f"(source: {ds.entry['manual']})")
    pooch = require("pooch", "data", "mdfloss data download")
    folder = root / ds.name
    if ds.files and not verify(ds, root):
        if progress:
            progress(f"{ds.name}: already complete in {folder}")
        return folder
    root.mkdir(parents=True, exist_ok=True)
    partial = root / f".{ds.name}.partial"
    partial.mkdir(exist_ok=True)
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)  # pooch announces every file at INFO
    try:
        if "archive" in ds.entry:
            if progress:
                note = "" if ds.entry["archive"].get("sha256") else " (its hash is unverified: not checked)"
                progress(f"{ds.name}: downloading {ds.entry['archive']['url']}{note}")
            _fetch_archive(pooch, ds, root, partial)
        else:
            wanted = [f for f in ds.files if not ((folder / f["name"]).is_file()
                                                  and sha256_file(folder / f["name"]) == f["sha256"])]
            from tqdm import tqdm

            with tqdm(total=len(wanted), desc=ds.name, unit="file", disable=not sys.stderr.isatty()) as bar:
                _fetch_files(pooch, ds, partial, wanted, bar.update)
    finally:
        logger.setLevel(level)
    if folder.exists():
        for f in partial.iterdir():
            f.replace(folder / f.name)
        partial.rmdir()
    else:
        partial.rename(folder)
    problems = verify(ds, root) if ds.files else []
    if problems:
        raise DataError(f"data: {ds.name} is still incomplete after the download: {'; '.join(problems[:3])}")
    if progress:
        progress(f"{ds.name}: {len(ds.files) or 'all'} files in {folder}")
    return folder
