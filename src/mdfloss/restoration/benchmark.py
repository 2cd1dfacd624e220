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
import time
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from ..fileio import atomic_write_bytes
from ..imageio import save_image
from .data import EvalPairs, resolve_set
from .degradations import Degradation
from .evaluate import evaluate, load_restorer
from .presets import restorer_preset
from .train import train_restorer

EVAL_SETS = {"sisr": ["Set5", "Set14", "BSD100"], "denoise": ["CBSD68", "McMaster"], "jpeg": ["LIVE1", "Classic5"]}
#: Benchmark presets: restorer preset, fine-tuning iterations, images per evaluation set (None = all).
BENCH_PRESETS = {"smoke": ("smoke", 3, 2), "cpu": ("cpu", 1000, None), "gpu": ("gpu", 20_000, None)}
HIGHER_IS_BETTER = {"psnr_rgb": True, "ssim_rgb": True, "psnr_y": True, "ssim_y": True}


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
def _crops(models: dict[str, Path], set_path: Path, deg: Degradation, path: Path, size: int = 96) -> None:
    name, lq, hq = EvalPairs(set_path, deg)[0]
    h, w = hq.shape[-2:]
    y, x = (h - size) // 2 // deg.factor * deg.factor, (w - size) // 2 // deg.factor * deg.factor
    sl = (slice(None), slice(y, y + size), slice(x, x + size))
    up = torch.nn.functional.interpolate(lq[None], scale_factor=deg.factor, mode="nearest")[0] if deg.factor > 1 else lq
    tiles = [up[sl]]
    for p in models.values():
        model, _ = load_restorer(p)
        tiles.append(model(lq[None]).clamp(0, 1)[0][sl])
    tiles.append(hq[sl])
    save_image(path, torch.cat(tiles, dim=-1))


def run_benchmark(task: str, losses: list[str], preset: str, out_dir: str | Path, *, from_scratch: bool = False,
                  seed: int = 0, data_root: Path | None = None, progress: bool | None = None) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base_name, finetune_its, limit = BENCH_PRESETS[preset]
    base = restorer_preset(task, base_name)
    kw = dict(seed=seed, data_root=data_root, progress=progress, force=True)
    init = None
    if not from_scratch:
        init = train_restorer(task, "l1", out_dir / "pretrain_l1", base, **kw)
    tuned = replace(base, iterations=finetune_its if not from_scratch else base.iterations,
                    val_every=max(1, (finetune_its if not from_scratch else base.iterations) // 4))
    models, timing = {}, {}
    for loss in losses:
        t0 = time.perf_counter()
        models[loss] = train_restorer(task, loss, out_dir / f"loss_{_safe(loss)}", tuned, init=init, **kw)
        record = load_restorer(models[loss])[1]
        timing[loss] = {"seconds": time.perf_counter() - t0, "patches_per_s": record["patches_per_s"]}
    deg = Degradation(task, **base.degradation)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for set_name in EVAL_SETS[task]:
        set_path = resolve_set(set_name, data_root)
        results[set_name] = {loss: evaluate(p, set_path, limit=limit, out_csv=out_dir / f"per_image_{set_name}_{_safe(loss)}.csv",
                                            seed=seed) for loss, p in models.items()}
        _crops(models, set_path, deg, out_dir / f"crops_{set_name}.png")
    metrics = list(next(iter(next(iter(results.values())).values())))
    lines = [f"# Benchmark: {task}, preset {preset}", "",
             f"{'From scratch' if from_scratch else 'Pretrained with L1, then fine-tuned'} for "
             f"{tuned.iterations} iterations per loss; model {base.model}; patch {base.patch}; batch {base.batch}.", ""]
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
    atomic_write_bytes(out_dir / "results.md", "\n".join(lines).encode())
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    atomic_write_bytes(out_dir / "results.csv", buf.getvalue().encode())
    report = {"task": task, "preset": preset, "from_scratch": from_scratch, "results": results, "timing": timing}
    atomic_write_bytes(out_dir / "results.json", json.dumps(report, indent=2).encode())
    for m in metrics:
        _bar_chart(m, {s: {l: v[m] for l, v in r.items()} for s, r in results.items()}, out_dir / f"bars_{m}.png")
    return report
