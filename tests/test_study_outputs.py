"""The study's loose ends: JSON for every error status, outputs kept unless --force, and the plot's label."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from mdfloss.study.server import make_app  # noqa: E402

from .conftest import run_cli as run  # noqa: E402
from .study_helpers import make_study  # noqa: E402


@pytest.fixture()
def answered(tmp_path):
    """A study with a few answers from two observers."""
    study = make_study(tmp_path)
    client = TestClient(make_app(study, trials=6, seed=0))
    for observer in ("ann", "bob"):
        for _ in range(6):
            pair = client.get("/api/next", params={"observer": observer}).json()
            assert client.post("/api/answer", json={"pair_id": pair["pair_id"], "observer": observer,
                                                     "chosen": "left", "ms": 900}).status_code == 200
    return study


def test_unknown_routes_and_methods_answer_json(tmp_path):
    client = TestClient(make_app(make_study(tmp_path), seed=0))
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and missing.json() == {"error": "no such page or API route"}
    wrong = client.get("/api/answer")
    assert wrong.status_code == 405 and wrong.json() == {"error": "GET is not allowed here"}


def test_export_and_scale_keep_earlier_outputs_unless_forced(answered, tmp_path, capsys):
    csv = tmp_path / "answers.csv"
    csv.write_text("keep me")
    code, out, err = run(capsys, "study", "export", answered, "--out", csv)
    assert code == 2 and "--force" in err and csv.read_text() == "keep me"
    assert run(capsys, "study", "export", answered, "--out", csv, "--force")[0] == 0
    assert csv.read_text().startswith("observer,")
    jod = tmp_path / "jod"
    assert run(capsys, "study", "scale", answered, "--out", jod, "--bootstrap", "0")[0] == 0
    before = (jod / "jod.csv").read_bytes()
    code, out, err = run(capsys, "study", "scale", answered, "--out", jod, "--bootstrap", "0")
    assert code == 2 and "already holds jod.csv" in err and (jod / "jod.csv").read_bytes() == before
    assert run(capsys, "study", "scale", answered, "--out", jod, "--bootstrap", "0", "--force")[0] == 0


def test_the_plot_says_when_no_bootstrap_ran(answered, tmp_path, monkeypatch):
    import matplotlib

    from mdfloss.study import report
    from mdfloss.study.analysis import scale_study
    from mdfloss.study.store import read_study_answers

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    result = scale_study(read_study_answers(answered), bootstrap=0, outliers=False)
    captured = []
    monkeypatch.setattr(plt.Axes, "set_xlabel", lambda self, text, *a, **k: captured.append(text))
    report.plot_jod(result, tmp_path / "a.png", bootstrap=0)
    report.plot_jod(result, tmp_path / "b.png", bootstrap=50)
    assert captured == ["JOD (all scenes pooled; no intervals: --bootstrap 0)",
                        "JOD (all scenes pooled; 95 % bootstrap interval)"]
