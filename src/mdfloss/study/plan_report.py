"""Write a study plan: ``plan.md`` (the table), ``plan.json`` (everything) and ``plan.png`` (power curves)."""

from __future__ import annotations

import json
from pathlib import Path

from mdfloss.common.errors import OutputPathError
from mdfloss.common.extras import require
from mdfloss.common.files import atomic_write_bytes, write_png
from mdfloss.study.plan import PairPlan, StudyPlan

PLAN_FILES = ("plan.md", "plan.json", "plan.png")


def answers_text(plan: StudyPlan, p) -> str:
    """The table's answers cell: a number, an extrapolated number with its range, or why there is none."""
    if p.unresolved:
        return f"unresolved: no consistent difference in {plan.max_answers:,} simulated answers"
    if p.answers is None:
        return "no difference to find"
    if not p.extrapolated:
        return f"{p.answers:,}"
    low, high = p.answers_range
    return f"≈ {p.answers:,} (extrapolated; 95 % range {low:,} to {'unbounded' if high is None else f'{high:,}'})"


def plan_table(plan: StudyPlan) -> str:
    rows = ["| pair | expected difference (JOD) | answers | observers |", "|---|---:|---:|---:|"]
    for p in plan.pairs:
        obs = plan.observers(p)
        observers = "" if obs is None else f"{obs:,}"
        rows.append(f"| {p.a} vs {p.b} | {p.delta:+.3f} | {answers_text(plan, p)} | {observers} |")
    return "\n".join(rows)


def plan_markdown(plan: StudyPlan, source: dict | None = None) -> str:
    lines = [
        "# Study plan", "",
        f"Answers for a {plan.power:.0%} chance that the 95 % interval of each pair's JOD difference (pooled over "
        f"{plan.scenes} scene(s)) excludes 0, from {plan.simulations} simulated studies with the '{plan.sampling}' "
        f"sampler and the Thurstone model the scaling assumes; observers at {plan.trials} answers each.", "",
        plan_table(plan), "",
        f"'Extrapolated': beyond the {plan.max_answers:,} simulated answers, by the square-root law of the standard "
        "error; the range is what the simulations' own uncertainty allows. Simulated observers all agree with the "
        "expected JODs; real ones differ from each other and some "
        "fail the screening, so recruit more than this.",
    ]
    if source:
        lines += ["", "Expected JODs from: " + "; ".join(f"{k}: {v}" for k, v in source.items()) + "."]
    return "\n".join(lines) + "\n"


def plot_plan(plan: StudyPlan, path: Path) -> None:
    require("matplotlib", "study", "the plan's plot")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for p in plan.pairs:
        if p.curve:
            ax.plot([n for n, _ in p.curve], [v for _, v in p.curve], marker=".", label=f"{p.a} vs {p.b}")
    ax.axhline(plan.power, color="grey", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("answers (simulated)")
    ax.set_ylabel("chance the interval excludes 0")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    write_png(path, fig)
    plt.close(fig)


def write_plan(plan: StudyPlan, out: Path, *, source: dict | None = None, force: bool = False) -> None:
    out = Path(out)
    taken = [n for n in PLAN_FILES if (out / n).exists()]
    if taken and not force:
        raise OutputPathError(f"--out: '{out}' already holds {', '.join(taken)}; pass --force to overwrite them")
    out.mkdir(parents=True, exist_ok=True)
    data = {"conditions": plan.conditions, "scenes": plan.scenes, "trials": plan.trials, "power": plan.power,
            "simulations": plan.simulations, "sampler": plan.sampling, "max_answers": plan.max_answers,
            "source": source or {},
            "pairs": [{"a": p.a, "b": p.b, "delta": p.delta, "answers": p.answers, "observers": plan.observers(p),
                       "extrapolated": p.extrapolated, "answers_range": p.answers_range, "unresolved": p.unresolved,
                       "curve": p.curve} for p in plan.pairs]}
    atomic_write_bytes(out / "plan.json", json.dumps(data, indent=1).encode())
    atomic_write_bytes(out / "plan.md", plan_markdown(plan, source).encode())
    plot_plan(plan, out / "plan.png")


def load_plan(path: Path) -> tuple[StudyPlan, dict]:
    """A plan written by :func:`write_plan` (its ``plan.json``), and where its JODs came from."""
    d = json.loads(Path(path).read_text())
    pairs = [PairPlan(p["a"], p["b"], p["delta"], p["answers"], p["extrapolated"],
                      tuple(p["answers_range"]) if p.get("answers_range") else None, p.get("unresolved", False),
                      [tuple(c) for c in p["curve"]]) for p in d["pairs"]]
    plan = StudyPlan(d["conditions"], d["scenes"], pairs, d["trials"], d["power"], d["simulations"], d["sampler"],
                     d["max_answers"])
    return plan, d.get("source") or {}
