"""Folder scoring, the study's screening, completion codes and plan, and the progress lines: each option's effect
on what the user gets, each documented range at both ends and just outside, typed and planned values normalised
and rounded the safe way."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from mdfloss.common.errors import InvalidInputError
from mdfloss.common.progress import LineProgress, WorkClock
from mdfloss.study.answers import CATCH_DEGRADED, CATCH_REFERENCE, Answer
from mdfloss.study.codes import completion_code, normalise_code, trial_order
from mdfloss.study.screening import screen_observer, screen_observers

pytest.importorskip("scipy")


def _folders(tmp_path, ring: int, shifts: dict[str, tuple[int, int]]):
    """A reference folder and restored folders: each restored image is the reference plus ``inner`` inside and
    ``outer`` in a ring of ``ring`` px at the border (8-bit values)."""
    ref = np.random.default_rng(0).integers(60, 180, (3, 24, 28, 3), dtype=np.int16)
    (tmp_path / "ref").mkdir()
    for k in range(3):
        Image.fromarray(ref[k].astype(np.uint8)).save(tmp_path / "ref" / f"im{k}.png")
    for name, (inner, outer) in shifts.items():
        (tmp_path / name).mkdir()
        for k in range(3):
            out = ref[k] + outer
            out[ring:-ring, ring:-ring] = ref[k][ring:-ring, ring:-ring] + inner + k  # images differ a little
            Image.fromarray(out.astype(np.uint8)).save(tmp_path / name / f"im{k}.png")
    return tmp_path / "ref", {name: tmp_path / name for name in shifts}


def test_score_border_crops_before_scoring(tmp_path):
    from mdfloss.restoration.score_folders import score_folders

    ref, restored = _folders(tmp_path, 3, {"a": (2, 40)})
    cropped = score_folders(ref, restored, border=3, perceptual=False).per_image["a"]
    whole = score_folders(ref, restored, border=0, perceptual=False).per_image["a"]
    for k, row in enumerate(cropped):  # inside the ring the error is 2 + k grey levels everywhere
        assert row["psnr_rgb"] == pytest.approx(20 * math.log10(255 / (2 + k)), abs=1e-6)
        assert whole[k]["psnr_rgb"] < row["psnr_rgb"] - 5


def test_score_border_range(tmp_path):
    from mdfloss.restoration.score_folders import score_folders

    ref, restored = _folders(tmp_path, 3, {"a": (2, 40)})
    assert score_folders(ref, restored, border=0, perceptual=False).per_image["a"][0]["psnr_rgb"] > 0
    with pytest.raises(InvalidInputError, match="--border"):
        score_folders(ref, restored, border=-1, perceptual=False)


def test_score_report_differences_are_folder_minus_first(tmp_path):
    from mdfloss.restoration.score_folders import score_folders

    ref, restored = _folders(tmp_path, 3, {"good": (1, 1), "bad": (6, 6)})
    scores = score_folders(ref, restored, perceptual=False)
    row = next(line for line in scores.report() if line.startswith("| bad |") and "±" in line)
    psnr_cell = row.split("|")[2].strip().strip("*")
    expected = scores.means["bad"]["psnr_rgb"] - scores.means["good"]["psnr_rgb"]
    assert expected < 0 and float(psnr_cell.split(" ")[0]) == pytest.approx(expected, abs=1e-4)


def test_screening_ranges():
    screen_observers([], catch_min=1.0, min_ms=0.0)  # both ends accepted
    screen_observers([], catch_min=1e-9)
    for kw, name in (({"catch_min": 0.0}, "--catch-min"), ({"catch_min": 1.0001}, "--catch-min"),
                     ({"min_ms": -0.001}, "--min-ms"), ({"min_ms": float("nan")}, "--min-ms")):
        with pytest.raises(InvalidInputError, match=name):
            screen_observers([], **kw)


def _pairs(ms: float, n: int = 10) -> list[Answer]:
    return [Answer("o", "1", "s", "a", "b", k % 2 == 0, "", ms, "pair") for k in range(n)]


def test_screening_min_ms_sets_the_speed_limit():
    assert screen_observer("o", _pairs(250)).reasons == ("fast: median 250 ms (needs 300 ms)",)
    assert screen_observer("o", _pairs(250), min_ms=200).reasons == ()
    assert screen_observer("o", _pairs(350), min_ms=400).reasons == ("fast: median 350 ms (needs 400 ms)",)
    assert screen_observer("o", _pairs(400), min_ms=400).reasons == ()  # the limit itself passes


def test_screening_catch_threshold_is_inclusive():
    def catches(right: int, wrong: int) -> list[Answer]:
        ok = Answer("o", "1", "s", CATCH_REFERENCE, CATCH_DEGRADED, True, "", 900, "catch")
        miss = Answer("o", "1", "s", CATCH_REFERENCE, CATCH_DEGRADED, False, "", 900, "catch")
        return [ok] * right + [miss] * wrong + _pairs(900)
    assert screen_observer("o", catches(4, 1), catch_min=0.8).reasons == ()  # 4 of 5 is exactly 80 %
    assert screen_observer("o", catches(5, 0), catch_min=1.0).reasons == ()
    assert screen_observer("o", catches(4, 1), catch_min=1.0).reasons == ("catch: 4 of 5 right (needs 100%)",)


def test_typed_codes_are_normalised():
    code = completion_code(b"k" * 32, "observer-1")
    assert len(code) == 9 and code[4] == "-"
    for typed in (code, code.lower(), code.replace("-", ""), f"  {code.lower().replace('-', ' ')} ", code.title()):
        assert normalise_code(typed) == code
    assert normalise_code(" abc-12 ") == "abc-12"  # not 8 letters and digits: left as typed, trimmed


def test_trial_order_has_every_kind_once_per_count():
    order = trial_order(b"k" * 32, "o", practice=2, pairs=6, catch=3, identical=1)
    assert order[:2] == ["practice"] * 2 and "practice" not in order[2:]
    assert [order.count(k) for k in ("pair", "catch", "identical")] == [6, 3, 1]
    assert trial_order(b"k" * 32, "o", practice=2, pairs=6, catch=3, identical=1) == order  # the same every time
    assert trial_order(b"k" * 32, "p", practice=2, pairs=6, catch=3, identical=1) != order  # each observer's own


def _plan(**kw):
    from mdfloss.study.plan import plan_study

    return plan_study({"s": np.array([1.0, 0.0])}, ["a", "b"], **{"simulations": 20, "max_answers": 40, **kw})


def test_plan_ranges():
    for kw in ({"power": 0.5}, {"power": 0.999}, {"trials": 1}, {"simulations": 20}, {"max_answers": 20}):
        assert _plan(**kw).pairs  # both ends accepted
    for kw, name in (({"power": 0.4999}, "--power"), ({"power": 1.0}, "--power"), ({"trials": 0}, "--trials"),
                     ({"simulations": 19}, "--simulations"), ({"max_answers": 19}, "--max-answers")):
        with pytest.raises(InvalidInputError, match=name):
            _plan(**kw)


def test_plan_rounds_observers_up():
    from mdfloss.study.plan import PairPlan, StudyPlan

    plan = StudyPlan(["a", "b"], 1, [], trials=30, power=0.95, simulations=20, sampling="active", max_answers=40)
    # 61 answers at 30 a person need 3 people (2 give only 60); 60 need exactly 2
    assert plan.observers(PairPlan("a", "b", 1.0, answers=61)) == 3
    assert plan.observers(PairPlan("a", "b", 1.0, answers=60)) == 2
    assert plan.observers(PairPlan("a", "b", 1.0, answers=31)) == 2


def test_progress_prints_every_n_steps():
    out = io.StringIO()
    bar = LineProgress(total=10, desc="d", every=3, stream=out, clock=iter(range(100)).__next__)
    for _ in range(10):
        bar.update(1)
        bar.set_postfix(loss=1)
    bar.close()
    steps = [int(line.split(": ")[1].split("/")[0]) for line in out.getvalue().splitlines()]
    assert steps == [3, 6, 9, 10]


def test_work_clock_eta_counts_the_work_left():
    clock = WorkClock(units_total=1000, clock=iter([0.0, 50.0, 100.0]).__next__)
    assert clock.eta(units_done=100) == "0:07:30"  # 50 s for 100 units: 450 s for the 900 left
    assert clock.eta(units_done=1000) == "0:00:00"
    assert WorkClock(10, clock=iter([0.0]).__next__).eta(0) == "?"


def test_metric_directions_decide_who_is_ahead():
    from mdfloss.restoration.metric_table import higher_is_better

    assert [higher_is_better(m) for m in ("psnr_rgb", "ssim_y", "jod", "haarpsi")] == [True] * 4
    assert [higher_is_better(m) for m in ("flip", "mdsi")] == [False, False]  # errors: lower is better


def test_study_plan_trials_set_the_observers(tmp_path, capsys):
    import json

    from .conftest import run_cli

    plans = {}
    for trials in (10, 40):
        out = tmp_path / f"t{trials}"
        code, _, err = run_cli(capsys, "study", "plan", "--jod", "a=1", "--jod", "b=0", "--trials", str(trials),
                               "--simulations", "20", "--max-answers", "200", "--out", out)
        assert code == 0, err
        plans[trials] = json.loads((out / "plan.json").read_text())
    for trials, data in plans.items():
        [pair] = data["pairs"]
        assert data["trials"] == trials and pair["observers"] == math.ceil(pair["answers"] / trials)


def test_plan_power_sets_the_answers():
    # the same simulated studies: a lower power is reached with fewer answers, and the crossing is where the
    # chance that the interval excludes 0 reaches the power
    low, high = (_plan(power=p, simulations=40, max_answers=400).pairs[0] for p in (0.8, 0.95))
    assert low.answers < high.answers


def test_screening_trial_counts_range_and_effect(tmp_path):
    from mdfloss.study.create import EXTRA_TRIALS, check_extra_trials

    for kind, (most, _) in EXTRA_TRIALS.items():
        for ok in (0, most):
            assert check_extra_trials({kind: ok})[kind] == ok
        for bad in (-1, most + 1, 1.5, True):
            with pytest.raises(InvalidInputError, match=f"--{kind}"):
                check_extra_trials({kind: bad})
    order = trial_order(b"k" * 32, "o", practice=3, pairs=4, catch=50, identical=50)
    assert [order.count(k) for k in ("practice", "pair", "catch", "identical")] == [3, 4, 50, 50]


def test_study_plan_conditions_choose_the_losses(tmp_path, capsys):
    import json

    from .conftest import run_cli
    from .test_study_plan import _fake_benchmark

    bench = _fake_benchmark(tmp_path / "bench", {"l2": [9.0, 9.0, 9.0], "l2+mdf": [9.0, 9.5, 9.8],
                                                  "msssim": [9.0, 9.1, 9.4]})
    out = tmp_path / "plan"
    code, _, err = run_cli(capsys, "study", "plan", "--from-benchmark", bench, "--condition", "msssim", "--condition",
                           "l2", "--scenes", "2", "--simulations", "20", "--max-answers", "100", "--out", out)
    assert code == 0, err
    data = json.loads((out / "plan.json").read_text())
    assert data["conditions"] == ["msssim", "l2"] and [(p["a"], p["b"]) for p in data["pairs"]] == [("msssim", "l2")]
    assert data["pairs"][0]["delta"] == pytest.approx((0.1 + 0.4) / 2)  # the 2 images where they differ most


def test_plan_seed_draws_other_simulated_studies():
    a, b, c = (_plan(seed=s).pairs[0] for s in (0, 0, 1))
    assert a.curve == b.curve and a.curve != c.curve


def test_study_create_screening_options_reach_the_study(tmp_path, capsys):
    from mdfloss.study.create import load_study

    from .conftest import run_cli
    from .study_helpers import make_folders

    ref, methods = make_folders(tmp_path)
    (tmp_path / "hello.txt").write_text("Pick the sharper image.")
    args = [a for name, d in methods.items() for a in ("--method", f"{name}={d}")]
    code, _, err = run_cli(capsys, "study", "create", "--out", tmp_path / "st", "--reference", ref, *args,
                           "--practice", "2", "--catch", "3", "--identical", "4", "--instructions",
                           tmp_path / "hello.txt")
    assert code == 0, err
    meta = load_study(tmp_path / "st")
    assert meta["trials"] == {"practice": 2, "catch": 3, "identical": 4}
    assert len(list((tmp_path / "st" / "images" / "catch").iterdir())) == 3  # a catch image per scene
    assert (tmp_path / "st" / "instructions.txt").read_text() == "Pick the sharper image."
    code, _, err = run_cli(capsys, "study", "create", "--out", tmp_path / "st2", "--reference", ref, *args,
                           "--catch", "51")
    assert code == 2 and "--catch: expected 0 to 50" in err and not (tmp_path / "st2").exists()


def test_score_jod_display_sets_the_viewing_conditions(tmp_path):
    pytest.importorskip("pycvvdp")
    from mdfloss.restoration.perceptual import jod
    from mdfloss.restoration.score_folders import score_folders

    ref, restored = _folders(tmp_path, 3, {"a": (40, 40)})
    by_display = {d: score_folders(ref, restored, perceptual=True, jod_display=d).per_image["a"][0]["jod"]
                  for d in ("standard_fhd", "standard_4k")}
    assert by_display["standard_fhd"] != pytest.approx(by_display["standard_4k"], abs=1e-3)
    from mdfloss.common.imageio import read_image

    want = jod(read_image(tmp_path / "a" / "im0.png"), read_image(ref / "im0.png"), "standard_4k")
    assert by_display["standard_4k"] == pytest.approx(want, abs=1e-4)
