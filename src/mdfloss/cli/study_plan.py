"""``mdfloss study plan``: how many answers and observers a study needs to tell its conditions apart."""

from __future__ import annotations

from pathlib import Path

import click

from mdfloss.common.errors import InvalidInputError
from mdfloss.common.extras import require


@click.command("plan")
@click.option("--jod", "jods", multiple=True, metavar="NAME=JOD", help="Expected JOD of a condition (2 or more).")
@click.option("--from-benchmark", type=click.Path(file_okay=False), default=None,
              help="A finished benchmark's --out: its per-image ColorVideoVDP JODs stand in for observers.")
@click.option("--set", "set_name", default=None, help="With --from-benchmark: the evaluation set.")
@click.option("--condition", "losses", multiple=True, metavar="LOSS",
              help="With --from-benchmark: a loss to compare (repeat; default: every loss).")
@click.option("--scenes", type=int, default=None,
              help="Scenes in the study (default: 10 images where the losses differ most, or 1 with --jod).")
@click.option("--pair", "pairs", multiple=True, metavar="A:B", help="A pair of interest (repeat; default: every pair).")
@click.option("--trials", type=int, default=30, show_default=True, help="Answers per observer.")
@click.option("--power", type=float, default=0.95, show_default=True,
              help="Wanted chance that a pair's 95 % interval excludes 0.")
@click.option("--simulations", type=int, default=100, show_default=True, help="Simulated studies.")
@click.option("--max-answers", type=int, default=5000, show_default=True,
              help="Simulate up to this many answers; beyond, the need is extrapolated.")
@click.option("--sampler", default="active", show_default=True, help="The pair choice the study will use.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for plan.md, plan.json and plan.png.")
@click.option("--force", is_flag=True, help="Overwrite an earlier plan in --out.")
def plan(jods, from_benchmark, set_name, losses, scenes, pairs, trials, power, simulations, max_answers, sampler,
         seed, out_dir, force):
    """Answers and observers needed to tell each pair of conditions apart, by simulating the study."""
    for module in ("scipy", "matplotlib"):
        require(module, "study", "the study plan")
    from mdfloss.study.plan import plan_study
    from mdfloss.study.plan_inputs import jods_from_benchmark, parse_jods
    from mdfloss.study.plan_report import PLAN_FILES, plan_table, write_plan

    if bool(jods) == bool(from_benchmark):
        raise InvalidInputError("--jod/--from-benchmark: give the expected JODs one way: --jod NAME=JOD ... or "
                                "--from-benchmark DIR")
    if (set_name or losses) and not from_benchmark:
        raise InvalidInputError("--set/--condition: these read a benchmark; add --from-benchmark DIR")
    if out_dir and not force:  # refused before the minutes of simulation, not after
        taken = [n for n in PLAN_FILES if (Path(out_dir) / n).exists()]
        if taken:
            raise InvalidInputError(f"--out: '{out_dir}' already holds {', '.join(taken)}; pass --force")
    if jods:
        truth, conditions = parse_jods(list(jods), 1 if scenes is None else scenes)
        source = None
    else:
        truth, conditions, source = jods_from_benchmark(Path(from_benchmark), set_name, list(losses),
                                                        10 if scenes is None else scenes)
    parsed = []
    for p in pairs:
        a, sep, b = p.partition(":")
        if not sep:
            raise InvalidInputError(f"--pair: expected A:B, got {p!r}")
        parsed.append((a, b))
    result = plan_study(truth, conditions, parsed or None, trials=trials, power=power, simulations=simulations,
                        max_answers=max_answers, sampling=sampler, seed=seed, progress=click.echo)
    click.echo(plan_table(result))
    if out_dir:
        write_plan(result, Path(out_dir), source=source, force=True)
        click.echo(f"wrote {out_dir}/plan.md, plan.json and plan.png")
