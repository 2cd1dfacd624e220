"""Image-folder datasets: random training patches and reproducible evaluation pairs.

A set is a named set (under the data root), a folder of clean images (degraded on the fly by the
task), or a paired source ``DEGRADED_DIR:CLEAN_DIR`` of real degradations (a noisy photo and its clean
reference, as in SIDD or RealSR), matched by file name; the degraded image is the clean one's size,
or that divided by the task's factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset

from mdfloss.common.errors import ImageReadError
from mdfloss.common.imageio import IMAGE_SUFFIXES, image_files, read_image
from mdfloss.common.runs import seed_of_text
from mdfloss.data.sets import data_root, load_manifest
from mdfloss.tasks import Task


def named_sets() -> tuple[str, ...]:
    """The sets the data manifest knows (``mdfloss data list``), read from the data root unless a folder is given."""
    return tuple(load_manifest())


@dataclass(frozen=True)
class PairedFolders:
    """Real degradations: ``degraded`` and ``clean`` images matched by file name (stem)."""

    degraded: Path
    clean: Path

    def __str__(self) -> str:
        return f"{self.degraded}:{self.clean}"

    def pairs(self) -> list[tuple[Path, Path]]:
        """(degraded, clean) files, matched by stem; refuses names present on one side only."""
        deg = {f.stem: f for f in list_images(self.degraded)}
        clean = {f.stem: f for f in list_images(self.clean)}
        only_deg, only_clean = sorted(set(deg) - set(clean)), sorted(set(clean) - set(deg))
        if only_deg or only_clean:
            parts = [f"only in {where}: {', '.join(names[:3])}"
                     + (f" and {len(names) - 3} more" if len(names) > 3 else "")
                     for where, names in ((self.degraded, only_deg), (self.clean, only_clean)) if names]
            raise ImageReadError(f"pairs: the folders' file names do not match ({'; '.join(parts)})")
        return [(deg[k], clean[k]) for k in sorted(deg)]


def split_pairs(text: str) -> PairedFolders | None:
    """``DEGRADED_DIR:CLEAN_DIR`` when both halves are folders, else None."""
    for i, ch in enumerate(text):
        if ch == ":" and Path(text[:i]).is_dir() and Path(text[i + 1:]).is_dir():
            return PairedFolders(Path(text[:i]), Path(text[i + 1:]))
    return None


def resolve_set(name_or_dir: str | Path | PairedFolders, root: Path | None = None) -> Path | PairedFolders:
    """A named set under ``root`` (default: the data root), a folder path, or ``DEGRADED_DIR:CLEAN_DIR``."""
    if isinstance(name_or_dir, PairedFolders):
        return name_or_dir
    p = Path(name_or_dir)
    if p.is_dir():
        return p
    paired = split_pairs(str(name_or_dir))
    if paired is not None:
        return paired
    if str(name_or_dir) in named_sets():
        root = root or data_root()
        if (root / str(name_or_dir)).is_dir():
            return root / str(name_or_dir)
        raise ImageReadError(f"set: {name_or_dir} is not downloaded (looked in {root}); fetch it with: "
                             f"mdfloss data download {name_or_dir}, or point --data-root (or $MDFLOSS_DATA) at "
                             f"the folder that holds it")
    raise ImageReadError(f"set: '{name_or_dir}' is neither a folder, nor DEGRADED_DIR:CLEAN_DIR, nor a named set "
                         f"({', '.join(named_sets())})")


def set_record(spec: str | Path, resolved: Path | PairedFolders) -> str:
    """How a report records an evaluation set so that another machine can find it again: a named set by its
    name (resolved there under that machine's data root), a folder or a pair of folders by absolute path."""
    if isinstance(spec, str) and spec in named_sets() and not Path(spec).is_dir():
        return spec
    if isinstance(resolved, PairedFolders):
        return f"{resolved.degraded.resolve()}:{resolved.clean.resolve()}"
    return str(Path(resolved).resolve())


def list_images(folder: Path) -> list[Path]:
    files = image_files(folder)
    if not files:
        raise ImageReadError(f"set: folder '{folder}' holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def _seed_of(name: str, base: int) -> int:
    return seed_of_text(f"{base}:{name}")


class TrainPatches(Dataset):
    """Random HR patches with flips and 90-degree rotations, degraded on the fly.

    Item i is drawn from a generator seeded by (seed, i), so a run is reproducible
    and a resumed run draws the same patches. Images are decoded once and kept in memory.
    Returns (degraded, clean) with clean of ``patch`` px and degraded of ``patch // factor``.
    """

    def __init__(self, folder: Path | PairedFolders, degradation: Task, patch: int, length: int,
                 seed: int = 0) -> None:
        if patch % degradation.factor:
            raise ImageReadError(f"patch: {patch} is not a multiple of the SR factor {degradation.factor}")
        self.degraded: list[torch.Tensor] | None
        if isinstance(folder, PairedFolders):
            self.degraded, pairs = read_pairs(folder, degradation.factor)
            self.images = [read_image(c) for _, c in pairs]
        else:
            self.images, self.degraded = [read_image(f) for f in list_images(folder)], None
        small = [i for i, im in enumerate(self.images) if min(im.shape[-2:]) < patch]
        if small:
            raise ImageReadError(f"patch: {len(small)} training images are smaller than the {patch}px patch")
        self.degradation, self.patch, self.length, self.seed = degradation, patch, length, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(_seed_of(str(i), self.seed))
        k = int(torch.randint(len(self.images), (), generator=g))
        img = self.images[k]
        f = self.degradation.factor if self.degraded is not None else 1  # paired: crop the LR image at the same place
        h, w = img.shape[-2:]
        y = int(torch.randint((h - self.patch) // f + 1, (), generator=g)) * f
        x = int(torch.randint((w - self.patch) // f + 1, (), generator=g)) * f
        hr = img[..., y : y + self.patch, x : x + self.patch]
        lq = None
        if self.degraded is not None:
            lq = self.degraded[k][..., y // f : (y + self.patch) // f, x // f : (x + self.patch) // f]
        flip, turns = bool(torch.rand((), generator=g) < 0.5), int(torch.randint(4, (), generator=g))
        def orient(t: torch.Tensor) -> torch.Tensor:
            return torch.rot90(t.flip(-1) if flip else t, turns, dims=(-2, -1)).contiguous()

        hr, lq = orient(hr), (None if lq is None else orient(lq))
        return (self.degradation(hr, g)[0] if lq is None else lq[0]), hr[0]


def read_pairs(folder: PairedFolders, factor: int) -> tuple[list[torch.Tensor], list[tuple[Path, Path]]]:
    """The degraded images of a paired source and the matched files; refuses a clean image whose size is not the
    degraded one's times ``factor`` (listing the first few)."""
    files = folder.pairs()
    degraded, bad = [], []
    for d, c in files:
        lq, hq_size = read_image(d), _image_size(c)
        degraded.append(lq)
        if (lq.shape[-2] * factor, lq.shape[-1] * factor) != hq_size:
            bad.append(f"{d.name} {tuple(lq.shape[-2:])} vs {c.name} {hq_size}")
    if bad:
        size = "size" if factor == 1 else f"size divided by {factor}"
        raise ImageReadError(f"pairs: {len(bad)} degraded images are not their clean image's {size} "
                             f"({'; '.join(bad[:3])}{'; ...' if len(bad) > 3 else ''})")
    return degraded, files


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.height, im.width


class EvalPairs(Dataset):
    """Whole images of a set with a degradation fixed per image name (same inputs on every run), or the
    degraded images of a paired source as they are."""

    def __init__(self, folder: Path | PairedFolders, degradation: Task, seed: int = 0) -> None:
        self.degraded: list[torch.Tensor] | None
        if isinstance(folder, PairedFolders):
            self.degraded, pairs = read_pairs(folder, degradation.factor)
            self.files = [c for _, c in pairs]
        else:
            self.degraded, self.files = None, list_images(folder)
        self.degradation, self.seed = degradation, seed

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[str, torch.Tensor, torch.Tensor]:
        f = self.files[i]
        if self.degraded is not None:
            return f.stem, self.degraded[i][0], read_image(f)[0]
        hr = self.degradation.crop_multiple(read_image(f))
        g = torch.Generator().manual_seed(_seed_of(f.name, self.seed))
        return f.stem, self.degradation(hr, g)[0], hr[0]
