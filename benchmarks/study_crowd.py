"""A simulated crowd: good observers who follow the Thurstone model, and careless ones, with the study's
catch and identical trials, to measure what the screening buys (``benchmarks/bench_study.py``).

Every trial's sides are random, as the server's are. Good observers choose by the model, get a catch
trial wrong with probability ``lapse``, split identical pairs evenly and take about 2.5 s per answer;
careless ones answer at random (``"random"``) or always take the left image (``"left"``), at the same
speed, so nothing but their answers gives them away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mdfloss.common.errors import InvalidInputError
from mdfloss.study.answers import CATCH_DEGRADED, CATCH_REFERENCE, Answer
from mdfloss.study.sampling import make_sampler
from mdfloss.study.scaling import choice_probability
from mdfloss.study.simulate import true_scores

CARELESS_KINDS = ("random", "left")


@dataclass(frozen=True)
class CrowdResult:
    answers: list[Answer]
    truth: dict[str, np.ndarray]
    conditions: list[str]
    careless: dict[str, str]  # observer → "random" | "left"


def simulate_crowd(n_conditions: int = 6, n_scenes: int = 4, n_observers: int = 30, pairs: int = 40, *,
                   catch: int = 8, identical: int = 8, careless: float = 0.2, spread: float = 3.0,
                   lapse: float = 0.02, sampling: str = "active", seed: int = 0) -> CrowdResult:
    """Simulate one study; ``careless`` of the observers (rounded) are careless, half of each kind."""
    if not 0 <= careless <= 1:
        raise InvalidInputError(f"careless: expected a fraction in [0, 1], got {careless!r}")
    rng = np.random.default_rng(seed)
    conditions = [f"c{i}" for i in range(n_conditions)]
    scenes = [f"s{i}" for i in range(n_scenes)]
    truth = {s: true_scores(n_conditions, spread, rng) for s in scenes}
    sampler = make_sampler(sampling, scenes, conditions, rng)
    n_careless = int(round(careless * n_observers))
    picked = rng.choice(n_observers, n_careless, replace=False)
    who = {f"obs{k}": CARELESS_KINDS[n % 2] for n, k in enumerate(picked)}
    answers: list[Answer] = []
    for k in range(n_observers):
        observer = f"obs{k}"
        style = who.get(observer)
        kinds = rng.permutation(["pair"] * pairs + ["catch"] * catch + ["identical"] * identical)
        for kind in kinds:
            scene = scenes[rng.integers(n_scenes)]
            if kind == "pair":
                scene, i, j = sampler.next_pair()
                left, right = (i, j) if rng.random() < 0.5 else (j, i)
                p_left = choice_probability(truth[scene][left], truth[scene][right])
                names = conditions[left], conditions[right]
            elif kind == "catch":
                ref_left = rng.random() < 0.5
                names = (CATCH_REFERENCE, CATCH_DEGRADED) if ref_left else (CATCH_DEGRADED, CATCH_REFERENCE)
                p_left = 1 - lapse if ref_left else lapse
            else:
                c = conditions[rng.integers(n_conditions)]
                names, p_left = (c, c), 0.5
            if style == "random":
                p_left = 0.5
            elif style == "left":
                p_left = 1.0
            chose_left = bool(rng.random() < p_left)
            if kind == "pair":
                sampler.record(scene, left, right, chose_left)
            ms = float(rng.lognormal(np.log(2500), 0.4))
            answers.append(Answer(observer, "1", scene, names[0], names[1], chose_left, "", ms, str(kind)))
    return CrowdResult(answers, truth, conditions, who)
