"""Image-folder datasets: random training patches and reproducible evaluation pairs."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch.utils.data import Dataset

from mdfloss.common.errors import ImageReadError
from mdfloss.common.imageio import IMAGE_SUFFIXES, image_files, read_image
from mdfloss.common.runs import seed_of_text
from mdfloss.data.sets import data_root
from mdfloss.restoration.degradations import Degradation

#: Named evaluation and training sets (``mdfloss data list``); read from the data root unless a folder is given.
NAMED_SETS = ("BSDS500_train", "Set5", "Set14", "BSD100", "CBSD68", "McMaster", "LIVE1", "Classic5", "Set12",
              "Kodak24", "Urban100", "DIV2K_train", "DIV2K_valid")


def default_data_root() -> Path:
    """``$MDFLOSS_DATA``, else ``../shared/data`` beside a source checkout if present, else the cache folder."""
    return data_root()


def resolve_set(name_or_dir: str | Path, root: Path | None = None) -> Path:
    """A named set under ``root`` (default :func:`default_data_root`) or a folder path."""
    p = Path(name_or_dir)
    if p.is_dir():
        return p
    if str(name_or_dir) in NAMED_SETS:
        root = root or default_data_root()
        if (root / str(name_or_dir)).is_dir():
            return root / str(name_or_dir)
        raise ImageReadError(f"set: {name_or_dir} is not downloaded (looked in {root}); fetch it with: "
                             f"mdfloss data download {name_or_dir}")
    raise ImageReadError(f"set: '{name_or_dir}' is neither a folder nor a named set ({', '.join(NAMED_SETS)})")


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

    def __init__(self, folder: Path, degradation: Degradation, patch: int, length: int, seed: int = 0) -> None:
        self.images = [read_image(f) for f in list_images(folder)]
        small = [i for i, im in enumerate(self.images) if min(im.shape[-2:]) < patch]
        if small:
            raise ImageReadError(f"patch: {len(small)} training images are smaller than the {patch}px patch")
        if patch % degradation.factor:
            raise ImageReadError(f"patch: {patch} is not a multiple of the SR factor {degradation.factor}")
        self.degradation, self.patch, self.length, self.seed = degradation, patch, length, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(_seed_of(str(i), self.seed))
        img = self.images[int(torch.randint(len(self.images), (), generator=g))]
        h, w = img.shape[-2:]
        y = int(torch.randint(h - self.patch + 1, (), generator=g))
        x = int(torch.randint(w - self.patch + 1, (), generator=g))
        hr = img[..., y : y + self.patch, x : x + self.patch]
        if torch.rand((), generator=g) < 0.5:
            hr = hr.flip(-1)
        hr = torch.rot90(hr, int(torch.randint(4, (), generator=g)), dims=(-2, -1)).contiguous()
        return self.degradation(hr, g)[0], hr[0]


class EvalPairs(Dataset):
    """Whole images of a set with a degradation fixed per image name (same inputs on every run)."""

    def __init__(self, folder: Path, degradation: Degradation, seed: int = 0) -> None:
        self.files = list_images(folder)
        self.degradation, self.seed = degradation, seed

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[str, torch.Tensor, torch.Tensor]:
        f = self.files[i]
        hr = self.degradation.crop_multiple(read_image(f))
        g = torch.Generator().manual_seed(_seed_of(f.name, self.seed))
        return f.stem, self.degradation(hr, g)[0], hr[0]
