"""Figures of committed benchmark folders, drawn from their per-image CSVs alone (no networks needed).

    python tools/results_figures.py replot docs/results/one-seed/sisr ...
        diffs_<set>.png for each folder (the report's own plot: every loss's paired difference to L1 with its
        95 % interval and the zero line); replaces the bar charts of earlier reports (bars_*.png), which started
        at an arbitrary value and carried no uncertainty.

    python tools/results_figures.py summary --out docs/results/summary.png \\
        "SISR ×4, BSD100=docs/results/sisr:BSD100:l2+0.0025*mdf:sisr@pyramid@finest=1@bf16" ...
        one row per entry (LABEL=FOLDER:SET:LOSS), one panel per metric: the loss minus the best standard loss on
        that metric (L1, L2, SSIM, MS-SSIM, whichever of them the folder holds), with its 95 % interval.

    python tools/results_figures.py sweep --out docs/results/screens/sisr/sweep.png --folder docs/results/screens/sisr \
        --set BSD100 --reference l2 --xlabel "λ / equal-pull λ" "0.11=l2+0.0005*mdf:sisr@pyramid@finest=2@bf16" ...
        one panel per metric: each loss (at its x value) minus the reference loss, with its 95 % interval.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from types import SimpleNamespace

from mdfloss.common.extras import require
from mdfloss.common.files import write_png
from mdfloss.restoration.benchmark import read_per_image, run_name
from mdfloss.restoration.metric_table import higher_is_better
from mdfloss.restoration.report import STANDARD_LOSSES, plot_differences
from mdfloss.restoration.stats import mean_over, seeded_difference

SUMMARY_METRICS = {"jod": "JOD", "flip": "FLIP", "psnr_rgb": "PSNR RGB (dB)"}


def _pyplot():
    matplotlib = require("matplotlib", "metrics", "the results figures")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _half_widths(intervals) -> list[float]:
    """Error-bar half widths; an interval that could not be estimated (one image) draws none."""
    return [0 if math.isnan(i.half) else i.half for i in intervals]


def load_folder(folder: Path) -> SimpleNamespace:
    """``per_image[set][loss][metric] = [{image: value} per seed]`` from a report folder."""
    report = json.loads((folder / "results.json").read_text())
    sets = list(report["results"])
    losses = list(report["results"][sets[0]])
    per_image: dict = {}
    for s in sets:
        per_image[s] = {}
        for loss in losses:
            stem = f"per_image_{s}_{run_name(loss, 0, 0)}"  # the first seed's name; the others add __seedN
            files = [folder / f"{stem}.csv"] + sorted(folder.glob(f"{stem}__seed*.csv"),
                                                       key=lambda p: int(re.sub(r".*__seed", "", p.stem)))
            seeds = [read_per_image(f) for f in files if f.exists()]
            if not seeds:
                sys.exit(f"{folder}: no per-image CSV for set {s}, loss {loss} ({stem}.csv)")
            metrics = list(next(iter(seeds[0].values())))
            per_image[s][loss] = {m: [{img: v[m] for img, v in run.items()} for run in seeds] for m in metrics}
    n_seeds = max(len(r) for s in per_image.values() for by_m in s.values() for r in by_m.values())
    return SimpleNamespace(task=report["task"], seeds=list(range(n_seeds)), per_image=per_image)


def replot(folders: list[Path]) -> None:
    for folder in folders:
        runs = load_folder(folder)
        for s in runs.per_image:
            plot_differences(runs, s, folder / f"diffs_{s}.png")
        for old in folder.glob("bars_*.png"):
            old.unlink()
        print(f"{folder}: diffs_*.png for {', '.join(runs.per_image)}")


def summary(entries: list[str], out: Path) -> None:
    plt = _pyplot()
    rows = []
    for entry in entries:
        label, _, rest = entry.partition("=")
        folder, set_name, loss = rest.split(":", 2)
        per_loss = load_folder(Path(folder)).per_image[set_name]
        if loss not in per_loss:
            sys.exit(f"{entry}: {folder} has no loss {loss!r} (it has {', '.join(per_loss)})")
        cells = {}
        for m in SUMMARY_METRICS:
            standard = {k: per_loss[k][m] for k in per_loss if k in STANDARD_LOSSES}
            best = (max if higher_is_better(m) else min)(standard, key=lambda k: mean_over(standard[k]))
            cells[m] = (seeded_difference(per_loss[loss][m], standard[best]), best)
        rows.append((label, cells))
    fig, axes = plt.subplots(1, len(SUMMARY_METRICS), figsize=(4.2 * len(SUMMARY_METRICS) + 1.5,
                                                              0.45 * len(rows) + 1.4), sharey=True)
    y = list(range(len(rows)))[::-1]
    for ax, (m, title) in zip(axes, SUMMARY_METRICS.items()):
        d = [cells[m][0] for _, cells in rows]
        ax.errorbar([i.mean for i in d], y, xerr=_half_widths(d), fmt="o",
                    color="#3060a0", capsize=3)
        for yy, (_, cells) in zip(y, rows):
            ax.annotate(f"vs {cells[m][1]}", (cells[m][0].mean, yy), textcoords="offset points", xytext=(0, 6),
                        fontsize=6, ha="center", color="#555555")
        ax.axvline(0, color="black", lw=1)
        better = "higher" if higher_is_better(m) else "lower"
        ax.set_title(f"{title}: MDF setting − best standard loss\n({better} is better)", fontsize=8)
        ax.set_yticks(y, [label for label, _ in rows], fontsize=7)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    write_png(out, fig)
    plt.close(fig)
    for label, cells in rows:
        print(label + ": " + "; ".join(f"{m} {c[0]} vs {c[1]}" for m, c in cells.items()))


def sweep(folder: Path, set_name: str, reference: str, entries: list[str], xlabel: str, out: Path) -> None:
    plt = _pyplot()
    per_loss = load_folder(folder).per_image[set_name]
    points = []
    for entry in entries:
        x, _, loss = entry.partition("=")
        for name in (loss, reference):
            if name not in per_loss:
                sys.exit(f"{entry}: {folder} has no loss {name!r} (it has {', '.join(per_loss)})")
        points.append((float(x), loss, {m: seeded_difference(per_loss[loss][m], per_loss[reference][m])
                                        for m in SUMMARY_METRICS}))
    points.sort()
    fig, axes = plt.subplots(1, len(SUMMARY_METRICS), figsize=(4.0 * len(SUMMARY_METRICS), 3.0))
    for ax, (m, title) in zip(axes, SUMMARY_METRICS.items()):
        d = [p[2][m] for p in points]
        ax.errorbar([p[0] for p in points], [i.mean for i in d],
                    yerr=_half_widths(d), fmt="o-", color="#3060a0", capsize=3)
        ax.axhline(0, color="black", lw=1)
        ax.set_xscale("log")
        better = "higher" if higher_is_better(m) else "lower"
        ax.set_title(f"{title} − {reference} ({better} is better)", fontsize=8)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{folder.name}, {set_name}: paired differences with 95 % intervals", fontsize=9)
    fig.tight_layout()
    write_png(out, fig)
    plt.close(fig)
    for x, loss, cells in points:
        print(f"{x:g} {loss}: " + "; ".join(f"{m} {c}" for m, c in cells.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("replot")
    r.add_argument("folders", nargs="+", type=Path)
    s = sub.add_parser("summary")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("entries", nargs="+")
    w = sub.add_parser("sweep")
    w.add_argument("--out", type=Path, required=True)
    w.add_argument("--folder", type=Path, required=True)
    w.add_argument("--set", dest="set_name", required=True)
    w.add_argument("--reference", default="l2")
    w.add_argument("--xlabel", default="λ")
    w.add_argument("entries", nargs="+", help="X=LOSS")
    args = ap.parse_args()
    if args.command == "replot":
        replot(args.folders)
    elif args.command == "summary":
        summary(args.entries, args.out)
    else:
        sweep(args.folder, args.set_name, args.reference, args.entries, args.xlabel, args.out)


if __name__ == "__main__":
    main()
