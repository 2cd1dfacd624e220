"""JOD scaling against pwcmp's own pw_scale outputs (../shared/reference/pwcmp), and its statistics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import optimize

from mdfloss.common.errors import InvalidInputError
from mdfloss.study.analysis import POOLED, scale_study
from mdfloss.study.answers import Answer, conditions_of, counts, read_answers_csv
from mdfloss.study.scaling import _Objective, choice_probability, link_components, pw_scale

from .conftest import REFERENCE, need

PWCMP = REFERENCE / "pwcmp"


def _cases():
    path = PWCMP / "pwcmp_reference.json"
    return json.loads(path.read_text()) if path.is_file() else {}


@pytest.mark.parametrize("case", sorted(_cases()) or ["missing"])
def test_pw_scale_matches_pwcmp(case):
    ref = json.loads(need(PWCMP / "pwcmp_reference.json").read_text())[case]
    D = np.array(ref["D"], dtype=float)
    # The issue asks for 0.01 JOD; the optimum is found to ~1e-5, so hold it to 1e-3.
    np.testing.assert_allclose(pw_scale(D), ref["Q_default"], atol=1e-3)
    if ref["Q_prior_none"] is not None:
        np.testing.assert_allclose(pw_scale(D, prior="none"), ref["Q_prior_none"], atol=1e-3)


def test_ex3_table_gives_pwcmps_count_matrices():
    # Reading pwcmp's own table format must give exactly the D matrices pw_scale was run on.
    answers = read_answers_csv(need(PWCMP / "ex3_tmo_cmp_data.csv"))
    ref = json.loads((PWCMP / "pwcmp_reference.json").read_text())
    conditions = ref["tmo/(all scenes)"]["conditions"]
    assert conditions_of(answers) == conditions and len(answers) == 1213
    np.testing.assert_array_equal(counts(answers, conditions), ref["tmo/(all scenes)"]["D"])
    for scene in ("corridor", "exhibition", "rivoli", "students", "window"):
        group = [a for a in answers if a.scene == scene]
        np.testing.assert_array_equal(counts(group, conditions), ref[f"tmo/{scene}"]["D"])


def test_scale_study_rows_match_pwcmp_per_scene_and_pooled():
    answers = read_answers_csv(need(PWCMP / "ex3_tmo_cmp_data.csv"))
    ref = json.loads((PWCMP / "pwcmp_reference.json").read_text())
    result = scale_study(answers, bootstrap=0, outliers=False)
    for row in result.rows:
        key = "tmo/(all scenes)" if row.scene == POOLED else f"tmo/{row.scene}"
        expected = ref[key]["Q_default"][ref[key]["conditions"].index(row.condition)]
        assert row.jod == pytest.approx(expected, abs=1e-3)
        assert row.jod_low == row.jod == row.jod_high  # --bootstrap 0: the interval is the score
    assert len(result.rows) == 6 * 7


def test_gradient_is_the_objectives_derivative():
    ref = json.loads(need(PWCMP / "pwcmp_reference.json").read_text())["synthetic/full_seed1"]
    D = np.array(ref["D"], dtype=float)
    unanimous = ((D + D.T) > 0) & ~((D > 0) & (D.T > 0))
    for prior in ("gaussian", "none"):
        f = _Objective(D, unanimous, prior, "mean0")
        x = np.random.default_rng(0).normal(size=6)
        err = optimize.check_grad(lambda v: f(v)[0], lambda v: f(v)[1], x)
        assert err < 1e-5 * max(1.0, np.linalg.norm(f(x)[1]))


def test_fix0_is_mean0_shifted_to_the_first_condition():
    D = np.array(json.loads(need(PWCMP / "pwcmp_reference.json").read_text())["tmo/window"]["D"], dtype=float)
    q0, q = pw_scale(D, regularization="fix0"), pw_scale(D)
    assert q0[0] == 0.0
    np.testing.assert_allclose(q0, q - q[0], atol=1e-5)


def test_disconnected_groups_are_linked_by_their_best_conditions():
    D = np.array([[0, 8, 0, 0], [2, 0, 0, 0], [0, 0, 0, 6], [0, 0, 4, 0]], dtype=float)
    linked, groups = link_components(D)
    assert groups == 2 and linked[0, 2] == linked[2, 0] == 1 and linked[0, 3] == 0
    q = pw_scale(D)
    assert q[0] == pytest.approx(q[2], abs=1e-5)  # the two best are tied, as pw_scale makes them


def test_scaling_recovers_known_scores_from_many_answers():
    rng = np.random.default_rng(3)
    truth = np.array([-1.5, -0.5, 0.0, 0.7, 1.3])
    D = np.zeros((5, 5))
    for i in range(5):
        for j in range(i + 1, 5):
            wins = rng.binomial(400, choice_probability(truth[i], truth[j]))
            D[i, j], D[j, i] = wins, 400 - wins
    np.testing.assert_allclose(pw_scale(D, prior="none"), truth - truth.mean(), atol=0.12)


@pytest.mark.parametrize("bad,fragment", [
    (np.zeros((1, 1)), "N >= 2"), (np.zeros((2, 3)), "square"), (np.array([[0, -1], [1, 0]]), "non-negative"),
    (np.array([[0, 0.5], [1, 0]]), "whole numbers"), (np.array([[0, np.nan], [1, 0]]), "whole numbers")])
def test_bad_count_matrices_are_refused(bad, fragment):
    with pytest.raises(InvalidInputError, match=fragment):
        pw_scale(bad)
    with pytest.raises(InvalidInputError, match="prior"):
        pw_scale(np.ones((2, 2)), prior="bounded")


def _answers_from(truth: dict[str, float], observers: int, per_pair: int, rng, flip: set[str] = frozenset()):
    names = list(truth)
    out = []
    for o in range(observers):
        obs = f"o{o}"
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                for _ in range(per_pair):
                    pick_a = rng.random() < choice_probability(truth[a], truth[b])
                    out.append(Answer(obs, "1", "s", a, b, pick_a != (obs in flip)))
    return out


def test_bootstrap_interval_contains_the_score_and_shrinks_with_observers():
    rng = np.random.default_rng(0)
    truth = {"a": 1.0, "b": 0.0, "c": -1.0}
    few = scale_study(_answers_from(truth, 4, 3, rng), bootstrap=200, outliers=False)
    many = scale_study(_answers_from(truth, 32, 3, rng), bootstrap=200, outliers=False)
    for result in (few, many):
        for r in result.rows:
            assert r.jod_low <= r.jod <= r.jod_high and r.jod_high > r.jod_low
    width = lambda res: np.mean([r.jod_high - r.jod_low for r in res.rows if r.scene == POOLED])  # noqa: E731
    assert width(many) < width(few) / 1.5  # 8× the observers: about √8 ≈ 2.8× narrower


def test_outlier_analysis_flags_an_observer_who_answers_backwards():
    rng = np.random.default_rng(1)
    truth = {"a": 1.5, "b": 0.5, "c": -0.5, "d": -1.5}
    answers = _answers_from(truth, 12, 2, rng, flip={"o5"})
    fits = {f.observer: f for f in scale_study(answers, bootstrap=0).observers}
    assert fits["o5"].outlier and fits["o5"].dist_l > 1
    assert sum(f.outlier for f in fits.values()) == 1


def test_scale_refuses_a_scene_named_all_and_no_answers():
    with pytest.raises(InvalidInputError, match="pooled"):
        scale_study([Answer("o", "1", "all", "a", "b", True)], bootstrap=0)
    with pytest.raises(InvalidInputError, match="no answers"):
        scale_study([], bootstrap=0)
    with pytest.raises(InvalidInputError, match="bootstrap"):
        scale_study([Answer("o", "1", "s", "a", "b", True)], bootstrap=-1)
