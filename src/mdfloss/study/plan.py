"""How many answers does a study need? A power analysis by simulating the study's own sampler and scaling.

Given the expected JOD of each condition (per scene, or the same in every scene), :func:`plan_study` runs
``simulations`` studies answer by answer: the sampler the server uses picks each pair, a simulated observer
answers by the Thurstone model the scaling assumes, and at a growing number of answers the pooled counts
are scaled and, for each pair of interest, the 95 % interval of the difference is computed
(:func:`~mdfloss.study.scaling.difference_estimates`; ``study scale`` reports the same interval). A study
"finds" a pair when that interval excludes 0 on the true side. The answers needed for a ``power`` (95 %)
chance of that are read off the simulated ``z = estimate / standard error``: its mean grows like
``√answers``, and the chance is ``Φ((mean(z) − 1.96) / sd(z))``, interpolated between checkpoints in
``√answers``. Beyond ``max_answers`` the need is extrapolated by that ``√answers`` law (fitted over every
checkpoint), with a 95 % range from the simulations' uncertainty, and says so; a pair whose simulated
differences do not even point the true way gets no estimate ("unresolved").

Observers are assumed to agree with each other (no observer spread, no careless observers): the numbers
are a lower bound for a real crowd, before screening losses.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from mdfloss.common.errors import InvalidInputError
from mdfloss.study.sampling import SAMPLERS, make_sampler
from mdfloss.study.scaling import choice_probability, difference_estimates, difference_interval

Z_LEVEL = float(special.ndtri(0.975))  # the 95 % interval's half-width in standard errors
GROWTH = 1.25  # answers grow by this factor between checkpoints


@dataclass
class PairPlan:
    a: str
    b: str
    delta: float  # expected JOD difference a − b, mean over scenes
    answers: int | None = None  # None: no difference to find (delta 0), or ``unresolved``
    extrapolated: bool = False
    answers_range: tuple[int, int | None] | None = None  # extrapolated: 95 % range (None above: unbounded)
    unresolved: bool = False  # the simulated differences did not point the true way: no estimate
    curve: list[tuple[int, float]] = field(default_factory=list)  # (answers, chance the interval excludes 0)


@dataclass
class StudyPlan:
    conditions: list[str]
    scenes: int
    pairs: list[PairPlan]
    trials: int
    power: float
    simulations: int
    sampling: str
    max_answers: int

    def observers(self, pair: PairPlan) -> int | None:
        return None if pair.answers is None else math.ceil(pair.answers / self.trials)


def _check(truth: dict[str, np.ndarray], conditions: list[str], pairs: list[tuple[str, str]], trials: int,
           power: float, simulations: int, max_answers: int, sampling: str) -> None:
    if len(conditions) < 2 or len(set(conditions)) != len(conditions):
        raise InvalidInputError(f"conditions: expected 2 or more distinct names, got {conditions!r}")
    for scene, q in truth.items():
        if np.shape(q) != (len(conditions),) or not np.all(np.isfinite(q)):
            raise InvalidInputError(f"truth: scene {scene!r} needs one finite JOD per condition ({len(conditions)})")
    for a, b in pairs:
        if a not in conditions or b not in conditions or a == b:
            raise InvalidInputError(f"--pair: {a}:{b} must name two different conditions of {', '.join(conditions)}")
    for name, value, low in (("--trials", trials, 1), ("--simulations", simulations, 20),
                             ("--max-answers", max_answers, 20)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidInputError(f"{name}: expected a whole number >= {low}, got {value!r}")
    if not 0.5 <= power < 1:
        raise InvalidInputError(f"--power: expected a probability in [0.5, 1), got {power!r}")
    if sampling not in SAMPLERS:
        raise InvalidInputError(f"--sampler: expected one of {', '.join(SAMPLERS)}, got {sampling!r}")


def _crossing(points: list[tuple[int, float, float]], target: float, simulations: int
              ) -> tuple[int, bool, tuple[int, int | None] | None] | None:
    """Answers where ``(mean z − 1.96) / sd z`` reaches ``target``: interpolated between checkpoints, or
    extrapolated (True) with a 95 % range from the uncertainty of the simulated mean z."""
    prev_root, prev_g = 0.0, -Z_LEVEL  # no answers: z = 0
    for n, mean, sd in points:
        g = (mean - Z_LEVEL) / sd
        if g >= target:
            root = prev_root + (target - prev_g) * (math.sqrt(n) - prev_root) / (g - prev_g)
            return max(1, math.ceil(root * root)), False, None
        prev_root, prev_g = math.sqrt(n), g
    # Not reached: mean z = c·√answers, fitted through the origin over every checkpoint (one is too noisy).
    counts = np.array([p[0] for p in points], dtype=float)
    c = float(np.sum(np.array([p[1] for p in points]) * np.sqrt(counts)) / np.sum(counts))
    if c <= 0:
        return None
    sd = float(np.mean([p[2] for p in points]))

    def need(slope: float) -> int:
        return math.ceil(((Z_LEVEL + target * sd) / slope) ** 2)

    c_se = points[-1][2] / math.sqrt(simulations) / math.sqrt(points[-1][0])  # of the last, best-informed checkpoint
    low = need(c + 2 * c_se)
    high = need(c - 2 * c_se) if c > 2 * c_se else None  # None: the data allow no difference at all
    return need(c), True, (low, high)


def plan_study(truth: dict[str, np.ndarray], conditions: list[str], pairs: list[tuple[str, str]] | None = None, *,
               trials: int = 30, power: float = 0.95, simulations: int = 100, max_answers: int = 5000,
               sampling: str = "active", seed: int = 0,
               progress: Callable[[str], None] | None = None) -> StudyPlan:
    """Answers (and observers at ``trials`` each) for each pair's interval to exclude 0 with chance ``power``.

    Example:
        >>> plan = plan_study({"s": np.array([1.0, 0.0])}, ["a", "b"], simulations=40, max_answers=400)
        >>> 20 < plan.pairs[0].answers < 200
        True
    """
    pairs = list(pairs) if pairs else list(itertools.combinations(conditions, 2))
    truth = {s: np.asarray(q, dtype=float) for s, q in truth.items()}
    _check(truth, conditions, pairs, trials, power, simulations, max_answers, sampling)
    scenes = list(truth)
    index = {c: i for i, c in enumerate(conditions)}
    plans = [PairPlan(a, b, float(np.mean([q[index[a]] - q[index[b]] for q in truth.values()]))) for a, b in pairs]
    target = float(special.ndtri(power))
    seeds = np.random.SeedSequence(seed).spawn(simulations)
    rngs = [np.random.default_rng(s) for s in seeds]
    samplers = [make_sampler(sampling, scenes, conditions, rng) for rng in rngs]
    counts = np.zeros((simulations, len(conditions), len(conditions)))
    points: dict[int, list[tuple[int, float, float]]] = {k: [] for k in range(len(plans))}
    answered, checkpoint = 0, 20
    while True:
        for k in range(simulations):  # every simulated study up to the checkpoint
            sampler, rng, D = samplers[k], rngs[k], counts[k]
            for _ in range(checkpoint - answered):
                scene, i, j = sampler.next_pair()
                i_wins = bool(rng.random() < choice_probability(truth[scene][i], truth[scene][j]))
                sampler.record(scene, i, j, i_wins)
                D[(i, j) if i_wins else (j, i)] += 1
        answered = checkpoint
        done = True
        live = [k for k, plan in enumerate(plans) if plan.delta != 0]
        pairs_of_interest = [(index[plans[k].a], index[plans[k].b]) for k in live]
        estimates = [difference_estimates(D, pairs_of_interest) for D in counts]  # one scaling per study
        for n, k in enumerate(live):
            plan, side = plans[k], np.sign(plans[k].delta)
            z = [side * est / se if np.isfinite(se) and se > 0 else 0.0 for est, se in (e[n] for e in estimates)]
            mean, sd = float(np.mean(z)), max(float(np.std(z, ddof=1)), 1e-6)
            points[k].append((answered, mean, sd))
            plan.curve.append((answered, float(special.ndtr((mean - Z_LEVEL) / sd))))
            done &= (mean - Z_LEVEL) / sd >= target + 0.5  # well past the target: the crossing is bracketed
        if progress:
            progress(f"{answered} answers: " + ", ".join(f"{p.a}:{p.b} {p.curve[-1][1]:.0%}" for p in plans if p.curve))
        if done or answered >= max_answers:
            break
        checkpoint = min(max_answers, max(answered + 1, int(answered * GROWTH)))
    for k, plan in enumerate(plans):
        found = _crossing(points[k], target, simulations) if points[k] else None
        if found:
            plan.answers, plan.extrapolated, plan.answers_range = found
        elif points[k]:
            plan.unresolved = True
    return StudyPlan(conditions, len(scenes), plans, trials, power, simulations, sampling, max_answers)


def simulated_power(truth: dict[str, np.ndarray], conditions: list[str], pair: tuple[str, str], answers: int, *,
                    simulations: int = 200, sampling: str = "active", seed: int = 1000) -> float:
    """Direct check: the fraction of ``simulations`` studies of ``answers`` answers (``study simulate``'s
    simulation) whose interval for ``pair`` excludes 0 on the true side."""
    from mdfloss.study.answers import counts
    from mdfloss.study.simulate import simulate

    i, j = conditions.index(pair[0]), conditions.index(pair[1])
    delta = np.mean([q[i] - q[j] for q in truth.values()])
    names = [f"c{k}" for k in range(len(conditions))]  # simulate()'s names for the conditions, in order
    hits = 0
    for s in range(simulations):
        sim = simulate(len(conditions), len(truth), 1, answers, sampling=sampling, seed=seed + s, every=answers + 1,
                       truth=truth)
        _, low, high = difference_interval(counts(sim.answers, names), i, j)
        hits += bool(low > 0) if delta > 0 else bool(high < 0)
    return hits / simulations
