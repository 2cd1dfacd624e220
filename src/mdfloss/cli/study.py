"""``mdfloss study create|serve|scale|export|simulate``: a pairwise-comparison user study scaled to JOD."""

from __future__ import annotations

from pathlib import Path

import click

from mdfloss.cli.options import renamed_option
from mdfloss.common.errors import InvalidInputError
from mdfloss.common.extras import require


def _need(feature: str, *modules: str) -> None:
    # The study's own extra; checked before importing modules that need it, so a core install gets one line.
    for module in modules:
        require(module, "study", feature)


@click.group()
def study() -> None:
    """Ask people which restoration looks better, and scale their answers to JOD."""


@study.command()
@click.option("--out", "out_dir", required=True, type=click.Path(), help="New study folder.")
@click.option("--reference", type=click.Path(), default=None, help="Folder of reference (clean) images.")
@click.option("--method", "methods", multiple=True, metavar="NAME=DIR",
              help="A method's restorations, named as the reference images (give 2 or more).")
@click.option("--from-benchmark", type=click.Path(), default=None,
              help="A finished benchmark's --out folder: run its networks on --set.")
@click.option("--set", "set_name", default=None, help="With --from-benchmark: named set or folder.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="With --from-benchmark: first N images.")
@click.option("--data-root", type=click.Path(file_okay=False), default=None)
@click.option("--crops", type=click.IntRange(min=0), default=0, show_default=True,
              help="Up to N non-overlapping crops per image, where the methods differ most (0: whole images).")
@click.option("--crop-size", type=click.IntRange(min=16), default=256, show_default=True)
@click.option("--practice", type=int, default=0, show_default=True,
              help="Practice trials at the start of each observer's session (not scaled; 0-20).")
@click.option("--catch", type=int, default=0, show_default=True,
              help="Catch trials per observer: the reference against a strongly degraded copy (0-50).")
@click.option("--identical", type=int, default=0, show_default=True,
              help="Identical pairs per observer: one image on both sides, which should split evenly (0-50).")
@click.option("--instructions", type=click.Path(dir_okay=False), default=None,
              help="Text file shown to every new observer before the first trial (default: built-in text).")
@click.option("--consent", type=click.Path(dir_okay=False), default=None,
              help="Text file the observer must agree to before the first trial.")
def create(out_dir, reference, methods, from_benchmark, set_name, limit, data_root, crops, crop_size, practice,
           catch, identical, instructions, consent):
    """Make a study folder from restorations (folders) or from a benchmark's networks."""
    from mdfloss.study.create import build_study, load_folders, parse_method

    if from_benchmark:
        if reference or methods:
            raise InvalidInputError("--from-benchmark: give either --from-benchmark or --reference/--method")
        if not set_name:
            raise InvalidInputError("--set: --from-benchmark needs the set to restore, e.g. --set Set14")
        from mdfloss.study.from_benchmark import restorations

        refs, images, source = restorations(Path(from_benchmark), set_name, limit=limit, progress=click.echo,
                                            data_root=Path(data_root) if data_root else None)
    else:
        if not reference:
            raise InvalidInputError("--reference: give the folder of reference images (or --from-benchmark)")
        parsed = [parse_method(m) for m in methods]
        refs, images = load_folders(Path(reference), parsed)
        source = {"reference": str(Path(reference).resolve()), "methods": {n: str(d.resolve()) for n, d in parsed}}
    meta = build_study(Path(out_dir), refs, images, crops=crops, crop_size=crop_size, source=source,
                       practice=practice, catch=catch, identical=identical,
                       instructions=Path(instructions) if instructions else None,
                       consent=Path(consent) if consent else None)
    extra = ", ".join(f"{v} {k}" for k, v in meta["trials"].items() if v)
    click.echo(f"wrote {out_dir}: {len(meta['scenes'])} scenes × {len(meta['conditions'])} conditions"
               + (f"; per observer also {extra} trial(s)" if extra else ""))


@study.command()
@click.argument("study_dir", type=click.Path())
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: everyone).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--token", default=None, help="Require ?token=T on every request.")
@click.option("--trials", type=click.IntRange(min=1), default=30, show_default=True,
              help="Real pairs per observer (the cap; practice, catch and identical trials come on top).")
@click.option("--seed", type=int, default=None, help="Seed of the pair choice (default: random).")
@click.option("--sampler", default="active", show_default=True,
              help="Pair choice: active (information gain) or random; registered strategies too.")
def serve(study_dir, host, port, token, trials, seed, sampler):
    """Serve the observer page and its JSON API."""
    _need("the study server", "scipy", "starlette", "uvicorn")
    from mdfloss.study.server import serve as run_server

    if token is not None and not token:
        raise InvalidInputError("--token: an empty token protects nothing; give a secret or leave it out")
    run_server(Path(study_dir), host=host, port=port, token=token, trials=trials, seed=seed, sampler=sampler,
               echo=click.echo)


def _answers_of(source: Path):
    from mdfloss.study.answers import read_answers_csv
    from mdfloss.study.store import read_study_answers

    if source.is_dir():
        from mdfloss.study.create import load_study

        load_study(source)
        answers = read_study_answers(source)
        if not answers:
            raise InvalidInputError(f"STUDY_DIR: '{source}' has no answers yet; serve it to observers first")
        return answers
    return read_answers_csv(source)


@study.command()
@click.argument("source", type=click.Path())
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for jod.csv etc.")
@click.option("--prior", type=click.Choice(["gaussian", "none"]), default="gaussian", show_default=True)
@click.option("--bootstrap", type=click.IntRange(min=0), default=500, show_default=True,
              help="Resamples of observers for the 95 % intervals (0: none).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--no-outliers", is_flag=True, help="Skip the outlier analysis.")
@click.option("--exclude-failed/--keep-failed", default=None,
              help="Leave out observers who fail the screening (the default when the study has catch or identical "
                   "trials).")
@click.option("--catch-min", type=float, default=0.8, show_default=True,
              help="Fraction of catch trials an observer must get right.")
@click.option("--min-ms", type=float, default=300.0, show_default=True,
              help="Median response time below which an observer fails as too fast.")
@click.option("--force", is_flag=True, help="Overwrite the results of an earlier scaling in --out.")
def scale(source, out_dir, prior, bootstrap, seed, no_outliers, exclude_failed, catch_min, min_ms, force):
    """Scale answers (a study folder or a pwcmp CSV) to JOD per scene and pooled."""
    _need("the JOD scaling", "scipy", "matplotlib")
    from mdfloss.study.analysis import scale_study
    from mdfloss.study.report import OUTPUTS, write_scaling

    answers = _answers_of(Path(source))
    taken = [n for n in OUTPUTS if (Path(out_dir) / n).exists()]
    if taken and not force:  # refused before the minutes of bootstrap, not after
        raise InvalidInputError(f"--out: '{out_dir}' already holds {', '.join(taken)}; pass --force to overwrite them")
    result = scale_study(answers, prior=prior, bootstrap=bootstrap, seed=seed, outliers=not no_outliers,
                         progress=click.echo, exclude_failed=exclude_failed, catch_min=catch_min, min_ms=min_ms)
    write_scaling(result, Path(out_dir), bootstrap=bootstrap, prior=prior, force=True)
    failed = [o.observer for o in result.screening if o.failed]
    if failed:
        click.echo(f"screening: {len(failed)} of {len(result.screening)} observers failed ("
                   + ("excluded" if result.excluded else "kept") + "); reasons in observers.csv")
    click.echo(f"wrote {out_dir}/jod.csv, differences.csv, jod.md and jod.png from {result.n_answers} answers")


@study.command()
@click.argument("study_dir", type=click.Path(file_okay=False))
@click.option("--out", "out_csv", required=True, type=click.Path(dir_okay=False), help="CSV in pwcmp's format.")
@click.option("--force", is_flag=True, help="Overwrite an existing --out file.")
def export(study_dir, out_csv, force):
    """Write a study's answers as a CSV in pwcmp's table format."""
    from mdfloss.common.files import check_output_path
    from mdfloss.study.answers import write_answers_csv

    answers = _answers_of(Path(study_dir))
    write_answers_csv(answers, check_output_path(out_csv, force=force, argument="--out"))
    click.echo(f"wrote {out_csv}: {len(answers)} answers")


@study.command("check-code")
@click.argument("study_dir", type=click.Path(file_okay=False))
@click.argument("codes", nargs=-1, required=True)
def check_code(study_dir, codes):
    """Whose completion code is this? Exit status 1 if any code is unknown."""
    from mdfloss.study.codes import completion_code, normalise_code, study_secret
    from mdfloss.study.create import load_study
    from mdfloss.study.store import DB_FILE, AnswerStore

    load_study(Path(study_dir))
    secret = study_secret(Path(study_dir))
    if not (Path(study_dir) / DB_FILE).is_file():
        raise InvalidInputError(f"STUDY_DIR: '{study_dir}' has no answers yet, so no observer has a code")
    store = AnswerStore(Path(study_dir) / DB_FILE)
    owners = {completion_code(secret, o): o for o in store.observers()}
    unknown = 0
    for code in codes:
        observer = owners.get(normalise_code(code))
        if observer is None:
            unknown += 1
            click.echo(f"{code}: unknown: no observer of this study was given this code")
        else:
            click.echo(f"{code}: observer {observer}, {store.answered_count(observer)} answers")
    if unknown:
        raise click.exceptions.Exit(1)


@study.command()
@click.option("--conditions", type=int, default=6, show_default=True)
@click.option("--scenes", type=int, default=2, show_default=True)
@click.option("--observers", type=int, default=10, show_default=True)
@click.option("--answers-per-observer", type=int, default=30, show_default=True)
@renamed_option("--sampler", "--sampling", "sampling", default="both", show_default=True,
                help="A pair-choice strategy (active, random, or a registered one), or both: active and random "
                     "(--sampling still works for one release).")
@click.option("--spread", type=float, default=3.0, show_default=True, help="Range of the true JODs.")
@click.option("--repeats", type=click.IntRange(min=1), default=1, show_default=True, help="Simulations per sampling.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out_csv", type=click.Path(dir_okay=False), default=None, help="Answers CSV (first run).")
def simulate(conditions, scenes, observers, answers_per_observer, sampling, spread, repeats, seed, out_csv):
    """Simulated observers answering from known JODs: how fast does the scaling find them?"""
    _need("the simulation", "scipy")
    import numpy as np

    from mdfloss.study.answers import write_answers_csv
    from mdfloss.study.simulate import simulate as run

    every = max(1, (observers * answers_per_observer) // 10)
    modes = ["active", "random"] if sampling == "both" else [sampling]
    curves = {}
    for mode in modes:
        runs = [run(conditions, scenes, observers, answers_per_observer, sampling=mode, spread=spread,
                    seed=seed + r, every=every) for r in range(repeats)]
        if out_csv and mode == modes[0]:
            write_answers_csv(runs[0].answers, out_csv)
        curves[mode] = (runs[0].checkpoints, np.mean([[e for _, e in r.checkpoints] for r in runs], axis=0))
    click.echo(f"RMSE of the scaled JODs to the truth (mean of {repeats} simulation(s)), by answers so far:")
    click.echo("answers  " + "  ".join(f"{m:>8}" for m in modes))
    for k, (n, _) in enumerate(curves[modes[0]][0]):
        click.echo(f"{n:>7}  " + "  ".join(f"{curves[m][1][k]:8.3f}" for m in modes))


def _add_plan() -> None:
    from mdfloss.cli.study_plan import plan

    study.add_command(plan)


_add_plan()
