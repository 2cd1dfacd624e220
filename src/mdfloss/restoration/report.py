"""The benchmark's report: ``results.md|csv|json``, difference plots and crops.

Every comparison is paired over images and seeds (:mod:`mdfloss.restoration.stats`). A loss
is named the winner of a metric only where its 95 % interval against the runner-up
excludes 0; otherwise the report says "no winner".
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

from mdfloss.common.extras import require
from mdfloss.common.files import atomic_write_bytes, safe_name, write_csv, write_png
from mdfloss.restoration.data import EvalPairs
from mdfloss.restoration.evaluate import load_restorer
from mdfloss.restoration.metric_table import METRICS, higher_is_better
from mdfloss.restoration.stats import (
    Interval,
    mean_over,
    rank,
    seed_interval,
    seeded_difference,
    verdict,
)

STANDARD_LOSSES = ("l1", "l2", "ssim", "msssim")


def _reference(losses: list[str]) -> str:
    return "l1" if "l1" in losses else losses[0]


def _cost(runs, loss: str) -> float:
    """Seconds per patch of ``loss`` relative to the reference loss (mean over seeds)."""
    pps = {k: sum(t["patches_per_s"] for t in v) / len(v) for k, v in runs.timing.items()}
    return pps[_reference(list(pps))] / pps[loss]


def _header(runs) -> list[str]:
    kind = ("Smoke run (a few steps to check that everything runs; its numbers say nothing about the losses)"
            if runs.bench.smoke else
            "Screen (a quick sweep to choose settings; not a result)" if runs.bench.screen else "Benchmark")
    t = runs.tuned
    how = ("Trained from scratch" if runs.from_scratch else "Pretrained with L1, then fine-tuned")
    limit = f"the first {runs.bench.eval_limit} images" if runs.bench.eval_limit else "all images"
    return [f"# {kind}: {runs.task}, preset {runs.preset}", "",
            f"{how} for {t.iterations} iterations per loss (batch {t.batch} of {t.patch}-px patches, lr {t.lr:g}); "
            f"model {runs.base_model}; seeds {runs.seeds}; {limit} of each set.",
            "Versions: " + ", ".join(f"{k} {v}" for k, v in _versions().items()) + ".",
            f"JOD: ColorVideoVDP on display '{runs.jod_display}'. Higher is better for "
            + ", ".join(m for m, e in METRICS.items() if e.higher_is_better) + "; lower for "
            + ", ".join(m for m, e in METRICS.items() if not e.higher_is_better) + ".",
            "Values: mean over seeds (± the 95 % interval of the seed-to-seed spread when there are several "
            "seeds) and rank. Differences are paired over images and seeds, with 95 % intervals that include "
            "the seed-to-seed variation (see mdfloss.restoration.stats); **bold** where the interval excludes 0. "
            "cost: training time per patch relative to "
            f"{_reference(list(runs.models))} (measured during the runs, so other load on the machine shows).", ""] + (
        ["**Incomplete (--report-only):** not in this report: " + "; ".join(runs.missing) + ".", ""]
        if runs.missing else [])


def _diff_table(metrics, per_loss, against: dict[str, str], title: str) -> list[str]:
    lines = [title, "", "| loss | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
    for loss, by_metric in per_loss.items():
        cells = []
        for m in metrics:
            other = against[m]
            if other == loss:
                cells.append("(itself)")
                continue
            d = seeded_difference(by_metric[m], per_loss[other][m])
            cells.append(f"**{d}**" if d.significant else str(d))
        lines.append(f"| {loss} | " + " | ".join(cells) + " |")
    return lines + [""]


def _verdicts(per_loss: dict, metrics: list[str], lines: list[str], *, smoke: bool = False) -> dict:
    """Who is first on each metric (a winner only where the gap's interval excludes 0, and never in a smoke
    run); appends the table."""
    lines += ["Who is first: the best loss is named the winner only where its interval against the "
              "runner-up excludes 0.", "", "| metric | first | runner-up | gap (95 % CI) | verdict |",
              "|---|---|---|---|---|"]
    verdicts = {}
    for m in metrics:
        v = verdict({k: val[m] for k, val in per_loss.items()}, higher_is_better(m))
        verdicts[m] = {"first": v.best, "runner_up": v.runner_up, "gap": v.gap.mean if v.gap else None,
                       "half": v.gap.half if v.gap else None, "winner": v.winner}
        word = ("no winner (a smoke run names none)" if smoke else
                f"**{v.winner} wins**" if v.winner else "no winner (tie)")
        lines.append(f"| {m} | {v.best} | {v.runner_up} | {v.gap} | {word} |")
    lines.append("")
    return verdicts


INPUT_ROW = "(degraded input, no restoration)"


def _means(rows: dict[str, dict[str, float]]) -> dict[str, float]:
    """``{metric: mean over images}`` of ``{image: {metric: value}}``."""
    return {m: sum(r[m] for r in rows.values()) / len(rows) for m in next(iter(rows.values()))}


def _input_rows(runs, set_name: str, per_loss: dict, metrics: list[str]) -> list[str]:
    """The degraded input's row, and each loss's paired difference to it (a restorer that makes the image worse
    shows as a negative difference on a higher-is-better metric)."""
    rows_in = runs.degraded_input.get(set_name)
    if not rows_in:
        return []
    by_metric = {m: {img: r[m] for img, r in rows_in.items()} for m in metrics if m in next(iter(rows_in.values()))}
    means = _means(rows_in)
    lines = [f"| {INPUT_ROW} | " + " | ".join(f"{means[m]:.4f}" if m in by_metric else "" for m in metrics) + " | — |",
             "", "Paired difference to the degraded input (loss − input; **bold** where the 95 % interval "
                 "excludes 0):",
             "", "| loss | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
    for loss, values in per_loss.items():
        cells = []
        for m in metrics:
            if m not in by_metric:
                cells.append("")
                continue
            d = seeded_difference(values[m], [by_metric[m]] * len(values[m]))
            cells.append(f"**{d}**" if d.significant else str(d))
        lines.append(f"| {loss} | " + " | ".join(cells) + " |")
    return lines


def _set_section(runs, set_name: str) -> tuple[list[str], list[dict], dict]:
    per_loss = runs.per_image[set_name]
    losses = list(per_loss)
    metrics = list(next(iter(per_loss.values())))
    n = len(next(iter(per_loss.values()))[metrics[0]][0])
    ranks = {m: rank({k: v[m] for k, v in per_loss.items()}, higher_is_better(m)) for m in metrics}
    lines = [f"## {set_name} ({n} images)", "", "| loss | " + " | ".join(metrics) + " | cost |",
             "|---|" + "---|" * (len(metrics) + 1)]
    rows = []
    for loss in losses:
        cells = []
        for m in metrics:
            iv = seed_interval([sum(r.values()) / len(r) for r in per_loss[loss][m]])
            value = f"{iv.mean:.4f}" + ("" if math.isnan(iv.half) else f" ± {iv.half:.4f}")
            cells.append(f"{value} ({ranks[m].index(loss) + 1})")
        lines.append(f"| {loss} | " + " | ".join(cells) + f" | {_cost(runs, loss):.2f}× |")
        rows.append({"set": set_name, "loss": loss, "seeds": len(runs.seeds),
                     **{m: mean_over(per_loss[loss][m]) for m in metrics},
                     "seconds": sum(t["seconds"] for t in runs.timing[loss]) / len(runs.seeds),
                     "patches_per_s": sum(t["patches_per_s"] for t in runs.timing[loss]) / len(runs.seeds),
                     "cost_vs_reference": _cost(runs, loss)})
    lines += _input_rows(runs, set_name, per_loss, metrics)
    lines.append("")
    verdicts: dict = {}
    if len(losses) > 1:
        verdicts = _verdicts(per_loss, metrics, lines, smoke=runs.bench.smoke)
        ref = _reference(losses)
        lines += _diff_table(metrics, per_loss, {m: ref for m in metrics},
                             f"Paired difference to {ref} (loss − {ref}):")
        standard = [k for k in losses if k in STANDARD_LOSSES]
        if standard:
            best_std = {m: rank({k: per_loss[k][m] for k in standard}, higher_is_better(m))[0]
                        for m in metrics}
            lines += _diff_table(metrics, per_loss, best_std, "Paired difference to the best standard loss on each "
                                 "metric (" + ", ".join(f"{m}: {best_std[m]}" for m in metrics) + "):")
    return lines, rows, verdicts


def plot_differences(runs, set_name: str, path: Path) -> None:
    """One panel per metric: each loss's paired difference to the reference loss with its 95 % interval."""
    matplotlib = require("matplotlib", "metrics", "the benchmark's plots")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per_loss = runs.per_image[set_name]
    losses = list(per_loss)
    ref = _reference(losses)
    others = [k for k in losses if k != ref]
    metrics = list(per_loss[ref])
    cols = 4
    rows = -(-len(metrics) // cols)
    panel_h = max(1.6, 0.32 * len(others) + 1.0)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols + 2.5, panel_h * rows), squeeze=False, sharey=True)
    for i, (ax, m) in enumerate(zip(axes.flat, metrics)):
        diffs: list[Interval] = [seeded_difference(per_loss[k][m], per_loss[ref][m]) for k in others]
        y = list(range(len(others)))[::-1]
        ax.errorbar([d.mean for d in diffs], y, xerr=[0 if math.isnan(d.half) else d.half for d in diffs],
                    fmt="o", color="#3060a0", capsize=3)
        ax.axvline(0, color="black", lw=1)
        ax.set_yticks(y, [k[:44] for k in others], fontsize=7)
        ax.set_ylim(-0.6, len(others) - 0.4)
        if i % cols:
            ax.tick_params(axis="y", labelleft=False)
        better = "higher" if higher_is_better(m) else "lower"
        ax.set_title(f"{m}: loss − {ref} ({better} is better)", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.suptitle(f"{runs.task}, {set_name}: paired differences with 95 % intervals (seeds {runs.seeds})",
                 fontsize=9)
    write_png(path, fig)
    plt.close(fig)


@torch.no_grad()
def crops(models: dict[str, Path], set_path: Path, deg, path: Path, size: int = 64, zoom: int = 3,
          columns: int = 4) -> None:
    """The most textured ``size``-px window of the set's first image: input, each loss, ground truth,
    enlarged ``zoom`` times with nearest-neighbour scaling so that artefacts are visible."""
    _, lq, hq = EvalPairs(set_path, deg)[0]
    h, w = hq.shape[-2:]
    size = min(size, h, w) // deg.factor * deg.factor
    step = max(deg.factor, size // 2 // deg.factor * deg.factor)
    windows = [(y, x) for y in range(0, h - size + 1, step) for x in range(0, w - size + 1, step)]
    y, x = max(windows, key=lambda yx: float(hq[:, yx[0]:yx[0] + size, yx[1]:yx[1] + size].std()))
    sl = (slice(None), slice(y, y + size), slice(x, x + size))
    up = torch.nn.functional.interpolate(lq[None], scale_factor=deg.factor, mode="nearest")[0] if deg.factor > 1 else lq
    tiles, labels = [up[sl]], ["input"]
    for loss, p in models.items():
        tiles.append(load_restorer(p)[0](lq[None]).clamp(0, 1)[0][sl])
        labels.append(loss)
    tiles.append(hq[sl])
    labels.append("ground truth")
    side, gap, label_h = size * zoom, 6, 16
    n_rows = -(-len(tiles) // columns)
    canvas = Image.new("RGB", (columns * (side + gap), n_rows * (side + label_h + gap)), "white")
    d = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=11)
    for i, (tile, label) in enumerate(zip(tiles, labels)):
        img = Image.fromarray((tile.permute(1, 2, 0) * 255).round().byte().numpy())
        img = img.resize((side, side), Image.Resampling.NEAREST)
        cx, cy = (i % columns) * (side + gap), (i // columns) * (side + label_h + gap)
        canvas.paste(img, (cx, cy + label_h))
        d.text((cx + 2, cy + 2), label[: side // 6], fill="black", font=font)
    write_png(path, canvas)


def _versions() -> dict[str, str]:
    """The versions the numbers depend on (the metrics' packages when installed)."""
    from importlib import metadata

    out = {"torch": str(torch.__version__)}
    for dist in ("mdfloss", "torchvision", "cvvdp", "flip-evaluator", "piq", "pytorch-msssim"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def write_report(runs, out_dir: Path) -> dict:
    """Write the report files into ``out_dir`` and return its numbers."""
    lines = _header(runs)
    rows, verdicts = [], {}
    for set_name in runs.per_image:
        section, set_rows, set_verdicts = _set_section(runs, set_name)
        lines += section
        rows += set_rows
        verdicts[set_name] = set_verdicts
    atomic_write_bytes(out_dir / "results.md", "\n".join(lines).encode())
    write_csv(out_dir / "results.csv", rows)
    report = {"task": runs.task, "preset": runs.preset, "screen": runs.bench.screen, "seeds": runs.seeds,
              "from_scratch": runs.from_scratch, "jod_display": runs.jod_display, "finetune": runs.tuned.to_dict(),
              "results": {r["set"]: {} for r in rows}, "verdicts": verdicts, "timing": runs.timing,
              "missing": runs.missing, "set_paths": runs.set_records,
              "degraded_input": {name: _means(rows_in) for name, rows_in in runs.degraded_input.items() if rows_in},
              "versions": _versions()}
    for r in rows:
        report["results"][r["set"]][r["loss"]] = {k: v for k, v in r.items() if k not in ("set", "loss")}
    atomic_write_bytes(out_dir / "results.json", json.dumps(report, indent=2).encode())
    for set_name, set_path in runs.set_paths.items():
        if len(runs.models) > 1:
            plot_differences(runs, set_name, out_dir / f"diffs_{safe_name(set_name)}.png")
        crops({k: v[0] for k, v in runs.models.items()}, set_path, runs.degradation,
              out_dir / f"crops_{safe_name(set_name)}.png")
    return report
