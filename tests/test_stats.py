"""The benchmark's statistics against scipy, and the report's ranking in both metric directions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from mdfloss import InvalidInputError
from mdfloss.restoration.stats import (
    paired_difference,
    rank,
    seed_interval,
    seeded_difference,
    t_quantile,
    verdict,
)


@pytest.mark.parametrize("df,expected", [(4, 2.7764451), (11, 2.2009852), (17, 2.1098155), (67, 1.9960083),
                                         (99, 1.9842169)])
def test_t_quantiles(df, expected):
    # Expected values: Student's t two-sided 95 % quantiles as printed in standard tables
    # (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2); 67 = CBSD68's degrees of freedom,
    # where the old hand-written table used the normal's 1.96.
    assert t_quantile(df) == pytest.approx(expected, abs=1e-6)
    assert t_quantile(df) == pytest.approx(sps.t.ppf(0.975, df), rel=1e-12)


def test_paired_difference_equals_scipys_paired_t_interval():
    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 1.0, 68), rng.normal(0.8, 1.0, 68)
    names = [f"img{i:03d}" for i in range(68)]
    got = paired_difference(dict(zip(names, a)), dict(zip(names, b)))
    d = a - b
    lo, hi = sps.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=sps.sem(d))
    assert got.mean == pytest.approx(d.mean(), rel=1e-12)
    assert got.half == pytest.approx((hi - lo) / 2, rel=1e-9)
    assert got.df == pytest.approx(67)


def test_pairs_are_matched_by_image_name_not_order():
    a = {"x": 1.0, "y": 2.0, "z": 4.0}
    b_shuffled = {"z": 3.0, "x": 1.0, "y": 1.0}
    got = paired_difference(a, b_shuffled)
    # By name the differences are 0, 1, 1; by position they would be -2, 1, 3. The mean is the
    # same either way, so the interval is what tells the pairing.
    d = np.array([0.0, 1.0, 1.0])
    assert got.mean == pytest.approx(d.mean())
    assert got.half == pytest.approx(sps.t.ppf(0.975, 2) * sps.sem(d), rel=1e-9)


@pytest.mark.parametrize("a,b,match", [
    ([1.0, 2.0, 3.0], [1.0, 2.0], r"3 values against 2"),
    ({"x": 1.0, "y": 2.0}, {"x": 1.0, "w": 2.0}, r"different images"),
    ({"x": 1.0}, [1.0], r"two dicts keyed by image name, or two lists"),
    ({}, {}, r"no images"),
])
def test_unpaired_inputs_raise(a, b, match):
    with pytest.raises(InvalidInputError, match=match):
        paired_difference(a, b)


def test_seeded_difference_adds_the_seed_to_seed_spread():
    rng = np.random.default_rng(0)
    names = [f"i{k}" for k in range(30)]
    base = rng.normal(30, 2, 30)  # image difficulty, shared by both losses
    # Loss A: +0.1 dB on average, but each seed's set mean moves by a seed offset.
    offsets = [0.3, -0.2, 0.05]
    a = [dict(zip(names, base + 0.1 + o + rng.normal(0, 0.01, 30))) for o in offsets]
    b = [dict(zip(names, base + rng.normal(0, 0.01, 30))) for _ in offsets]
    with_seeds = seeded_difference(a, b)
    first_seed_only = seeded_difference(a[:1], b[:1])
    assert with_seeds.mean == pytest.approx(0.1 + np.mean(offsets), abs=0.01)
    # Image noise alone gives a tight interval; the seed spread widens it to cover the offsets.
    assert first_seed_only.half < 0.01 < with_seeds.half
    per_seed = [np.mean([a[s][n] - b[s][n] for n in names]) for s in range(3)]
    v_img = np.var([np.mean([a[s][n] - b[s][n] for s in range(3)]) for n in names], ddof=1) / 30
    v_seed = np.var(per_seed, ddof=1) / 3
    df = (v_img + v_seed) ** 2 / (v_img ** 2 / 29 + v_seed ** 2 / 2)
    assert with_seeds.half == pytest.approx(sps.t.ppf(0.975, df) * math.sqrt(v_img + v_seed), rel=1e-9)
    with pytest.raises(InvalidInputError, match=r"3 runs against 2"):
        seeded_difference(a, b[:2])


def test_seed_interval_is_the_t_interval_of_the_set_means():
    means = [8.10, 8.14, 8.09]
    iv = seed_interval(means)
    lo, hi = sps.t.interval(0.95, 2, loc=np.mean(means), scale=sps.sem(means))
    assert iv.mean == pytest.approx(np.mean(means)) and iv.half == pytest.approx((hi - lo) / 2, rel=1e-9)
    assert math.isnan(seed_interval([8.1]).half)


def _runs(values: dict[str, list[float]]) -> dict[str, list[dict[str, float]]]:
    return {k: [{f"i{j}": v for j, v in enumerate(vals)}] for k, vals in values.items()}


def test_ranking_and_winner_for_a_higher_is_better_metric():
    runs = _runs({"l1": [30.0, 31.0, 29.0, 30.5], "l2": [30.2, 31.3, 29.1, 30.6], "mdf": [29.0, 30.0, 28.5, 29.9]})
    assert rank(runs, higher_is_better=True) == ["l2", "l1", "mdf"]
    v = verdict(runs, higher_is_better=True)
    assert (v.best, v.runner_up) == ("l2", "l1") and v.gap.mean > 0
    assert v.winner == "l2"  # +0.1 to +0.3 on every image: the interval excludes 0


def test_ranking_and_no_winner_for_a_lower_is_better_metric():
    # FLIP: lower is better. 'mdf' is lowest on average but not on every image.
    runs = _runs({"l1": [0.20, 0.30, 0.25, 0.22], "l2": [0.19, 0.29, 0.26, 0.21], "mdf": [0.15, 0.35, 0.20, 0.24]})
    assert rank(runs, higher_is_better=False) == ["mdf", "l2", "l1"]
    v = verdict(runs, higher_is_better=False)
    assert (v.best, v.runner_up) == ("mdf", "l2") and v.gap.mean > 0  # signed to favour the best
    assert v.winner is None and not v.gap.significant


def test_a_clear_lower_is_better_winner_is_named():
    runs = _runs({"l1": [0.20, 0.30, 0.25, 0.22], "mdf": [0.18, 0.27, 0.23, 0.20]})
    assert verdict(runs, higher_is_better=False).winner == "mdf"
    assert verdict(runs, higher_is_better=True).winner == "l1"  # the same numbers read the other way
