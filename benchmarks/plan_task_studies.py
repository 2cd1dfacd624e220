"""A ready study per task: the best MDF setting against L2 and MS-SSIM, planned from the committed benchmarks.

    MDFLOSS_DATA=... python benchmarks/plan_task_studies.py [--simulations 100] [--max-answers 2000]
        [--build deblur=runs/cpu_deblur --studies-out /tmp/studies]

For each task in docs/results/<task>/ it takes the set with the most images, the MDF loss with the best
mean ColorVideoVDP JOD, L2 and MS-SSIM, and the 10 images where the three differ most; runs ``study plan``
on their per-image JODs (MDF against each of the others) and writes docs/study/<task>/plan.{md,json,png}
and docs/study/README.md's table. With ``--build TASK=BENCHMARK_DIR`` (a benchmark folder that still holds
its networks) it also builds that task's study folder (the crop of each image where the three differ most,
3 practice, 8 catch and 8 identical trials per observer) under ``--studies-out``; the images are not committed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from mdfloss.restoration.benchmark import read_per_image
from mdfloss.study.plan import plan_study
from mdfloss.study.plan_inputs import jods_from_benchmark
from mdfloss.study.plan_report import answers_text, plan_table, write_plan

REPO = Path(__file__).resolve().parents[1]
TASKS = ("sisr", "denoise", "jpeg", "deblur")


def _set_with_most_images(folder: Path, results: dict) -> str:
    def images(set_name: str) -> int:  # every committed benchmark has an L2 run
        return len(read_per_image(folder / f"per_image_{set_name}_l2.csv"))
    return max(results, key=images)


def plan_task(task: str, simulations: int, max_answers: int, build: Path | None, studies_out: Path | None) -> str:
    folder = REPO / "docs" / "results" / task
    results = json.loads((folder / "results.json").read_text())["results"]
    set_name = _set_with_most_images(folder, results)
    mdf = max((loss for loss in results[set_name] if "mdf" in loss), key=lambda loss: results[set_name][loss]["jod"])
    truth, _, source = jods_from_benchmark(folder, set_name, [mdf, "l2", "msssim"], 10)
    source = {**source, "benchmark": f"docs/results/{task}", "mdf": mdf}
    labels = ["mdf", "l2", "msssim"]
    t = time.perf_counter()
    plan = plan_study(truth, labels, [("mdf", "l2"), ("mdf", "msssim")], simulations=simulations,
                      max_answers=max_answers, seed=0)
    seconds = time.perf_counter() - t
    write_plan(plan, REPO / "docs" / "study" / task, source=source, force=True)
    print(f"## {task} ({set_name}; mdf = {mdf}); {seconds:.0f} s, CPU {torch.backends.cpu.get_cpu_capability()}\n")
    print(plan_table(plan) + "\n", flush=True)
    if build is not None:
        from mdfloss.study.create import build_study
        from mdfloss.study.from_benchmark import restorations

        studies_out.mkdir(parents=True, exist_ok=True)
        refs, images, src = restorations(build, set_name, losses=[mdf, "l2", "msssim"], only=list(truth))
        images = dict(zip(labels, images.values()))
        build_study(studies_out / task, refs, images, crops=1, crop_size=128, source={**src, "mdf": mdf},
                    practice=3, catch=8, identical=8)
        print(f"built {studies_out / task}: {len(refs)} scenes\n")
    return "\n".join(f"| {task} | {set_name} | {p.a} vs {p.b} | {p.delta:+.3f} | {answers_text(plan, p)} | "
                     f"{'' if plan.observers(p) is None else f'{plan.observers(p):,}'} |" for p in plan.pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=100)
    parser.add_argument("--max-answers", type=int, default=2000)
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--build", action="append", default=[], metavar="TASK=BENCHMARK_DIR")
    parser.add_argument("--studies-out", type=Path, default=None)
    args = parser.parse_args()
    builds = dict(item.split("=", 1) for item in args.build)
    if builds and args.studies_out is None:
        parser.error("--build needs --studies-out")
    rows = [plan_task(t, args.simulations, args.max_answers, Path(builds[t]) if t in builds else None,
                      args.studies_out) for t in args.tasks]
    print("| task | set | pair | expected difference (JOD) | answers | observers (30 answers each) |")
    print("|---|---|---|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
