"""The paper's comparison as a rerunnable benchmark.

Protocol: pretrain one network with L1; fine-tune a copy with each loss for the same
number of iterations (or, with ``from_scratch``, train each loss from scratch); evaluate
every network on the task's evaluation sets; write a report:

* ``results.md``: a table per set with every metric and each loss's rank;
* ``results.csv`` / ``results.json``: the same numbers, plus wall time and patches/s per loss;
* ``crops_<set>.png``: input, each loss's output and the ground truth, side by side;
* ``bars_<metric>.png``: a bar chart per metric.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

from ..fileio import atomic_write_bytes
from .data import EvalPairs, resolve_set
from .degradations import Degradation
from .evaluate import evaluate, load_restorer
from .perceptual import DEFAULT_JOD_DISPLAY
from .perceptual import HIGHER_IS_BETTER as PERCEPTUAL_HIGHER_IS_BETTER
from .presets import restorer_preset
from .train import train_restorer

EVAL_SETS = {"sisr": ["Set5", "Set14", "BSD100"], "denoise": ["CBSD68", "McMaster"], "jpeg": ["LIVE1", "Classic5"]}


@dataclass(frozen=True)
class BenchPreset:
    """The L1 pretraining preset, then what every loss gets for fine-tuning."""

    base: str  # restorer preset of the L1 pretraining
    finetune_iterations: int
    finetune_batch: int
    finetune_patch: int
    finetune_lr: float
    eval_limit: int | None  # images per evaluation set; None = all
    perceptual: bool = True


# cpu: on 2 cores a step of 8 patches of 64 px costs 0.3 s with an MDF loss in pyramid mode,
# 0.65 s in reference mode and about 0.1 s with a pixel loss (benchmarks/bench_restoration_losses.py),
# so 600 fine-tuning steps for 7 losses, the L1 pretraining and the evaluation take 22-35 minutes.
BENCH_PRESETS = {
    "smoke": BenchPreset("smoke", 3, 4, 48, 1e-4, 2),
    "cpu": BenchPreset("cpu", 600, 8, 64, 1e-4, None),
    "gpu": BenchPreset("gpu", 20_000, 16, 192, 1e-4, None),
}
HIGHER_IS_BETTER = {"psnr_rgb": True, "ssim_rgb": True, "psnr_y": True, "ssim_y": True, **PERCEPTUAL_HIGHER_IS_BETTER}


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _ranks(values: dict[str, float], higher: bool) -> dict[str, int]:
    order = sorted(values, key=lambda k: values[k], reverse=higher)
    return {k: order.index(k) + 1 for k in values}


def _bar_chart(metric: str, per_set: dict[str, dict[str, float]], path: Path) -> None:
    losses = list(next(iter(per_set.values())))
    w, row_h, pad = 640, 18, 6
    height = pad + sum((len(losses) + 1) * row_h + pad for _ in per_set)
    img = Image.new("RGB", (w, height), "white")
    d = ImageDraw.Draw(img)
    d.font = ImageFont.load_default(size=12)
    y = pad
    for set_name, vals in per_set.items():
        d.text((4, y), f"{set_name}: {metric}", fill="black")
        y += row_h
        lo, hi = min(vals.values()), max(vals.values())
        span = (hi - lo) or 1.0
        for loss in losses:
            frac = 0.15 + 0.85 * (vals[loss] - lo) / span  # bars start at 15 % so the worst stays visible
            d.text((4, y + 2), loss[:28], fill="black")
            d.rectangle([200, y + 2, 200 + int(frac * 330), y + row_h - 3], fill=(70, 110, 180))
            d.text((540, y + 2), f"{vals[loss]:.4f}", fill="black")
            y += row_h
        y += pad
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())


@torch.no_grad()
def _crops(models: dict[str, Path], set_path: Path, deg: Degradation, path: Path, size: int = 128) -> None:
    """Centre crops of the first image: input (nearest-upscaled for SR), each loss's output, ground truth."""
    _, lq, hq = EvalPairs(set_path, deg)[0]
    h, w = hq.shape[-2:]
    size = min(size, h, w)
    y, x = (h - size) // 2 // deg.factor * deg.factor, (w - size) // 2 // deg.factor * deg.factor
    sl = (slice(None), slice(y, y + size), slice(x, x + size))
    up = torch.nn.functional.interpolate(lq[None], scale_factor=deg.factor, mode="nearest")[0] if deg.factor > 1 else lq
    tiles, labels = [up[sl]], ["input"]
    for loss, p in models.items():
        model, _ = load_restorer(p)
        tiles.append(model(lq[None]).clamp(0, 1)[0][sl])
        labels.append(loss)
    tiles.append(hq[sl])
    labels.append("ground truth")
    gap, label_h = 4, 18
    strip = torch.ones(3, size, gap)
    row = torch.cat([t for tile in tiles for t in (tile, strip)][:-1], dim=-1)
    img = Image.fromarray((row.permute(1, 2, 0) * 255).round().byte().numpy())
    canvas = Image.new("RGB", (img.width, img.height + label_h), "white")
    canvas.paste(img, (0, label_h))
    d = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=11)
    for i, label in enumerate(labels):
        d.text((i * (size + gap) + 2, 3), label[: size // 6], fill="black", font=font)
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())


def expand_loss(spec: str, task: str) -> str:
    """``mdf`` is the task's own shipped MDF loss (``mdf:TASK``); ``mdf@pyramid`` the same in pyramid mode."""
    spec = spec.strip()
    if spec == "mdf" or spec.startswith("mdf@"):
        return f"mdf:{task}{spec[3:]}"
    return spec


# Two-sided 95 % quantiles of Student's t by degrees of freedom (beyond 30: the normal's 1.96).
_T975 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23, 12: 2.18,
         15: 2.13, 20: 2.09, 25: 2.06, 30: 2.04}


def paired_difference(a: list[float], b: list[float]) -> tuple[float, float]:
    """Mean of ``a - b`` over paired images and the half-width of its 95 % confidence interval."""
    d = [x - y for x, y in zip(a, b)]
    n = len(d)
    mean = sum(d) / n
    if n < 2:
        return mean, float("nan")
    sd = (sum((x - mean) ** 2 for x in d) / (n - 1)) ** 0.5
    t = _T975[max(k for k in _T975 if k <= n - 1)] if n - 1 <= 30 else 1.96
    return mean, t * sd / n ** 0.5


def _per_image(path: Path) -> dict[str, list[float]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["image"] != "MEAN"]
    return {k: [float(r[k]) for r in rows] for k in rows[0] if k != "image"}


def _evaluate_cached(model: Path, set_path: Path, out_csv: Path, settings: dict, previous: dict | None,
                     **kw) -> dict[str, float]:
    """Evaluate, or read the means back from a CSV written after the model with the same settings."""
    if (previous == settings and out_csv.is_file() and out_csv.stat().st_mtime_ns >= model.stat().st_mtime_ns):
        return {k: sum(v) / len(v) for k, v in _per_image(out_csv).items()}
    return evaluate(model, set_path, out_csv=out_csv, **kw)


def _train_or_reuse(task: str, loss: str, out_dir: Path, preset, init: Path | None, **kw) -> Path:
    """A finished run with the same task, loss and preset is reused; an unfinished one resumes."""
    final = out_dir / "model.pt"
    if final.exists():
        record = load_restorer(final)[1]
        if record["task"] == task and record["loss"] == loss and record["preset"] == preset.to_dict():
            return final
        shutil.rmtree(out_dir)  # finished with other settings: its checkpoints and log do not apply
    return train_restorer(task, loss, out_dir, preset, init=init, resume=True, **kw)


def run_benchmark(task: str, losses: list[str], preset: str, out_dir: str | Path, *, from_scratch: bool = False,
                  seed: int = 0, data_root: Path | None = None, progress: bool | None = None,
                  jod_display: str = DEFAULT_JOD_DISPLAY) -> dict:
    """Pretrain, fine-tune with each loss, evaluate and write the report; returns its numbers.

    Rerunning into the same ``out_dir`` reuses finished runs and resumes unfinished ones
    from their checkpoints, so a crash loses at most ``checkpoint_every`` iterations.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    losses = [expand_loss(s, task) for s in losses]
    bench = BENCH_PRESETS[preset]
    base = restorer_preset(task, bench.base)
    kw = dict(seed=seed, data_root=data_root, progress=progress)
    init = None
    if not from_scratch:
        init = _train_or_reuse(task, "l1", out_dir / "pretrain_l1", base, None, **kw)
        tuned = replace(base, iterations=bench.finetune_iterations, batch=bench.finetune_batch,
                        patch=bench.finetune_patch, lr=bench.finetune_lr,
                        val_every=max(1, bench.finetune_iterations // 4))
    else:
        tuned = base
    models, timing = {}, {}
    for loss in losses:
        models[loss] = _train_or_reuse(task, loss, out_dir / f"loss_{_safe(loss)}", tuned, init, **kw)
        record = load_restorer(models[loss])[1]
        timing[loss] = {"seconds": record["seconds"], "patches_per_s": record["patches_per_s"]}
    deg = Degradation(task, **base.degradation)
    settings = {"jod_display": jod_display, "limit": bench.eval_limit, "perceptual": bench.perceptual, "seed": seed}
    marker = out_dir / "eval_settings.json"
    previous = json.loads(marker.read_text()) if marker.is_file() else None
    if marker.is_file():
        marker.unlink()  # until every CSV below is written with the current settings
    results: dict[str, dict[str, dict[str, float]]] = {}
    csvs = lambda set_name, loss: out_dir / f"per_image_{set_name}_{_safe(loss)}.csv"  # noqa: E731
    for set_name in EVAL_SETS[task]:
        set_path = resolve_set(set_name, data_root)
        results[set_name] = {
            loss: _evaluate_cached(p, set_path, csvs(set_name, loss), settings, previous, limit=bench.eval_limit,
                                   seed=seed, perceptual=bench.perceptual, jod_display=jod_display)
            for loss, p in models.items()
        }
        _crops(models, set_path, deg, out_dir / f"crops_{set_name}.png")
    atomic_write_bytes(marker, json.dumps(settings).encode())
    metrics = list(next(iter(next(iter(results.values())).values())))
    lines = [f"# Benchmark: {task}, preset {preset}", "",
             f"{'From scratch' if from_scratch else 'Pretrained with L1, then fine-tuned'} for "
             f"{tuned.iterations} iterations per loss (batch {tuned.batch} of {tuned.patch}-px patches, "
             f"lr {tuned.lr:g}); model {base.model}.",
             f"JOD: ColorVideoVDP on display '{jod_display}'. Higher is better for "
             + ", ".join(m for m, h in HIGHER_IS_BETTER.items() if h) + "; lower for "
             + ", ".join(m for m, h in HIGHER_IS_BETTER.items() if not h) + ". Rank 1 is best.",
             "s: training wall time of the loss; patches/s: its training throughput.", ""]
    rows = []
    for set_name, per_loss in results.items():
        lines += [f"## {set_name}", "", "| loss | " + " | ".join(f"{m} (rank)" for m in metrics) + " | s | patches/s |",
                  "|---|" + "---|" * (len(metrics) + 2)]
        ranks = {m: _ranks({l: v[m] for l, v in per_loss.items()}, HIGHER_IS_BETTER.get(m, True)) for m in metrics}
        for loss, vals in per_loss.items():
            lines.append(f"| {loss} | " + " | ".join(f"{vals[m]:.4f} ({ranks[m][loss]})" for m in metrics)
                         + f" | {timing[loss]['seconds']:.0f} | {timing[loss]['patches_per_s']:.1f} |")
            rows.append({"set": set_name, "loss": loss, **vals, **timing[loss]})
        lines.append("")
        if len(per_loss) > 1:
            first = next(iter(per_loss))
            ref = _per_image(csvs(set_name, first))
            n = len(next(iter(ref.values())))
            lines += [f"Paired difference to {first} over the {n} images: mean ± 95 % CI half-width; "
                      "**bold** where the interval excludes 0 (better or worse).", "",
                      "| loss | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
            for loss in list(per_loss)[1:]:
                other = _per_image(csvs(set_name, loss))
                cells = []
                for m in metrics:
                    mean, half = paired_difference(other[m], ref[m])
                    cell = f"{mean:+.4f} ± {half:.4f}"
                    cells.append(f"**{cell}**" if abs(mean) > half else cell)
                lines.append(f"| {loss} | " + " | ".join(cells) + " |")
            lines.append("")
    atomic_write_bytes(out_dir / "results.md", "\n".join(lines).encode())
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    atomic_write_bytes(out_dir / "results.csv", buf.getvalue().encode())
    report = {"task": task, "preset": preset, "from_scratch": from_scratch, "jod_display": jod_display,
              "finetune": tuned.to_dict(), "results": results, "timing": timing,
              "versions": {"torch": torch.__version__}}
    atomic_write_bytes(out_dir / "results.json", json.dumps(report, indent=2).encode())
    for m in metrics:
        _bar_chart(m, {s: {l: v[m] for l, v in r.items()} for s, r in results.items()}, out_dir / f"bars_{m}.png")
    return report
