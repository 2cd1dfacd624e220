"""Statistics of the benchmark: paired differences over images and seeds, and winners.

Every comparison is *paired*: two losses are compared image by image (matched by image
name) and seed by seed (fine-tune seed ``s`` of both losses saw the same patches), so the
large image-to-image spread cancels out.

With ``S`` seeds and ``n`` images, ``d[s][i]`` is the difference of the two losses on
image ``i`` after seed ``s``. The mean difference is the mean of all ``d``; its variance is
estimated as

    var(mean_s d[s][i] over i) / n  +  var(mean_i d[s][i] over s) / S

(image sampling of the seed-averaged differences plus seed-to-seed variation of the set
means). This slightly overstates the variance, by the residual term counted twice, so the
interval is conservative. The 95 % interval uses Student's t with Welch-Satterthwaite
degrees of freedom; with one seed it is the usual paired t interval over images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

from mdfloss.common.errors import InvalidInputError
from mdfloss.common.extras import require

#: Values of one loss: per seed, per image name.
SeedRuns = Sequence[Mapping[str, float]]


def t_quantile(df: float, level: float = 0.95) -> float:
    """Two-sided ``level`` quantile of Student's t with ``df`` degrees of freedom."""
    t = require("scipy.stats", "metrics", "the benchmark's statistics").t

    if not df > 0:
        raise InvalidInputError(f"df: expected a positive number of degrees of freedom, got {df!r}")
    return float(t.ppf(0.5 + level / 2, df))


@dataclass(frozen=True)
class Interval:
    """A mean with the half-width of its 95 % confidence interval (``nan`` when not estimable)."""

    mean: float
    half: float
    df: float = math.nan

    @property
    def significant(self) -> bool:
        """The interval excludes 0."""
        return not math.isnan(self.half) and abs(self.mean) > self.half

    def __str__(self) -> str:
        return f"{self.mean:+.4f} ± {self.half:.4f}"


def _var(xs: Sequence[float]) -> float:
    m = sum(xs) / len(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def _matched(a: Mapping[str, float], b: Mapping[str, float], what: str) -> list[str]:
    if set(a) != set(b):
        only = sorted(set(a) ^ set(b))[:3]
        raise InvalidInputError(f"{what}: the two sides cover different images (e.g. {only}); pair the same images")
    if not a:
        raise InvalidInputError(f"{what}: no images to compare")
    return sorted(a)


def paired_difference(a: Mapping[str, float] | Sequence[float], b: Mapping[str, float] | Sequence[float]) -> Interval:
    """Mean of ``a - b`` over paired images with its 95 % interval.

    ``a`` and ``b`` are dicts keyed by image name (matched by name) or sequences of equal length.
    """
    if isinstance(a, Mapping) != isinstance(b, Mapping):
        raise InvalidInputError("paired_difference: give two dicts keyed by image name, or two lists")
    if not isinstance(a, Mapping):
        if len(a) != len(b):
            raise InvalidInputError(f"paired_difference: {len(a)} values against {len(b)}; pair the same images")
        return seeded_difference([{str(i): float(v) for i, v in enumerate(a)}],
                                 [{str(i): float(v) for i, v in enumerate(b)}])  # type: ignore[arg-type]
    return seeded_difference([a], [b])  # type: ignore[list-item]  # both are mappings here


def seeded_difference(a: SeedRuns, b: SeedRuns) -> Interval:
    """Mean of ``a - b`` over seeds (paired by index) and images (paired by name), with its 95 % interval."""
    if len(a) != len(b) or not a:
        raise InvalidInputError(f"seeds: {len(a)} runs against {len(b)}; compare losses run with the same seeds")
    names = _matched(a[0], b[0], "images")
    for sa, sb in zip(a[1:], b[1:]):
        _matched(sa, sb, "images")
        if set(sa) != set(names):
            raise InvalidInputError("images: the seeds of a loss cover different images")
    S, n = len(a), len(names)
    d = [[float(sa[k]) - float(sb[k]) for k in names] for sa, sb in zip(a, b)]
    mean = sum(map(sum, d)) / (S * n)
    per_image = [sum(d[s][i] for s in range(S)) / S for i in range(n)]
    per_seed = [sum(row) / n for row in d]
    v_img = _var(per_image) / n if n > 1 else math.nan
    v_seed = _var(per_seed) / S if S > 1 else 0.0
    if math.isnan(v_img):
        return Interval(mean, math.nan)
    total = v_img + v_seed
    if total == 0:
        return Interval(mean, 0.0, float(n - 1))
    denom = v_img ** 2 / (n - 1) + (v_seed ** 2 / (S - 1) if S > 1 else 0.0)
    df = total ** 2 / denom
    return Interval(mean, t_quantile(df) * math.sqrt(total), df)


def seed_interval(set_means: Sequence[float]) -> Interval:
    """Mean of a loss's set means over seeds, with the 95 % interval of the seed-to-seed spread."""
    if not set_means:
        raise InvalidInputError("seeds: no runs")
    m = sum(set_means) / len(set_means)
    if len(set_means) < 2:
        return Interval(m, math.nan)
    return Interval(m, t_quantile(len(set_means) - 1) * math.sqrt(_var(set_means) / len(set_means)),
                    float(len(set_means) - 1))


def mean_over(runs: SeedRuns) -> float:
    """Mean over seeds of the set mean."""
    return sum(sum(r.values()) / len(r) for r in runs) / len(runs)


@dataclass(frozen=True)
class Verdict:
    """Who is first on a metric, and whether the gap to the runner-up is significant."""

    best: str
    runner_up: str | None
    gap: Interval | None  # best - runner_up, signed so that a positive gap favours ``best``

    @property
    def winner(self) -> str | None:
        return self.best if self.gap is not None and self.gap.significant and self.gap.mean > 0 else None


def rank(runs: Mapping[str, SeedRuns], higher_is_better: bool) -> list[str]:
    """Loss names, best first, by the mean over seeds and images."""
    return sorted(runs, key=lambda k: mean_over(runs[k]), reverse=higher_is_better)


def verdict(runs: Mapping[str, SeedRuns], higher_is_better: bool) -> Verdict:
    """The best loss, named winner only where its interval against the runner-up excludes 0."""
    order = rank(runs, higher_is_better)
    if len(order) < 2:
        return Verdict(order[0], None, None)
    d = seeded_difference(runs[order[0]], runs[order[1]])
    sign = 1.0 if higher_is_better else -1.0
    return Verdict(order[0], order[1], Interval(sign * d.mean, d.half, d.df))
