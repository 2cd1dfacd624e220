"""Make a study folder: the reference and each method's restoration of every scene, and ``study.json``.

Layout of ``STUDY_DIR``::

    study.json              scenes, conditions, where each image is, how the study was made
    images/reference/<scene>.png
    images/<method folder>/<scene>.png
    images/catch/<scene>.png    with catch trials: the reference strongly degraded (blur, then JPEG q 10)
    secret.key              for completion codes and each observer's trial order (see ``codes.py``)
    instructions.txt        optional: shown to every new observer before the first trial
    consent.txt             optional: the observer must agree to it before the first trial
    answers.sqlite          written by ``mdfloss study serve``

A scene is one image, or with ``crops`` one crop of an image (``<image>_c<k>``). Crops sit at the same
place in every method and are put where the methods differ most, so observers see the differences.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from mdfloss.common.errors import ImageReadError, InvalidInputError, OutputPathError
from mdfloss.common.files import atomic_write_bytes
from mdfloss.common.imageio import IMAGE_SUFFIXES, image_files
from mdfloss.study.codes import study_secret

STUDY_FILE = "study.json"
REFERENCE = "reference"
CATCH_FOLDER = "catch"
#: Screening trials per observer: name → (most allowed, what it is).
EXTRA_TRIALS = {"practice": (20, "practice trials at the start, not scaled"),
                "catch": (50, "catch trials: the reference against a strongly degraded copy"),
                "identical": (50, "identical pairs: one image on both sides")}
TEXT_FILES = {"instructions": "instructions.txt", "consent": "consent.txt"}
MAX_TEXT_BYTES = 20_000
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
    files: dict[str, Path] = {}
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
    seen: set[str] = set()
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


def check_extra_trials(extra: dict[str, int]) -> dict[str, int]:
    """Practice, catch and identical trials per observer, each a whole number in its range."""
    unknown = set(extra) - set(EXTRA_TRIALS)
    if unknown:
        raise InvalidInputError(f"trials: unknown kind(s) {', '.join(sorted(unknown))}; expected "
                                f"{', '.join(EXTRA_TRIALS)}")
    for name, value in extra.items():
        most, what = EXTRA_TRIALS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
            raise InvalidInputError(f"--{name}: expected 0 to {most} {what} per observer, got {value!r}")
    return {name: int(extra.get(name, 0)) for name in EXTRA_TRIALS}


def read_text_file(path: Path, argument: str) -> str:
    """A short UTF-8 text for the observer page (instructions or consent)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"{argument}: cannot read '{path}' ({exc.strerror or exc})") from None
    if len(data) > MAX_TEXT_BYTES:
        raise InvalidInputError(f"{argument}: '{path}' is {len(data)} bytes; keep it under {MAX_TEXT_BYTES} "
                                "(a page observers will read)")
    try:
        text = data.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise InvalidInputError(f"{argument}: '{path}' is not UTF-8 text") from None
    if not text:
        raise InvalidInputError(f"{argument}: '{path}' is empty")
    return text


def degrade_for_catch(img: np.ndarray) -> np.ndarray:
    """A copy nobody should prefer to the reference: Gaussian blur (radius 3 px), then JPEG at quality 10."""
    blurred = Image.fromarray(img).filter(ImageFilter.GaussianBlur(3))
    buf = io.BytesIO()
    blurred.save(buf, format="JPEG", quality=10)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"))


def _save_png(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path, format="PNG")


def _write_images(tmp: Path, refs: dict[str, np.ndarray], images: dict[str, dict[str, np.ndarray]],
                  conditions: list[str], crops: int, crop_size: int, *, catch: bool) -> list[dict]:
    """Every scene's reference, catch image and conditions (each crop its own scene); the scenes' records."""
    scenes = []
    for scene, ref in refs.items():
        stack = np.stack([images[c][scene] for c in conditions])
        windows = crop_positions(stack, crops, crop_size) if crops else [(0, 0)]
        for k, (y, x) in enumerate(windows):
            name = f"{scene}_c{k}" if crops else scene
            h, w = (crop_size, crop_size) if crops else ref.shape[:2]
            _save_png(tmp / "images" / REFERENCE / f"{name}.png", ref[y:y + h, x:x + w])
            if catch:
                _save_png(tmp / "images" / CATCH_FOLDER / f"{name}.png", degrade_for_catch(ref[y:y + h, x:x + w]))
            for c in conditions:
                _save_png(tmp / "images" / folder_name(c) / f"{name}.png", images[c][scene][y:y + h, x:x + w])
            scenes.append({"scene": name, "image": scene, "crop": [y, x, h, w]})
    return scenes


def build_study(out: Path, refs: dict[str, np.ndarray], images: dict[str, dict[str, np.ndarray]], *,
                crops: int = 0, crop_size: int = 256, source: dict | None = None, practice: int = 0,
                catch: int = 0, identical: int = 0, instructions: Path | None = None,
                consent: Path | None = None) -> dict:
    """Write the study folder (all or nothing: built in a temporary folder, then renamed).

    ``practice``, ``catch`` and ``identical``: screening trials each observer gets besides the real pairs
    (see :data:`EXTRA_TRIALS`); ``instructions`` and ``consent``: text files shown before the first trial.
    """
    out = Path(out)
    extra = check_extra_trials({"practice": practice, "catch": catch, "identical": identical})
    texts = {name: read_text_file(path, f"--{name}") for name, path in
             (("instructions", instructions), ("consent", consent)) if path is not None}
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
        scenes = _write_images(tmp, refs, images, conditions, crops, crop_size, catch=bool(extra["catch"]))
        meta = {"kind": "mdfloss.study", "version": 1, "conditions": conditions,
                "folders": {c: folder_name(c) for c in conditions}, "scenes": scenes, "source": source or {},
                "trials": extra}
        atomic_write_bytes(tmp / STUDY_FILE, json.dumps(meta, indent=2).encode())
        for name, text in texts.items():
            atomic_write_bytes(tmp / TEXT_FILES[name], text.encode())
        study_secret(tmp, create=True)
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
    meta["trials"] = check_extra_trials(meta.get("trials") or {})  # folders from before screening trials: none
    if meta["trials"]["catch"] and not (Path(study_dir) / "images" / CATCH_FOLDER).is_dir():
        raise InvalidInputError(f"STUDY_DIR: '{study_dir}' asks for catch trials but has no images/{CATCH_FOLDER}")
    return meta


def study_text(study_dir: Path, name: str) -> str | None:
    """The study's instructions or consent text, or None when the folder has none."""
    path = Path(study_dir) / TEXT_FILES[name]
    return read_text_file(path, TEXT_FILES[name]) if path.is_file() else None
