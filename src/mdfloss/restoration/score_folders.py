"""Score restorations you already have: folders of outputs against a folder of references, no model needed.

Images are matched by file name (stem); every metric is computed as :func:`~mdfloss.restoration.evaluate.evaluate`
computes it for a trained network (same 8-bit quantisation and border crop), so the two routes give equal
numbers on equal images. With several restored folders, each is compared with the first, paired over images.

Example:
    >>> from mdfloss.restoration.score_folders import score_folders
    >>> scores = score_folders("refs/", {"l1": "out_l1/", "mdf": "out_mdf/"}, perceptual=False)  # doctest: +SKIP
    >>> print(chr(10).join(scores.report()))  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from mdfloss.common.errors import ImageReadError, InvalidInputError
from mdfloss.common.files import atomic_write_bytes
from mdfloss.common.imageio import read_image
from mdfloss.restoration.data import list_images
from mdfloss.restoration.evaluate import score_pair, write_rows
from mdfloss.restoration.stats import paired_difference


def _by_stem(files: list[Path], argument: str) -> dict[str, Path]:
    """Images by file name without suffix; two files with one stem (a.png, a.bmp) are refused, not one picked."""
    out: dict[str, Path] = {}
    for f in files:
        if f.stem in out:
            raise ImageReadError(f"{argument}: '{out[f.stem].name}' and '{f.name}' share the name '{f.stem}', so "
                                 "which one to score is unclear; keep one of them")
        out[f.stem] = f
    return out


def _matched_files(reference: Path, restored: Path, name: str) -> list[tuple[Path, Path]]:
    refs = _by_stem(list_images(reference), "--reference")
    outs = _by_stem(list_images(restored), f"--restored {name}")
    missing = sorted(set(refs) - set(outs))
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise ImageReadError(f"--restored {name}: '{restored}' has no image for {', '.join(missing[:3])}{more} "
                             f"of the {len(refs)} references; restore every reference image (matched by file name)")
    return [(refs[k], outs[k]) for k in sorted(refs)]


def score_folders(reference: str | Path, restored: Mapping[str, str | Path], *, border: int = 0,
                  perceptual: bool = True, jod_display: str | None = None, out_csv: str | Path | None = None,
                  progress=None) -> FolderScores:
    """Every metric of each restored folder, per image and its means over the reference images.

    ``out_csv``: one CSV per folder as ``evaluate`` writes it (a row per image, then MEAN): the path itself
    for one folder, ``STEM_NAME.csv`` beside it for several, plus ``STEM.md`` with the means and the paired
    differences to the first folder.

    Raises:
        ImageReadError: a folder is missing or empty, lacks a reference image, or an image's size differs.
        InvalidInputError: no restored folder, or a negative border.
    """
    if not restored:
        raise InvalidInputError("--restored: give at least one folder of restored images")
    if border < 0:
        raise InvalidInputError(f"--border: expected 0 or more pixels, got {border}")
    jod_model = None
    if perceptual:
        from mdfloss.restoration.perceptual import DEFAULT_JOD_DISPLAY, cvvdp_model

        jod_display = jod_display or DEFAULT_JOD_DISPLAY
        jod_model = cvvdp_model(jod_display)
    reference = Path(reference)
    plans = {name: _matched_files(reference, Path(folder), name) for name, folder in restored.items()}
    per_image: dict[str, list[dict]] = {}
    for name, files in plans.items():
        rows = []
        for ref_file, out_file in files:
            ref, out = read_image(ref_file, argument="--reference"), read_image(out_file, argument="--restored")
            if ref.shape != out.shape:
                raise ImageReadError(f"--restored {name}: {out_file.name} is {tuple(out.shape[-2:])}, its reference "
                                     f"{ref_file.name} is {tuple(ref.shape[-2:])}; restore at the reference's size")
            rows.append({"image": ref_file.stem, **score_pair(out, ref, border, jod_model, jod_display)})
            if progress:
                progress(name, len(rows), len(files))
        per_image[name] = rows
    means = {name: write_rows(rows, None if out_csv is None else folder_csv_path(out_csv, name, len(restored)))
             for name, rows in per_image.items()}
    scores = FolderScores(per_image, means)
    if out_csv is not None and len(restored) > 1:
        atomic_write_bytes(Path(out_csv).with_suffix(".md"), "\n".join(scores.report()).encode())
    return scores


def folder_csv_path(out_csv: str | Path, name: str, count: int) -> Path:
    """Where the CSV of folder ``name`` goes: ``out_csv`` itself for one folder, ``STEM_NAME.csv`` beside it
    for several."""
    out_csv = Path(out_csv)
    return out_csv if count == 1 else out_csv.with_name(f"{out_csv.stem}_{name}{out_csv.suffix or '.csv'}")


@dataclass
class FolderScores:
    """``per_image``: ``{folder: [row per image]}``; ``means``: ``{folder: {metric: mean}}``."""

    per_image: dict[str, list[dict]]
    means: dict[str, dict[str, float]]

    def report(self) -> list[str]:
        """Markdown lines: the means per folder, and each folder's paired difference to the first."""
        return report_lines(self.per_image, self.means)


def report_lines(per_image: Mapping[str, list[dict]], means: Mapping[str, Mapping[str, float]]) -> list[str]:
    """Means per folder, then each folder's paired difference to the first (95 % interval over images)."""
    names = list(per_image)
    metrics = [k for k in next(iter(means.values()))]
    n = len(per_image[names[0]])
    lines = [f"Scores of {len(names)} folders of restorations on {n} images (means).", "",
             "| restored | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
    lines += [f"| {name} | " + " | ".join(f"{means[name][m]:.4f}" for m in metrics) + " |" for name in names]
    if len(names) > 1:
        first = names[0]
        lines += ["", f"Paired difference to {first} (folder − {first}; **bold** where the 95 % interval excludes 0):",
                  "", "| restored | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
        by = {name: {m: {r["image"]: r[m] for r in rows} for m in metrics} for name, rows in per_image.items()}
        for name in names[1:]:
            cells = []
            for m in metrics:
                d = paired_difference(by[name][m], by[first][m])
                cells.append(f"**{d}**" if d.significant else str(d))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines
