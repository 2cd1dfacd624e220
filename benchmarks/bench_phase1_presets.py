"""Time per scale and in total of each Phase-1 preset.

Presets named in --measure are trained for real (task jpeg, the slowest distortion, on
the bundled image) and timed from their log; presets named in --estimate are timed
over a few iterations per scale and extrapolated. --from-log prints the table of a
finished run's log.jsonl instead of training.

    python benchmarks/bench_phase1_presets.py --measure fast,standard --estimate paper
    python benchmarks/bench_phase1_presets.py --from-log runs/std_jpeg.safetensors.work/log.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from mdfloss.phase1.presets import preset_config
from mdfloss.phase1.trainer import train_loss

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_train_shipped import seconds_per_iteration  # noqa: E402


def table_from_log(log: Path) -> tuple[list[tuple[str, int, float]], float]:
    rows, total = [], 0.0
    for line in log.read_text().splitlines():
        r = json.loads(line)
        if r["event"] == "scale-done":
            rows.append(("x".join(map(str, r["size"])), r["width"], r["seconds"]))
        if r["event"] == "done":
            total = r["seconds"]
    return rows, total


def print_table(name: str, how: str, rows: list[tuple[str, int, float]], total: float) -> None:
    print(f"\n{name} ({how})\n| scale | size | width | seconds |\n|---|---|---|---|")
    for k, (size, width, sec) in enumerate(rows):
        print(f"| {k} | {size} | {width} | {sec:.1f} |")
    print(f"| total | | | {total:.1f} s = {total / 60:.1f} min |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--measure", default="fast")
    ap.add_argument("--estimate", default="paper")
    ap.add_argument("--from-log", type=Path, nargs="*", default=[])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    for log in args.from_log:
        rows, total = table_from_log(log)
        print_table(str(log), "from log", rows, total)
    if args.from_log:
        return
    for name in [s for s in args.measure.split(",") if s]:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            train_loss("jpeg", out=Path(tmp) / "x.safetensors", preset=name, device=args.device, progress=False)
            rows, _ = table_from_log(Path(tmp) / "x.safetensors.work" / "log.jsonl")
            print_table(name, "measured", rows, time.perf_counter() - t0)
    for name in [s for s in args.estimate.split(",") if s]:
        config = preset_config(name)
        per = seconds_per_iteration(config, torch.device(args.device), n=3)
        from mdfloss.common.imageio import read_image
        from mdfloss.loss.assets import bundled_image_path
        from mdfloss.phase1.steps import build_pyramid

        pyr = build_pyramid(read_image(bundled_image_path()), config, torch.device("cpu"))
        rows = [("x".join(map(str, r.shape[-2:])), config.width(k), s * config.iterations)
                for k, (r, s) in enumerate(zip(pyr.reals, per))]
        print_table(name, f"estimated from 3 iterations per scale x {config.iterations}", rows,
                    sum(r[2] for r in rows))


if __name__ == "__main__":
    main()
