"""Make a study folder: the reference and each method's restoration of every scene, and ``study.json``.

Layout of ``STUDY_DIR``::

    study.json              scenes, conditions, where each image is, how the study was made
    images/reference/<scene>.png
    images/<method folder>/<scene>.png
    answers.sqlite          written by ``mdfloss study serve``

A scene is one image, or with ``crops`` one crop of an image (``<image>_c<k>``). Crops sit at the same
place in every method and are put where the methods differ most, so observers see the differences.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from mdfloss.common.errors import ImageReadError, InvalidInputError, OutputPathError
from mdfloss.common.files import atomic_write_bytes
from mdfloss.common.imageio import IMAGE_SUFFIXES, image_files

STUDY_FILE = "study.json"
REFERENCE = "reference"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+*:=@-]{0,99}$")


def folder_name(condition: str) -> str:
    return "m_" + "".join(c if c.isalnum() or c in "-_." else "_" for c in condition)


def parse_method(text: str) -> tuple[str, Path]:
    """``NAME=DIR`` from the command line."""
    name, sep, folder = text.partition("=")
    if not sep or not name or not folder:
        raise InvalidInputError(f"--method: expected NAME=DIR, got {text!r}")
    if not _NAME.match(name):
        raise InvalidInputError(f"--method: name {name!r} must start with a letter or digit and hold only letters, "
                                "digits and _ . + * : = @ -")
    return name, Path(folder)


def _images_in(folder: Path, argument: str) -> dict[str, Path]:
    if not folder.is_dir():
        raise ImageReadError(f"{argument}: '{folder}' is not a folder")
    files = {}
    for f in image_files(folder):
        if f.stem in files:
            raise InvalidInputError(f"{argument}: '{folder}' holds two images named {f.stem!r} "
                                    f"({files[f.stem].name}, {f.name}); keep one")
        files[f.stem] = f
    if not files:
        raise ImageReadError(f"{argument}: '{folder}' holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def _read_rgb8(path: Path, argument: str) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise ImageReadError(f"{argument}: cannot read '{path}': {exc}") from None


def load_folders(reference: Path, methods: list[tuple[str, Path]]) -> tuple[dict, dict]:
    """Reference and method images as uint8 arrays, refusing missing images and differing sizes."""
    check_methods([name for name, _ in methods])
    ref_files = _images_in(Path(reference), "--reference")
    refs = {scene: _read_rgb8(p, "--reference") for scene, p in ref_files.items()}
    images: dict[str, dict[str, np.ndarray]] = {}
    for name, folder in methods:
        files = _images_in(folder, f"--method {name}")
        images[name] = {}
        for scene, ref in refs.items():
            if scene not in files:
                raise ImageReadError(f"--method {name}: '{folder}' lacks the image {scene!r} that the reference "
                                     "folder has; every method needs every reference image")
            img = _read_rgb8(files[scene], f"--method {name}")
            if img.shape != ref.shape:
                raise InvalidInputError(f"--method {name}: {files[scene].name} is {img.shape[1]}×{img.shape[0]} but "
                                        f"the reference is {ref.shape[1]}×{ref.shape[0]}; sizes must match")
            images[name][scene] = img
    return refs, images


def check_methods(names: list[str]) -> None:
    if len(names) < 2:
        raise InvalidInputError(f"--method: a study compares at least 2 methods, got {len(names)}")
    seen = set()
    for name in names:
        if name in seen or folder_name(name) in {folder_name(s) for s in seen}:
            raise InvalidInputError(f"--method: the name {name!r} is given twice; give each method its own name")
        seen.add(name)


def crop_positions(stack: np.ndarray, n: int, size: int) -> list[tuple[int, int]]:
    """Top-left corners of ``n`` non-overlapping ``size`` crops where the methods differ most.

    ``stack``: ``(methods, H, W, 3)``. The score of a window is the mean over its pixels of the standard
    deviation across methods; windows are picked greedily, best first, without overlap.
    """
    spread = stack.astype(np.float32).std(axis=0).mean(axis=-1)
    H, W = spread.shape
    if size > min(H, W):
        raise InvalidInputError(f"--crop-size: {size} px does not fit a {W}×{H} image; use at most {min(H, W)}")
    integral = np.pad(spread.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    window = integral[size:, size:] - integral[:-size, size:] - integral[size:, :-size] + integral[:-size, :-size]
    taken: list[tuple[int, int]] = []
    order = np.argsort(window, axis=None)[::-1]
    for flat in order:
        y, x = divmod(int(flat), window.shape[1])
        if all(abs(y - ty) >= size or abs(x - tx) >= size for ty, tx in taken):
            taken.append((y, x))
            if len(taken) == n:
                break
    return taken


def _save_png(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path, format="PNG")


def build_study(out: Path, refs: dict[str, np.ndarray], images: dict[str, dict[str, np.ndarray]], *,
                crops: int = 0, crop_size: int = 256, source: dict | None = None) -> dict:
    """Write the study folder (all or nothing: built in a temporary folder, then renamed)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputPathError(f"--out: '{out}' exists and is not empty; choose a new folder")
    if crops < 0 or (crops and crop_size < 16):
        raise InvalidInputError("--crops/--crop-size: expected crops >= 0 and a crop size of at least 16 px")
    if not out.parent.is_dir():
        raise OutputPathError(f"--out: folder '{out.parent}' does not exist; create it first")
    conditions = list(images)
    if "all" in refs:
        raise InvalidInputError("--reference: an image is named 'all', the name of the pooled scaling; rename it")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        scenes = []
        for scene, ref in refs.items():
            stack = np.stack([images[c][scene] for c in conditions])
            windows = crop_positions(stack, crops, crop_size) if crops else [(0, 0)]
            for k, (y, x) in enumerate(windows):
                name = f"{scene}_c{k}" if crops else scene
                h, w = (crop_size, crop_size) if crops else ref.shape[:2]
                _save_png(tmp / "images" / REFERENCE / f"{name}.png", ref[y:y + h, x:x + w])
                for c in conditions:
                    _save_png(tmp / "images" / folder_name(c) / f"{name}.png", images[c][scene][y:y + h, x:x + w])
                scenes.append({"scene": name, "image": scene, "crop": [y, x, h, w]})
        meta = {"kind": "mdfloss.study", "version": 1, "conditions": conditions,
                "folders": {c: folder_name(c) for c in conditions}, "scenes": scenes, "source": source or {}}
        atomic_write_bytes(tmp / STUDY_FILE, json.dumps(meta, indent=2).encode())
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def load_study(study_dir: Path) -> dict:
    """``study.json`` of a study folder, checked enough to serve it."""
    path = Path(study_dir) / STUDY_FILE
    if not path.is_file():
        raise InvalidInputError(f"STUDY_DIR: '{study_dir}' has no {STUDY_FILE}; make one with 'mdfloss study create'")
    try:
        meta = json.loads(path.read_text())
        ok = meta.get("kind") == "mdfloss.study" and len(meta["conditions"]) >= 2 and meta["scenes"]
    except (ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise InvalidInputError(f"STUDY_DIR: '{path}' is not a study file written by 'mdfloss study create'")
    return meta
