"""Screening observers with the study's catch and identical trials, their speed and their side bias.

Practice trials are ignored. An observer fails, with each reason listed in ``observers.csv``, when:

* **catch**: fewer than ``catch_min`` (80 %) of their catch trials pick the reference over its strongly
  degraded copy. With 6 catch trials a random clicker passes 11 % of the time, with 10 trials 5.5 %;
* **identical**: their answers on identical pairs lean to one side more than chance allows (two-sided
  binomial test, p < 0.01). Needs 8 or more identical trials to fail anyone;
* **side**: all their trials (pairs, catch and identical) lean to one side beyond chance (two-sided
  binomial test, p < 0.001): the straight-lining of P.910's crowdsourcing checks. 25 of 30 on one side fail;
* **fast**: the median response time is under ``min_ms`` (300 ms), too quick to have looked at both images.

The side checks rely on condition A being the left image, which holds for answers served by
``mdfloss study serve`` (and exported by it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from mdfloss.common.errors import InvalidInputError
from mdfloss.study.answers import CATCH_REFERENCE, Answer

CATCH_MIN = 0.8
IDENTICAL_P = 0.01
SIDE_P = 0.001
MIN_MS = 300.0


@dataclass(frozen=True)
class ObserverScreen:
    observer: str
    pairs: int  # real pairs answered
    catch_correct: int
    catch_total: int
    identical_left: int
    identical_total: int
    left: int  # trials (practice aside) answered with the left image
    trials: int
    median_ms: float | None
    reasons: tuple[str, ...]

    @property
    def failed(self) -> bool:
        return bool(self.reasons)


def has_screening_trials(answers: list[Answer]) -> bool:
    return any(a.kind in ("catch", "identical") for a in answers)


def _two_sided_p(k: int, n: int) -> float:
    return float(stats.binomtest(k, n, 0.5).pvalue) if n else 1.0


def screen_observer(observer: str, answers: list[Answer], *, catch_min: float = CATCH_MIN,
                    min_ms: float = MIN_MS) -> ObserverScreen:
    """One observer's screening from their answers (any kinds; practice trials are ignored)."""
    trials = [a for a in answers if a.kind != "practice"]
    catch = [a for a in trials if a.kind == "catch"]
    identical = [a for a in trials if a.kind == "identical"]
    correct = sum(a.winner == CATCH_REFERENCE for a in catch)
    ident_left = sum(a.a_selected for a in identical)
    left = sum(a.a_selected for a in trials)
    times = [a.response_ms for a in trials if a.response_ms is not None]
    median = float(np.median(times)) if times else None
    reasons = []
    if catch and correct < catch_min * len(catch):
        reasons.append(f"catch: {correct} of {len(catch)} right (needs {catch_min:.0%})")
    if identical and _two_sided_p(ident_left, len(identical)) < IDENTICAL_P:
        reasons.append(f"identical: {ident_left} of {len(identical)} on the left (p < {IDENTICAL_P:g})")
    if trials and _two_sided_p(left, len(trials)) < SIDE_P:
        reasons.append(f"side: {left} of {len(trials)} on the left (p < {SIDE_P:g})")
    if median is not None and median < min_ms:
        reasons.append(f"fast: median {median:.0f} ms (needs {min_ms:.0f} ms)")
    return ObserverScreen(observer, sum(a.kind == "pair" for a in trials), correct, len(catch), ident_left,
                          len(identical), left, len(trials), median, tuple(reasons))


def screen_observers(answers: list[Answer], *, catch_min: float = CATCH_MIN,
                     min_ms: float = MIN_MS) -> list[ObserverScreen]:
    """Every observer's screening, in the order they first answered."""
    if not 0 < catch_min <= 1:
        raise InvalidInputError(f"--catch-min: expected a fraction in (0, 1], got {catch_min!r}")
    if not (np.isfinite(min_ms) and min_ms >= 0):
        raise InvalidInputError(f"--min-ms: expected a time in milliseconds >= 0, got {min_ms!r}")
    groups: dict[str, list[Answer]] = {}
    for a in answers:
        groups.setdefault(a.observer, []).append(a)
    return [screen_observer(o, group, catch_min=catch_min, min_ms=min_ms) for o, group in groups.items()]
