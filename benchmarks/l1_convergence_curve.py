"""How much L1 training from scratch still gains per doubling of its iterations.

A from-scratch comparison of losses means something only at a budget where the network has (nearly) converged;
this script finds that budget for the benchmark's network. It trains the task's restorer with L1 from scratch
at budgets B, 2B, 4B, ... (each its own run, with the preset's whole learning-rate schedule scaled to it, as
``mdfloss benchmark --from-scratch --iterations N`` trains), scores each on every image of the evaluation sets
(PSNR on RGB and Y, BasicSR's border crop) and reports the gain per doubling. The budget wanted is the first whose
doubling gains less than ``--threshold`` dB on every set.

Runs are resumable and reused: a budget whose ``model.pt`` exists is scored, not trained again; ``--reuse
B=MODEL`` takes a finished run for budget B (the benchmark's own ``pretrain_l1`` is the cpu preset's 1,500).
Results are written after every budget, so a stopped run keeps what it measured.

    python benchmarks/l1_convergence_curve.py --task sisr --budgets 1500,3000,6000 --out runs/l1_curve \\
        --reuse 1500=runs/cpu_sisr/pretrain_l1/model.pt --report docs/results/sisr-from-scratch
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

import torch

from mdfloss.common.extras import require
from mdfloss.common.files import atomic_write_bytes, write_csv, write_png
from mdfloss.restoration.bench_presets import BENCH_PRESETS
from mdfloss.restoration.evaluate import evaluate
from mdfloss.restoration.presets import restorer_preset
from mdfloss.restoration.train import train_restorer
from mdfloss.tasks import get_task

SETS = {"sisr": ["Set5", "Set14", "BSD100"], "denoise": ["CBSD68", "McMaster"], "jpeg": ["LIVE1", "Classic5"]}


def _parse_reuse(items: list[str]) -> dict[int, Path]:
    out = {}
    for item in items:
        budget, sep, path = item.partition("=")
        if not sep or not budget.isdigit() or not Path(path).is_file():
            raise SystemExit(f"--reuse: expected BUDGET=MODEL with an existing model.pt, got {item!r}")
        out[int(budget)] = Path(path)
    return out


def _model_for(args, budget: int, reuse: dict[int, Path]) -> tuple[Path, dict | None]:
    """The model of one budget, trained here unless it exists; how long its training took ({"seconds", "threads"};
    None when it was trained elsewhere)."""
    run = args.out / f"l1_{budget}"
    timing = run / "train_seconds.json"  # kept beside the run, so a later call that reuses it still reports it
    if (run / "model.pt").is_file():
        return run / "model.pt", json.loads(timing.read_text()) if timing.is_file() else None
    if budget in reuse:
        run.mkdir(parents=True, exist_ok=True)
        shutil.copy2(reuse[budget], run / "model.pt")
        return run / "model.pt", None
    preset = replace(restorer_preset(args.task, BENCH_PRESETS["cpu"].base), iterations=budget)
    start = time.perf_counter()
    # a stopped budget goes on from its last checkpoint (same settings)
    path = train_restorer(args.task, "l1", run, preset, seed=args.seed, resume=(run / "checkpoints").is_dir())
    took = {"seconds": time.perf_counter() - start, "threads": torch.get_num_threads()}
    atomic_write_bytes(timing, json.dumps(took).encode())
    return Path(path), took


def _gains(rows: list[dict], sets: list[str]) -> None:
    for prev, row in zip(rows, rows[1:]):
        for s in sets:
            row[f"gain_{s}"] = row[f"psnr_rgb_{s}"] - prev[f"psnr_rgb_{s}"]


def _converged_at(rows: list[dict], sets: list[str], threshold: float) -> int | None:
    """The first budget whose doubling gains less than ``threshold`` dB (RGB PSNR) on every set."""
    for prev, row in zip(rows, rows[1:]):
        if all(row[f"gain_{s}"] < threshold for s in sets):
            return prev["budget"]
    return None


def _write(rows: list[dict], sets: list[str], args, capability: str) -> None:
    args.report.mkdir(parents=True, exist_ok=True)
    write_csv(args.report / "curve.csv", rows, list(dict.fromkeys(k for r in rows for k in r)))
    at = _converged_at(rows, sets, args.threshold)
    lines = [f"# L1 from scratch: PSNR against iterations ({args.task})", "",
             f"Each budget is its own run of the `cpu` preset from scratch (batch {rows[0]['batch']}, its learning-rate "
             f"schedule scaled to the budget), seed {args.seed}; RGB PSNR over every image of each set; gain = PSNR "
             f"minus the previous budget's. torch {torch.__version__}, CPU capability {capability}.", "",
             "| iterations | " + " | ".join(f"{s} PSNR (dB) | gain" for s in sets) + " | train s (threads) |",
             "|---|" + "---|---|" * len(sets) + "---|"]
    for r in rows:
        cells = [f"{r[f'psnr_rgb_{s}']:.3f} | " + (f"{r[f'gain_{s}']:+.3f}" if f"gain_{s}" in r else "") for s in sets]
        took = "" if r["train_seconds"] is None else f"{r['train_seconds']:.0f} ({r['train_threads']})"
        lines.append(f"| {r['budget']} | " + " | ".join(cells) + f" | {took} |")
    lines.append("")
    if at is not None:
        lines.append(f"**Converged by {at} iterations**: doubling it gains less than {args.threshold} dB on every set.")
    elif len(rows) == 1:
        lines.append("One budget only: no doubling measured yet.")
    else:
        last = rows[-1]
        worst = max(last[f"gain_{s}"] for s in sets)
        lines.append(f"**Not converged by {rows[-2]['budget']} iterations**: doubling it to {last['budget']} still "
                     f"gains up to {worst:+.3f} dB (threshold {args.threshold} dB).")
    atomic_write_bytes(args.report / "curve.md", ("\n".join(lines) + "\n").encode())
    atomic_write_bytes(args.report / "curve.json", json.dumps(
        {"task": args.task, "seed": args.seed, "rows": rows, "threshold_db": args.threshold, "converged_at": at,
         "torch": torch.__version__, "cpu": capability}, indent=1).encode())
    _plot(rows, sets, args.report / "curve.png")


def _plot(rows: list[dict], sets: list[str], path: Path) -> None:
    matplotlib = require("matplotlib", "metrics", "the convergence curve's figure")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    for s in sets:
        ax.plot([r["budget"] for r in rows], [r[f"psnr_rgb_{s}"] for r in rows], marker="o", label=s)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("L1 iterations from scratch (log 2)")
    ax.set_ylabel("PSNR RGB (dB)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    write_png(path, fig)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="sisr", choices=sorted(SETS))
    ap.add_argument("--budgets", default="1500,3000,6000", help="comma-separated iteration budgets, each a run")
    ap.add_argument("--out", type=Path, required=True, help="folder of the runs (one per budget)")
    ap.add_argument("--report", type=Path, help="folder of curve.md/.csv/.json/.png [--out]")
    ap.add_argument("--reuse", action="append", default=[], metavar="BUDGET=MODEL")
    ap.add_argument("--sets", help="comma-separated evaluation sets [the task's benchmark sets]")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threshold", type=float, default=0.05, help="dB per doubling [0.05]")
    args = ap.parse_args()
    args.report = args.report or args.out
    try:
        budgets = sorted({int(b) for b in args.budgets.split(",")})
    except ValueError:
        raise SystemExit(f"--budgets: expected comma-separated integers, got {args.budgets!r}") from None
    if any(b != 2 * a for a, b in zip(budgets, budgets[1:])):
        raise SystemExit(f"--budgets: each budget must double the one before (the gains are per doubling), got "
                         f"{args.budgets!r}; for example 1500,3000,6000")
    reuse = _parse_reuse(args.reuse)
    capability = torch.backends.cpu.get_cpu_capability()
    sets = args.sets.split(",") if args.sets else SETS[args.task]
    get_task(args.task)  # a clear error for an unknown task before any training
    rows: list[dict] = []
    for budget in budgets:
        model, took = _model_for(args, budget, reuse)
        row = {"budget": budget, "batch": restorer_preset(args.task, "cpu").batch,
               "train_seconds": took and took["seconds"], "train_threads": took and took["threads"]}
        for s in sets:
            row[f"psnr_rgb_{s}"] = evaluate(model, s, perceptual=False)["psnr_rgb"]
        rows.append(row)
        _gains(rows, sets)
        _write(rows, sets, args, capability)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
