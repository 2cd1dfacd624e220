"""Train the three shipped losses (sisr, denoise sigma 25, jpeg quality 10) on one GPU.

The three runs go in parallel processes. The paper preset (2000 iterations per scale)
is used when the measured iteration rate lets it finish within --budget seconds;
otherwise the iterations per scale are cut to fit and the cut is recorded in each
file's metadata (training_config.iterations) and in the printed summary.

    python benchmarks/gpu_train_shipped.py --out DIR --budget 420
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from mdfloss.phase1 import steps as phase1
from mdfloss.loss.assets import bundled_image_path
from mdfloss.phase1.distortions import make_distortion
from mdfloss.common.imageio import read_image
from mdfloss.phase1.presets import preset_config
from mdfloss.phase1.pyramid import build_pyramid
from mdfloss.common.runs import derive_generator

TASKS = [("sisr", []), ("denoise", ["--sigma", "25"]), ("jpeg", ["--quality", "10"])]


def seconds_per_iteration(config: phase1.Phase1Config, device: torch.device, n: int = 15) -> list[float]:
    """Measured seconds per iteration at each scale (jpeg, the slowest distortion)."""
    img = read_image(bundled_image_path())
    pyr = build_pyramid(img, config, device)
    dist = make_distortion("jpeg")
    done = phase1.Finished(z_rec=phase1.randn(pyr.reals[0].shape, derive_generator(0, "z"), device))
    out, prev = [], None
    for k in range(len(pyr.reals)):
        models = phase1.new_scale(k, config, prev, 0, device)
        rec_in = phase1.reconstruction_input(k, pyr, done, dist, 0)
        amp = phase1.noise_amplitude(k, pyr, done, config)
        run = phase1.ScaleRun(k, models, pyr, done, rec_in, amp, dist, config, 0, device)
        phase1.train_iteration(run, 0)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        for i in range(n):
            phase1.train_iteration(run, i)
        if device.type == "cuda":
            torch.cuda.synchronize()
        out.append((time.perf_counter() - t) / n)
        phase1.finish_scale(models.generator, done, rec_in, amp)
        prev = (models.generator, models.critic)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget", type=float, default=420.0, help="seconds for the three parallel runs")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--preset", default="paper")
    ap.add_argument("--timing-iterations", type=int, default=15)
    ap.add_argument("--parallel-slowdown", type=float, default=1.5,
                    help="assumed slowdown of each run when three share the GPU")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = preset_config(args.preset)
    dev = torch.device(args.device)
    per_scale = seconds_per_iteration(config, dev, args.timing_iterations)
    per_iteration_all_scales = sum(per_scale) * args.parallel_slowdown
    iterations = int(min(config.iterations, args.budget / per_iteration_all_scales))
    summary = {"device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu", "preset": args.preset,
               "seconds_per_iteration_by_scale": [round(s, 4) for s in per_scale],
               "iterations_per_scale": iterations, "paper_iterations": config.iterations}
    print(json.dumps(summary), flush=True)
    procs = []
    # Three processes must not each spin a full set of OpenMP threads on the same cores.
    threads = str(max(1, (os.cpu_count() or 3) // len(TASKS)))
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    t0 = time.perf_counter()
    for task, extra in TASKS:
        cmd = [sys.executable, "-m", "mdfloss", "train", "--task", task, *extra, "--preset", args.preset,
               "--iterations", str(iterations), "--device", args.device, "--force",
               "--out", str(out / f"mdf_{task}.safetensors"), "--workdir", f"/tmp/mdf_work_{task}",
               "--checkpoint-every", "250"]
        procs.append((task, subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
    for task, p in procs:
        text, _ = p.communicate()
        print(f"[{task}] exit {p.returncode} after {time.perf_counter() - t0:.0f} s: {text.strip()[-400:]}", flush=True)
        log = Path(f"/tmp/mdf_work_{task}/log.jsonl")
        if log.is_file():
            (out / f"log_{task}.jsonl").write_bytes(log.read_bytes())
    summary["wall_seconds"] = round(time.perf_counter() - t0, 1)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
