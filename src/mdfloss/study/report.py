"""Write a scaled study: ``jod.csv``, ``differences.csv``, ``jod.md``, ``jod.png`` and ``observers.csv``."""

from __future__ import annotations

import io
from pathlib import Path

from mdfloss.common.errors import OutputPathError
from mdfloss.common.extras import require
from mdfloss.common.files import atomic_write_bytes, write_csv, write_png
from mdfloss.study.analysis import POOLED, StudyScaling

JOD_COLUMNS = ["scene", "condition", "jod", "jod_low", "jod_high"]
OUTPUTS = ("jod.csv", "differences.csv", "observers.csv", "jod.md", "jod.png")


def _markdown(result: StudyScaling, bootstrap: int, prior: str) -> str:
    out = io.StringIO()
    out.write(f"# JOD scaling\n\n{result.n_answers} answers; Thurstone Case V maximum likelihood as pwcmp's "
              f"pw_scale (prior: {prior}, 'mean0'); ")
    out.write(f"95 % intervals from {bootstrap} bootstrap resamples of observers.\n\n" if bootstrap else
              "no bootstrap (intervals equal the scores).\n\n")
    out.write("1 JOD: 75 % of observers prefer the higher condition. Scores are relative: only differences "
              "within one scene (or within `all`) mean anything.\n\n")
    scenes = list(dict.fromkeys(r.scene for r in result.rows))
    for scene in [POOLED] + [s for s in scenes if s != POOLED]:
        rows = sorted((r for r in result.rows if r.scene == scene), key=lambda r: -r.jod)
        out.write(f"## {'All scenes pooled' if scene == POOLED else 'Scene ' + scene}\n\n"
                  "| condition | JOD | 95 % interval |\n|---|---:|---|\n")
        for r in rows:
            out.write(f"| {r.condition} | {r.jod:+.2f} | [{r.jod_low:+.2f}, {r.jod_high:+.2f}] |\n")
        out.write("\n")
    if result.differences:
        out.write("## Differences, all scenes pooled\n\n95 % intervals of the Thurstone model (Fisher information), "
                  "the ones `mdfloss study plan` predicts.\n\n| pair | JOD difference | 95 % interval | excludes 0 |\n"
                  "|---|---:|---|---|\n")
        for d in result.differences:
            out.write(f"| {d.a} − {d.b} | {d.jod:+.3f} | [{d.low:+.3f}, {d.high:+.3f}] | "
                      f"{'yes' if d.low > 0 or d.high < 0 else 'no'} |\n")
        out.write("\n")
    if result.screening:
        failed = [o for o in result.screening if o.failed]
        out.write(f"## Screening\n\n{len(result.screening)} observers screened with catch and identical trials, "
                  f"response times and side bias; {len(failed)} failed"
                  + ((" (excluded from the scaling)" if result.excluded else " (kept: --keep-failed)")
                     if failed else "")
                  + ".\n\n")
        for o in failed:
            out.write(f"- {o.observer}: {'; '.join(o.reasons)}\n")
        out.write("\n" if failed else "")
    if result.observers:
        flagged = [o for o in result.observers if o.outlier]
        out.write(f"## Observers\n\n{len(result.observers)} observers; "
                  f"{len(flagged)} flagged as possible outliers (pwcmp's outlier analysis, dist_L > 1)"
                  + (": " + ", ".join(o.observer for o in flagged) if flagged else "") + ".\n")
    return out.getvalue()


OBSERVER_COLUMNS = ["observer", "pairs", "catch_correct", "catch_total", "identical_left", "identical_total",
                    "left", "trials", "median_ms", "failed", "excluded", "reason", "log10_likelihood", "dist_L",
                    "outlier"]


def observer_rows(result: StudyScaling) -> list[dict]:
    """One row per observer: the screening (blank without screening trials) and pwcmp's outlier analysis
    (blank for an excluded observer, whose answers were not scaled)."""
    screens = {o.observer: o for o in result.screening}
    fits = {o.observer: o for o in result.observers}
    rows = []
    for name in dict.fromkeys(list(screens) + list(fits)):
        row: dict[str, object] = dict.fromkeys(OBSERVER_COLUMNS, "")
        row["observer"] = name
        if name in screens:
            s = screens[name]
            row.update(pairs=s.pairs, catch_correct=s.catch_correct, catch_total=s.catch_total,
                       identical_left=s.identical_left, identical_total=s.identical_total, left=s.left,
                       trials=s.trials, median_ms="" if s.median_ms is None else f"{s.median_ms:.0f}",
                       failed=int(s.failed), excluded=int(name in result.excluded), reason="; ".join(s.reasons))
        if name in fits:
            f = fits[name]
            row.update(log10_likelihood=f"{f.log10_likelihood:.6f}", dist_L=f"{f.dist_l:.4f}", outlier=int(f.outlier))
        rows.append(row)
    return rows


def plot_jod(result: StudyScaling, path: Path, *, bootstrap: int = 1) -> None:
    """JOD per condition, pooled over scenes, with 95 % bootstrap error bars when ``bootstrap`` resamples ran."""
    require("matplotlib", "study", "the JOD plot")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted((r for r in result.rows if r.scene == POOLED), key=lambda r: r.jod)
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(rows) + 1.2))
    y = range(len(rows))
    xerr = [[r.jod - r.jod_low for r in rows], [r.jod_high - r.jod for r in rows]] if bootstrap else None
    ax.errorbar([r.jod for r in rows], list(y), xerr=xerr, fmt="o", capsize=4, color="black")
    ax.set_yticks(list(y), [r.condition for r in rows])
    ax.axvline(0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("JOD (all scenes pooled; 95 % bootstrap interval)" if bootstrap else
                  "JOD (all scenes pooled; no intervals: --bootstrap 0)")
    ax.grid(axis="x", alpha=0.3)
    write_png(path, fig)
    plt.close(fig)


def write_scaling(result: StudyScaling, out: Path, *, bootstrap: int, prior: str, force: bool = False) -> None:
    """jod.csv, observers.csv, jod.md and jod.png into ``out``; earlier ones are kept unless ``force``."""
    out = Path(out)
    taken = [n for n in OUTPUTS if (out / n).exists()]
    if taken and not force:
        raise OutputPathError(f"--out: '{out}' already holds {', '.join(taken)}; pass --force to overwrite them")
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "jod.csv", [{"scene": r.scene, "condition": r.condition, "jod": f"{r.jod:.6f}",
                                 "jod_low": f"{r.jod_low:.6f}", "jod_high": f"{r.jod_high:.6f}"}
                                for r in result.rows], JOD_COLUMNS)
    if result.differences:
        write_csv(out / "differences.csv", [{"a": d.a, "b": d.b, "jod": f"{d.jod:.6f}", "low": f"{d.low:.6f}",
                                             "high": f"{d.high:.6f}"} for d in result.differences])
    if result.observers or result.screening:
        write_csv(out / "observers.csv", observer_rows(result), OBSERVER_COLUMNS)
    atomic_write_bytes(out / "jod.md", _markdown(result, bootstrap, prior).encode())
    plot_jod(result, out / "jod.png", bootstrap=bootstrap)
