"""The user study's numbers: scaling speed on a large experiment, and active vs uniform pair sampling.

    python benchmarks/bench_study.py [--repeats 30]

Prints a markdown table; the README's study section quotes it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mdfloss.study.analysis import scale_study
from mdfloss.study.simulate import simulate


def scaling_speed() -> None:
    sim = simulate(25, 1, 100, 260, sampling="random", spread=4.0, seed=2, every=26000)
    for boot in (0, 20):
        t = time.perf_counter()
        scale_study(sim.answers, bootstrap=boot, outliers=False)
        print(f"| scale {len(sim.answers)} answers, 25 conditions, 1 scene + pooled, bootstrap {boot} "
              f"| {time.perf_counter() - t:.1f} s |")
    t = time.perf_counter()
    scale_study(sim.answers, bootstrap=0, outliers=True)
    print(f"| the same with the outlier analysis (100 observers) | {time.perf_counter() - t:.1f} s |")


def sampling(repeats: int) -> None:
    configs = [(10, 1, 10, 40, 6.0), (15, 1, 20, 40, 8.0), (6, 2, 10, 30, 3.0)]
    print("\n| conditions | scenes | answers | spread (JOD) | RMSE active | RMSE uniform | paired difference ± s.e. |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    for n_cond, n_scenes, n_obs, per_obs, spread in configs:
        n = n_obs * per_obs
        a = [simulate(n_cond, n_scenes, n_obs, per_obs, sampling="active", spread=spread, seed=s,
                      every=n).checkpoints[-1][1] for s in range(repeats)]
        r = [simulate(n_cond, n_scenes, n_obs, per_obs, sampling="random", spread=spread, seed=s,
                      every=n).checkpoints[-1][1] for s in range(repeats)]
        d = np.subtract(a, r)
        print(f"| {n_cond} | {n_scenes} | {n} | {spread:g} | {np.mean(a):.3f} | {np.mean(r):.3f} | "
              f"{d.mean():+.3f} ± {d.std(ddof=1) / np.sqrt(repeats):.3f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    print("| step | time |\n|---|---:|")
    scaling_speed()
    sampling(args.repeats)
