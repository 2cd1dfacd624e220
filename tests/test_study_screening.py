"""Screening trials end to end without a browser: the service's schedule, the sampler left untouched,
old databases, the export's kind column, the screening rules and their refusals, and completion codes."""

from __future__ import annotations

import json
import sqlite3

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from mdfloss.study.analysis import scale_study  # noqa: E402
from mdfloss.study.answers import CATCH_DEGRADED, CATCH_REFERENCE, Answer, read_answers_csv, write_answers_csv  # noqa: E402
from mdfloss.study.codes import completion_code, study_secret  # noqa: E402
from mdfloss.study.screening import screen_observer  # noqa: E402
from mdfloss.study.server import make_app  # noqa: E402
from mdfloss.study.simulate import rmse_to_truth  # noqa: E402
from mdfloss.study.store import read_study_answers  # noqa: E402

from .conftest import run_cli as run  # noqa: E402
from .study_helpers import make_study  # noqa: E402
from .conftest import benchmark_module  # noqa: E402

simulate_crowd = benchmark_module("study_crowd").simulate_crowd  # a simulated crowd: only tests and a benchmark use it


def _answer_all(client, observer: str, choose=lambda served: "left") -> list:
    """Answer every trial; returns the served rows in order."""
    service = client.app.state.service
    rows = []
    while True:
        pair = client.get("/api/next", params={"observer": observer}).json()
        if pair["done"]:
            return rows
        served = service.store.served(pair["pair_id"])
        rows.append(served)
        client.post("/api/answer", json={"pair_id": pair["pair_id"], "observer": observer,
                                         "chosen": choose(served), "ms": 1500})


def _prefer_clean(served) -> str:
    order = ["clean", "mild", "strong"]
    return "left" if order.index(served.left) <= order.index(served.right) else "right"


def test_screening_trials_are_mixed_in_and_leave_the_samplers_choices_alone(tmp_path):
    plain = make_study(tmp_path / "plain")
    screened = make_study(tmp_path / "screened", practice=2, catch=3, identical=2)
    real = {}
    for name, study in (("plain", plain), ("screened", screened)):
        client = TestClient(make_app(study, trials=12, seed=5))
        served = []
        for observer in ("ann", "bob"):
            served += _answer_all(client, observer,
                                  lambda s: _prefer_clean(s) if s.kind in ("pair", "practice") else "left")
        real[name] = [(s.observer, s.scene, s.left, s.right) for s in served if s.kind == "pair"]
        kinds = [s.kind for s in served if s.observer == "bob"]
        if name == "screened":
            assert kinds[:2] == ["practice"] * 2
            assert sorted(kinds[2:]) == ["catch"] * 3 + ["identical"] * 2 + ["pair"] * 12
            catch = [s for s in served if s.kind == "catch"]
            assert all({s.left, s.right} == {CATCH_REFERENCE, CATCH_DEGRADED} for s in catch)
            assert all(s.left == s.right for s in served if s.kind == "identical")
    assert real["screened"] == real["plain"]  # the same real pairs, in the same order, on the same sides
    # the order differs between observers, and it is the same after a restart of the server
    orders = [client.app.state.service._order(o) for o in ("ann", "bob")]
    assert orders[0] != orders[1]
    assert TestClient(make_app(screened, trials=12, seed=5)).app.state.service._order("ann") == orders[0]


def test_scaling_uses_real_pairs_only_and_excludes_who_fails(tmp_path, capsys):
    study = make_study(tmp_path, catch=6, identical=4)
    client = TestClient(make_app(study, trials=20, seed=0))
    for observer in ("ann", "bob", "cy"):  # careful: reference over its degraded copy, clean over noisy
        _answer_all(client, observer, lambda s: "left" if s.left in (CATCH_REFERENCE, "clean") else
                    "right" if s.right in (CATCH_REFERENCE, "clean") else _prefer_clean(s))
    _answer_all(client, "lazy")  # always the left image
    answers = read_study_answers(study)
    assert {a.kind for a in answers} == {"pair", "catch", "identical"}
    result = scale_study(answers, bootstrap=0)
    assert result.excluded == ["lazy"]
    [lazy] = [o for o in result.screening if o.observer == "lazy"]
    assert any(r.startswith("side: 30 of 30 on the left") for r in lazy.reasons)
    assert result.n_answers == 3 * 20
    kept = scale_study(answers, bootstrap=0, exclude_failed=False)
    assert kept.excluded == [] and kept.n_answers == 4 * 20
    assert {r.condition for r in result.rows} == {"clean", "mild", "strong"}  # no catch condition is scaled

    csv = tmp_path / "answers.csv"  # the export keeps the kinds, and scaling it gives the same screening
    write_answers_csv(answers, csv)
    assert read_answers_csv(csv) == answers
    assert scale_study(read_answers_csv(csv), bootstrap=0).excluded == ["lazy"]
    out = tmp_path / "jod"
    code, stdout, err = run(capsys, "study", "scale", study, "--out", out, "--bootstrap", "0")
    assert code == 0 and "1 of 4 observers failed (excluded)" in stdout
    rows = (out / "observers.csv").read_text().splitlines()
    assert rows[0].startswith("observer,pairs,catch_correct,catch_total")
    assert [r.split(",")[0] for r in rows[1:] if ",1,1," in r] == ["lazy"]
    report = (out / "jod.md").read_text()
    assert "1 failed (excluded from the scaling)" in report and "side: 30 of 30" in report.split("- lazy:")[1]


@pytest.mark.parametrize("answers,reason", [
    ([("catch", True, 1500)] * 3 + [("catch", False, 1500)] * 2, "catch: 3 of 5 right (needs 80%)"),
    ([("identical", True, 1500)] * 8 + [("pair", False, 1500)] * 8, "identical: 8 of 8 on the left (p < 0.01)"),
    ([("pair", True, 1500)] * 25 + [("pair", False, 1500)] * 5, "side: 25 of 30 on the left (p < 0.001)"),
    ([("pair", k % 2 == 0, 250) for k in range(10)], "fast: median 250 ms (needs 300 ms)"),
])
def test_each_screening_rule(answers, reason):
    def row(kind, left, ms):
        if kind == "catch":  # reference on the left; 'left' picks it
            return Answer("o", "1", "s", CATCH_REFERENCE, CATCH_DEGRADED, left, "", ms, "catch")
        if kind == "identical":
            return Answer("o", "1", "s", "a", "a", left, "", ms, "identical")
        return Answer("o", "1", "s", "a", "b", left, "", ms, "pair")
    screen = screen_observer("o", [row(*a) for a in answers])
    assert screen.reasons == (reason,)


def test_thresholds_are_not_crossed_by_a_careful_observer():
    answers = [Answer("o", "1", "s", CATCH_REFERENCE, CATCH_DEGRADED, True, "", 900, "catch")] * 4
    answers += [Answer("o", "1", "s", CATCH_DEGRADED, CATCH_REFERENCE, True, "", 900, "catch")]  # one miss of 5
    answers += [Answer("o", "1", "s", "a", "b", k % 3 != 0, "", 900, "pair") for k in range(30)]
    answers += [Answer("o", "1", "s", "a", "b", True, "", 50, "practice")] * 10  # practice is ignored
    assert screen_observer("o", answers).reasons == ()


def test_refusals(tmp_path, capsys):
    plain = make_study(tmp_path / "plain")
    client = TestClient(make_app(plain, trials=4, seed=0))
    _answer_all(client, "ann")
    code, _, err = run(capsys, "study", "scale", plain, "--out", tmp_path / "o", "--exclude-failed")
    assert code == 2 and "nothing to screen" in err
    assert run(capsys, "study", "scale", plain, "--out", tmp_path / "o", "--bootstrap", "0")[0] == 0  # default: fine
    code, out, err = run(capsys, "study", "check-code", plain, "ZZZZ-ZZZZ")
    assert code == 1 and "unknown" in out
    code, out, _ = run(capsys, "study", "check-code", plain, completion_code(study_secret(plain), "ann"))
    assert code == 0 and "observer ann, 4 answers" in out
    for args, fragment in ((["--catch-min", "0"], "--catch-min"), (["--min-ms", "-5"], "--min-ms")):
        screened = make_study(tmp_path / args[0].strip("-"), catch=2)
        _answer_all(TestClient(make_app(screened, trials=2, seed=0)), "ann")
        code, _, err = run(capsys, "study", "scale", screened, "--out", tmp_path / "o2", *args)
        assert code == 2 and fragment in err


def test_a_study_and_database_from_before_screening_keep_working(tmp_path):
    study = make_study(tmp_path)
    meta = json.loads((study / "study.json").read_text())
    del meta["trials"]
    (study / "study.json").write_text(json.dumps(meta))
    (study / "secret.key").unlink()
    db = sqlite3.connect(study / "answers.sqlite")  # the schema before trial kinds, with one answer
    db.executescript("""
        CREATE TABLE served (pair_id TEXT PRIMARY KEY, observer TEXT NOT NULL, session TEXT NOT NULL,
            scene TEXT NOT NULL, condition_left TEXT NOT NULL, condition_right TEXT NOT NULL,
            served_at TEXT NOT NULL, answered INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE answers (id INTEGER PRIMARY KEY AUTOINCREMENT, pair_id TEXT NOT NULL UNIQUE,
            observer TEXT NOT NULL, session TEXT NOT NULL, scene TEXT NOT NULL, condition_a TEXT NOT NULL,
            condition_b TEXT NOT NULL, is_a_selected INTEGER NOT NULL, time TEXT NOT NULL, response_ms REAL NOT NULL);
        INSERT INTO served VALUES ('p1', 'old', '1', 'img0', 'clean', 'strong', 't', 1);
        INSERT INTO answers VALUES (1, 'p1', 'old', '1', 'img0', 'clean', 'strong', 1, 't', 800);""")
    db.commit()
    db.close()
    assert [a.kind for a in read_study_answers(study)] == ["pair"]  # read-only, before any server opened it
    client = TestClient(make_app(study, trials=2, seed=0))
    assert (study / "secret.key").is_file()  # made by the first serve
    assert client.get("/api/observer", params={"observer": "old"}).json()["started"]
    _answer_all(client, "new")
    assert [a.kind for a in read_study_answers(study)] == ["pair"] * 3


def test_screening_recovers_the_good_observers_jods_in_a_careless_crowd():
    crowd = simulate_crowd(5, 2, 20, 30, catch=8, identical=8, careless=0.2, seed=1)
    result = scale_study(crowd.answers, bootstrap=0, outliers=False)
    assert set(result.excluded) >= set(crowd.careless)  # all four careless observers caught
    pairs = [a for a in crowd.answers if a.kind == "pair"]
    screened = [a for a in pairs if a.observer not in result.excluded]
    good = [a for a in pairs if a.observer not in crowd.careless]
    errors = [rmse_to_truth(x, crowd.truth, crowd.conditions) for x in (good, screened, pairs)]
    assert errors[2] > errors[0] and errors[1] < errors[2]
