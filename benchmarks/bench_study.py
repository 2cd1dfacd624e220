"""The user study's numbers: scaling speed on a large experiment, active vs uniform pair sampling, and
what screening buys against a careless crowd.

    python benchmarks/bench_study.py [--repeats 30] [--only speed|sampling|crowd|plan]

Prints a markdown table; the README's study section quotes it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mdfloss.study.analysis import scale_study
from mdfloss.study.answers import scaled_only
from study_crowd import simulate_crowd  # noqa: I001 - a sibling module of benchmarks/
from mdfloss.study.plan import plan_study, simulated_power
from mdfloss.study.screening import screen_observers
from mdfloss.study.simulate import rmse_to_truth, simulate


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


def careless_crowd(repeats: int) -> None:
    """30 observers, 20 % careless (half random, half always left); 40 pairs, 8 catch and 8 identical trials
    each; 6 conditions on 4 scenes, active sampling. RMSE of the scaled JODs to the truth."""
    rows = []
    for seed in range(repeats):
        crowd = simulate_crowd(6, 4, 30, 40, catch=8, identical=8, careless=0.2, seed=seed)
        pairs = scaled_only(crowd.answers)
        failed = {s.observer for s in screen_observers(crowd.answers) if s.failed}
        good = [a for a in pairs if a.observer not in crowd.careless]
        kept = [a for a in pairs if a.observer not in failed]
        rows.append([rmse_to_truth(x, crowd.truth, crowd.conditions) for x in (good, kept, pairs)]
                    + [len(failed & set(crowd.careless)), len(failed - set(crowd.careless))])
    r = np.array(rows)
    se = lambda x: x.std(ddof=1) / np.sqrt(len(x))  # noqa: E731
    print(f"\nCareless crowd, {repeats} simulated studies (30 observers, 6 careless):\n")
    print("| answers scaled | RMSE to truth (JOD) | vs good observers alone |\n|---|---:|---:|")
    for k, name in enumerate(("good observers alone", "all, screened (failed excluded)", "all, no screening")):
        d = r[:, k] - r[:, 0]
        print(f"| {name} | {r[:, k].mean():.3f} | {r[:, k].mean() / r[:, 0].mean():.3f}x "
              f"({d.mean():+.3f} ± {se(d):.3f}) |")
    print(f"\nCareless observers caught: {r[:, 3].mean():.2f} of 6 on average; good observers failed: "
          f"{r[:, 4].mean():.2f} of 24.")


def plan_agreement(batches: int) -> None:
    """``study plan``'s answers against direct simulation: batches of 200 simulated studies (disjoint seeds)."""
    truth = {"s0": np.array([0.8, 0.0, 0.3])}
    t = time.perf_counter()
    plan = plan_study(truth, ["a", "b", "c"], [("a", "b")], simulations=200, seed=0)
    n = plan.pairs[0].answers
    print(f"\nstudy plan: a vs b at 0.8 JOD (3 conditions, 1 scene, active sampler): {n} answers for 95 % "
          f"({time.perf_counter() - t:.0f} s).\n")
    found = [simulated_power(truth, ["a", "b", "c"], ("a", "b"), n, simulations=200, seed=1000 * (b + 1))
             for b in range(batches)]
    print("| seeds | interval excludes 0 |\n|---|---:|")
    for b, f in enumerate(found):
        print(f"| {1000 * (b + 1)}-{1000 * (b + 1) + 199} | {f:.1%} |")
    inside = sum(0.92 <= f <= 0.98 for f in found)
    print(f"\nAll {200 * batches} studies: {np.mean(found):.1%}; batches within 95 ± 3 %: {inside} of {batches}.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--only", choices=["speed", "sampling", "crowd", "plan"], default=None)
    args = parser.parse_args()
    if args.only in (None, "speed"):
        print("| step | time |\n|---|---:|")
        scaling_speed()
    if args.only in (None, "sampling"):
        sampling(args.repeats)
    if args.only in (None, "crowd"):
        careless_crowd(args.repeats)
    if args.only in (None, "plan"):
        plan_agreement(10)
