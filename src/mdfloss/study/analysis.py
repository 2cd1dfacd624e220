"""From answers to a JOD table: scaling per scene and pooled, bootstrap intervals, outlier observers.

* The intervals are pwcmp's ``pw_scale_bootstrp``: observers are resampled with replacement, the summed
  counts scaled again, and the 2.5th and 97.5th percentiles (MATLAB's ``prctile``, i.e. numpy's
  'hazen' method) of each condition's score are the 95 % interval.
* The outliers are pwcmp's ``pw_outlier_analysis``: for each observer, the log10-likelihood of their
  answers under the scores of everyone else, per answer, summed over scenes; an observer whose value lies
  more than one inter-quartile range below the first quartile (``dist_L > 1``) is flagged.
* The screening (catch and identical trials, speed, side bias) runs first; see ``screening.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from mdfloss.common.errors import InvalidInputError
from mdfloss.study.answers import Answer, by_observer, conditions_of, scaled_only
from mdfloss.study.scaling import choice_probability, difference_estimates, pw_scale, wald_interval
from mdfloss.study.screening import CATCH_MIN, MIN_MS, ObserverScreen, has_screening_trials, screen_observers

POOLED = "all"


@dataclass(frozen=True)
class ScaledRow:
    scene: str
    condition: str
    jod: float
    jod_low: float
    jod_high: float


@dataclass(frozen=True)
class ObserverFit:
    observer: str
    log10_likelihood: float  # per answer
    dist_l: float  # distance below the first quartile, in inter-quartile ranges
    outlier: bool


@dataclass
class StudyScaling:
    rows: list[ScaledRow]
    observers: list[ObserverFit] = field(default_factory=list)
    n_answers: int = 0  # answers scaled
    screening: list[ObserverScreen] = field(default_factory=list)  # empty: the study has no screening trials
    excluded: list[str] = field(default_factory=list)  # observers left out for failing the screening
    differences: list[Difference] = field(default_factory=list)  # every pair of conditions, pooled


@dataclass(frozen=True)
class Difference:
    """Pooled JOD difference ``a − b`` with its 95 % model (Wald) interval, the one ``study plan`` predicts."""

    a: str
    b: str
    jod: float
    low: float
    high: float


def _bootstrap(per_observer: list[np.ndarray], q: np.ndarray, n: int, rng: np.random.Generator,
               prior: str, progress: Callable[[str], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    if n == 0 or len(per_observer) < 2:
        return q, q  # as pw_scale_bootstrp: no interval without resampling
    stack = np.stack(per_observer)
    samples = np.empty((n, len(q)))
    for b in range(n):
        pick = rng.integers(0, len(per_observer), len(per_observer))
        samples[b] = pw_scale(stack[pick].sum(axis=0), prior=prior, start=q)
        if progress and (b + 1) % 100 == 0 and b + 1 < n:
            progress(f"  {b + 1}/{n} bootstrap resamples")
    low, high = np.percentile(samples, [2.5, 97.5], axis=0, method="hazen")
    return low, high


def _scale_group(answers: list[Answer], scene: str, n_boot: int, rng, prior: str,
                 progress: Callable[[str], None] | None) -> list[ScaledRow]:
    conditions = conditions_of(answers)
    per_observer = list(by_observer(answers, conditions).values())
    q = pw_scale(sum(per_observer), prior=prior)
    low, high = _bootstrap(per_observer, q, n_boot, rng, prior, progress)
    return [ScaledRow(scene, c, float(q[i]), float(low[i]), float(high[i])) for i, c in enumerate(conditions)]


def observer_fits(answers: list[Answer]) -> list[ObserverFit]:
    """pwcmp's outlier analysis; needs at least 3 observers (else nothing is flagged and [] is returned)."""
    observers = list(dict.fromkeys(a.observer for a in answers))
    if len(observers) < 3:
        return []
    total = dict.fromkeys(observers, 0.0)
    trials = dict.fromkeys(observers, 0)
    for scene in dict.fromkeys(a.scene for a in answers):
        group = [a for a in answers if a.scene == scene]
        conditions = conditions_of(group)
        mats = by_observer(group, conditions)
        full = sum(mats.values())
        q_all = pw_scale(full)
        for obs, mine in mats.items():
            rest = full - mine
            if not rest.any():
                continue
            q = pw_scale(rest, start=q_all)
            n = mine + mine.T
            upper = np.triu(np.ones_like(n, dtype=bool), 1) & (n > 0)
            p_choose = choice_probability(q[:, None], q[None, :])
            log10p = stats.binom.logpmf(mine, n, p_choose) / np.log(10)
            total[obs] += float(np.sum(np.maximum(log10p[upper], -200.0)))
            trials[obs] += int(upper.sum())
    L = np.array([total[o] / max(trials[o], 1) for o in observers])
    q1, q3 = np.percentile(L, [25, 75], method="hazen")
    iqr = q3 - q1
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = np.where(L < q1, (q1 - L) / iqr, 0.0)
    dist = np.nan_to_num(dist, nan=0.0, posinf=np.inf)
    return [ObserverFit(o, float(L[i]), float(dist[i]), bool(dist[i] > 1)) for i, o in enumerate(observers)]


def scale_study(answers: list[Answer], *, prior: str = "gaussian", bootstrap: int = 500, seed: int = 0,
                outliers: bool = True, progress: Callable[[str], None] | None = None,
                exclude_failed: bool | None = None, catch_min: float = CATCH_MIN,
                min_ms: float = MIN_MS) -> StudyScaling:
    """JOD per condition for each scene and pooled over scenes (scene ``"all"``), with 95 % intervals.

    Only real pairs are scaled (never catch, identical or practice trials). When the answers hold catch or
    identical trials, every observer is screened (:mod:`~mdfloss.study.screening`) and those who fail are
    left out unless ``exclude_failed`` is False; ``exclude_failed=True`` on answers without them is refused.

    Example:
        >>> from mdfloss.study.answers import Answer
        >>> answers = [Answer(f"o{i % 3}", "1", "s", "a", "b", i % 4 != 0) for i in range(12)]
        >>> list(round(r.jod, 2) for r in scale_study(answers, bootstrap=0).rows if r.scene == "all")
        [0.5, -0.5]
    """
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        raise InvalidInputError(f"bootstrap: expected a whole number >= 0 (0 skips the intervals), got {bootstrap!r}")
    if not answers:
        raise InvalidInputError("answers: the study has no answers yet; nothing to scale")
    screening: list[ObserverScreen] = []
    if has_screening_trials(answers):
        screening = screen_observers(answers, catch_min=catch_min, min_ms=min_ms)
    elif exclude_failed:
        raise InvalidInputError("--exclude-failed: these answers hold no catch or identical trials, so there is "
                                "nothing to screen; create the study with --catch/--identical, or drop the option")
    excluded = [s.observer for s in screening if s.failed] if exclude_failed is not False else []
    left_out = set(excluded)
    answers = [a for a in scaled_only(answers) if a.observer not in left_out]
    if not answers:
        raise InvalidInputError("answers: no real pairs are left to scale" + (
            f" after excluding {len(excluded)} observer(s) who failed the screening (--keep-failed keeps them)"
            if excluded else ""))
    if POOLED in {a.scene for a in answers}:
        raise InvalidInputError(f"answers: a scene is named {POOLED!r}, the name of the pooled scaling; rename it")
    rng = np.random.default_rng(seed)
    rows: list[ScaledRow] = []
    scenes = list(dict.fromkeys(a.scene for a in answers))
    for scene in scenes:
        if progress:
            progress(f"scaling scene {scene}")
        rows += _scale_group([a for a in answers if a.scene == scene], scene, bootstrap, rng, prior, progress)
    if progress:
        progress("scaling all scenes pooled")
    rows += _scale_group(answers, POOLED, bootstrap, rng, prior, progress)
    if outliers and progress:
        progress("outlier analysis (each observer against the scores of all others)")
    fits = observer_fits(answers) if outliers else []
    return StudyScaling(rows, fits, len(answers), screening, excluded, pooled_differences(answers))


def pooled_differences(answers: list[Answer]) -> list[Difference]:
    """Every pair's pooled difference, best-scored condition first."""
    conditions = conditions_of(answers)
    D = sum(by_observer(answers, conditions).values())
    q = pw_scale(D)
    order = [int(k) for k in np.argsort(-q, kind="stable")]
    pairs = [(i, j) for x, i in enumerate(order) for j in order[x + 1:]]
    return [Difference(conditions[i], conditions[j], est, *wald_interval(est, se))
            for (i, j), (est, se) in zip(pairs, difference_estimates(D, pairs, scores=q))]
