"""Simulated observers: answers drawn from known JOD scores, to check sampling and scaling.

A simulated observer prefers condition ``i`` over ``j`` with probability ``Φ((q_i − q_j) / 1.4826)``,
the model the scaling assumes, so the scaling should recover ``q`` (up to its offset) as answers grow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mdfloss.common.errors import InvalidInputError
from mdfloss.study.answers import Answer, counts
from mdfloss.study.sampling import SAMPLERS, make_sampler
from mdfloss.study.scaling import choice_probability, pw_scale


@dataclass(frozen=True)
class SimulationResult:
    answers: list[Answer]
    truth: dict[str, np.ndarray]  # scene → true scores (mean 0)
    checkpoints: list[tuple[int, float]]  # (answers so far, RMSE of the scaled scores in JOD)


def true_scores(n_conditions: int, spread: float, rng: np.random.Generator) -> np.ndarray:
    q = rng.uniform(-spread / 2, spread / 2, n_conditions)
    return q - q.mean()


def rmse_to_truth(answers: list[Answer], truth: dict[str, np.ndarray], conditions: list[str]) -> float:
    """RMSE in JOD of per-scene scaled scores against the truth (both mean 0), over all scenes."""
    errors = []
    for scene, q_true in truth.items():
        q = pw_scale(counts([a for a in answers if a.scene == scene], conditions))
        errors.append((q - q.mean()) - q_true)
    return float(np.sqrt(np.mean(np.square(errors))))


def simulate(n_conditions: int = 6, n_scenes: int = 2, n_observers: int = 10, answers_per_observer: int = 30, *,
             sampling: str = "active", spread: float = 3.0, seed: int = 0, every: int = 50,
             progress: Callable[[str], None] | None = None,
             truth: dict[str, np.ndarray] | None = None) -> SimulationResult:
    """Simulate a study: each observer answers in turn the pairs the sampler serves them.

    ``sampling``: a strategy of :data:`~mdfloss.study.sampling.SAMPLERS`: ``"active"`` (the study's
    default) or ``"random"`` (uniform pairs, for comparison).
    ``truth``: the true JODs per scene (``n_scenes`` arrays of ``n_conditions``); default: drawn uniformly
    over ``spread``. Every ``every`` answers the RMSE of the scaled scores to the truth is recorded.
    """
    for name, value, low in (("conditions", n_conditions, 2), ("scenes", n_scenes, 1), ("observers", n_observers, 1),
                             ("answers-per-observer", answers_per_observer, 1), ("every", every, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidInputError(f"{name}: expected a whole number >= {low}, got {value!r}")
    if sampling not in SAMPLERS:
        raise InvalidInputError(f"sampling: expected one of {', '.join(SAMPLERS)}, got {sampling!r}")
    if not (np.isfinite(spread) and spread > 0):
        raise InvalidInputError(f"spread: expected a positive number of JOD, got {spread!r}")
    rng = np.random.default_rng(seed)
    conditions = [f"c{i}" for i in range(n_conditions)]
    scenes = [f"s{i}" for i in range(n_scenes)]
    if truth is None:
        truth = {s: true_scores(n_conditions, spread, rng) for s in scenes}
    else:
        values = [np.asarray(q, dtype=float) for q in truth.values()]
        if len(values) != n_scenes or any(q.shape != (n_conditions,) or not np.all(np.isfinite(q)) for q in values):
            raise InvalidInputError(f"truth: expected {n_scenes} scene(s) of {n_conditions} finite JODs each")
        truth = {s: q - q.mean() for s, q in zip(scenes, values)}
    sampler = make_sampler(sampling, scenes, conditions, rng)
    answers: list[Answer] = []
    checkpoints = []
    for obs in range(n_observers):
        for _ in range(answers_per_observer):
            scene, a, b = sampler.next_pair()
            q = truth[scene]
            a_selected = bool(rng.random() < choice_probability(q[a], q[b]))
            sampler.record(scene, a, b, a_selected)
            answers.append(Answer(f"sim{obs}", "1", scene, conditions[a], conditions[b], a_selected))
            if len(answers) % every == 0:
                checkpoints.append((len(answers), rmse_to_truth(answers, truth, conditions)))
                if progress:
                    progress(f"{len(answers)} answers: RMSE {checkpoints[-1][1]:.3f} JOD")
    return SimulationResult(answers, truth, checkpoints)
