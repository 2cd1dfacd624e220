"""Cost of one fine-tuning step per loss, measured side by side, for the benchmark's `cpu` networks.

A step is the network's forward, the loss, backward and Adam, on a batch of random patches
(what the `cpu` benchmark preset fine-tunes with: 8 patches of 64 px). The losses take turns,
one step each per round, so load from other work on the machine falls on all of them alike;
median of ``--repeats`` rounds after a warm-up round.

    python benchmarks/bench_restoration_losses.py [--task sisr] [--batch 8] [--patch 64] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from mdfloss.restoration.degradations import Degradation
from mdfloss.restoration.losses.spec import build_loss
from mdfloss.restoration.models import build_model
from mdfloss.restoration.presets import restorer_preset

DEFAULT_LOSSES = {
    "sisr": "l1,l2,ssim,msssim,mdf:sisr@reference,mdf:sisr@pyramid,mdf:published-sisr@reference",
    "jpeg": "l1,l2,ssim,msssim,mdf:jpeg@reference,mdf:jpeg@pyramid,mdf:published-jpeg@reference",
    "denoise": "l1,l2,ssim,msssim,mdf:denoise@reference,mdf:denoise@pyramid",
}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", choices=list(DEFAULT_LOSSES), default="sisr")
    ap.add_argument("--losses", default=None, help="comma-separated loss specs [the benchmark's for the task]")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--patch", type=int, default=64, help="HR patch size")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    preset = restorer_preset(args.task, "cpu")
    factor = Degradation(args.task, **preset.degradation).factor
    g = torch.Generator().manual_seed(0)
    lq = torch.rand(args.batch, 3, args.patch // factor, args.patch // factor, generator=g)
    hq = torch.rand(args.batch, 3, args.patch, args.patch, generator=g)
    specs = (args.losses or DEFAULT_LOSSES[args.task]).split(",")
    runs = []
    for spec in specs:
        torch.manual_seed(0)
        model = build_model(preset.model, scale=factor)
        runs.append((spec, model, torch.optim.Adam(model.parameters(), lr=1e-4), build_loss(spec), []))
    for i in range(args.repeats + 1):
        for spec, model, opt, criterion, times in runs:
            t0 = time.perf_counter()
            value = criterion(model(lq), hq)
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
            if i:  # the first round warms up oneDNN's kernels
                times.append(time.perf_counter() - t0)
    rows = [(spec, statistics.median(times)) for spec, *_, times in runs]
    base = rows[0][1]
    print(f"{args.task}: {preset.model}, batch {args.batch} x {args.patch}-px patches, {args.threads} threads, "
          f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}; "
          f"median of {args.repeats} rounds in which the losses take turns\n")
    print(f"| loss | s / step | patches / s | vs {rows[0][0]} |")
    print("|---|---|---|---|")
    for spec, t in rows:
        print(f"| {spec} | {t:.3f} | {args.batch / t:.1f} | {t / base:.2f}x |")


if __name__ == "__main__":
    sys.exit(main())
