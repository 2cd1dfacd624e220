"""The study server's JSON API: answers, refusals, tokens, images, concurrency and kill -9."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from mdfloss.study.server import make_app  # noqa: E402
from mdfloss.study.store import read_study_answers  # noqa: E402

from .study_helpers import free_port, make_study, start_server  # noqa: E402


@pytest.fixture()
def study(tmp_path):
    return make_study(tmp_path)


def _rows(study) -> int:
    return len(read_study_answers(study))


def test_answers_are_stored_and_a_reload_resumes_the_same_pair(study):
    client = TestClient(make_app(study, trials=3, seed=0))
    first = client.get("/api/next", params={"observer": "ann"}).json()
    assert set(first) >= {"pair_id", "left", "right", "reference", "answered", "total"} and first["total"] == 3
    again = client.get("/api/next", params={"observer": "ann"}).json()
    assert again["pair_id"] == first["pair_id"]  # reload before answering: same pair
    r = client.post("/api/answer", json={"pair_id": first["pair_id"], "observer": "ann", "chosen": "right", "ms": 812})
    assert r.status_code == 200 and r.json()["answered"] == 1
    [answer] = read_study_answers(study)
    assert answer.observer == "ann" and answer.response_ms == 812 and not answer.a_selected
    served = client.app.state.service.store.served(first["pair_id"])
    assert answer.condition_a == served.left  # condition_A is the one shown on the left
    folder = client.app.state.service.meta["folders"][served.left]
    assert client.get(first["left"]).content == (study / "images" / folder / f"{served.scene}.png").read_bytes()
    for _ in range(2):
        p = client.get("/api/next", params={"observer": "ann"}).json()
        client.post("/api/answer", json={"pair_id": p["pair_id"], "observer": "ann", "chosen": "left", "ms": 5})
    done = client.get("/api/next", params={"observer": "ann"}).json()
    assert done == {"done": True, "answered": 3, "total": 3, "code": done["code"]} and len(done["code"]) == 9
    assert _rows(study) == 3


@pytest.mark.parametrize("body,status,fragment", [
    ({"pair_id": "nope", "observer": "ann", "chosen": "left", "ms": 1}, 404, "never served"),
    ({"observer": "ann", "chosen": "left", "ms": 1}, 400, "pair_id"),
    ({"pair_id": "P", "observer": "ann", "chosen": "up", "ms": 1}, 400, "chosen"),
    ({"pair_id": "P", "observer": "ann", "chosen": "left", "ms": -3}, 400, "ms"),
    ({"pair_id": "P", "observer": "ann", "chosen": "left", "ms": "fast"}, 400, "ms"),
    ({"pair_id": "P", "observer": "../x", "chosen": "left", "ms": 1}, 400, "observer"),
    ({"pair_id": "P", "observer": "bob", "chosen": "left", "ms": 1}, 403, "another observer"),
    ({"pair_id": "P", "observer": "ann", "chosen": "left", "ms": 1, "extra": 1}, 400, "unknown field"),
    ([1, 2], 400, "JSON object"),
])
def test_bad_answers_are_refused_and_stored_nowhere(study, body, status, fragment):
    client = TestClient(make_app(study, seed=0))
    pair = client.get("/api/next", params={"observer": "ann"}).json()
    if isinstance(body, dict) and body.get("pair_id") == "P":
        body["pair_id"] = pair["pair_id"]
    r = client.post("/api/answer", json=body)
    assert r.status_code == status and fragment in r.json()["error"]
    assert _rows(study) == 0
    assert client.post("/api/answer", content=b"{not json").status_code == 400
    assert client.post("/api/answer", content=b"x" * 10000).status_code == 413


def test_a_repeated_answer_is_refused(study):
    client = TestClient(make_app(study, seed=0))
    pair = client.get("/api/next", params={"observer": "ann"}).json()
    body = {"pair_id": pair["pair_id"], "observer": "ann", "chosen": "left", "ms": 10}
    assert client.post("/api/answer", json=body).status_code == 200
    r = client.post("/api/answer", json={**body, "chosen": "right"})
    assert r.status_code == 409 and "already answered" in r.json()["error"]
    assert _rows(study) == 1 and read_study_answers(study)[0].a_selected


def test_the_token_guards_every_request(study):
    client = TestClient(make_app(study, token="s3cret", seed=0))
    for path in ("/", "/api/next?observer=ann", "/api/study", "/image/0/reference"):
        assert client.get(path).status_code == 401
        assert client.get(path + ("&" if "?" in path else "?") + "token=wrong").status_code == 401
    pair = client.get("/api/next?observer=ann&token=s3cret").json()
    assert pair["left"].endswith("?token=s3cret")  # image URLs carry the token
    assert client.get(pair["left"]).status_code == 200
    assert client.get("/api/next?observer=ann", headers={"X-Study-Token": "s3cret"}).status_code == 200
    body = {"pair_id": pair["pair_id"], "observer": "ann", "chosen": "left", "ms": 1}
    assert client.post("/api/answer", json=body).status_code == 401 and _rows(study) == 0


def test_images_are_the_studys_files_and_nothing_else(study):
    client = TestClient(make_app(study, seed=0))
    pair = client.get("/api/next", params={"observer": "ann"}).json()
    scene = pair["scene"]
    assert client.get(pair["reference"]).content == (study / "images" / "reference" / f"{scene}.png").read_bytes()
    pid = pair["pair_id"]
    (study.parent / "secret.png").write_bytes(b"secret")
    for path in (f"/image/{pid}/..%2F..%2Fsecret.png", f"/image/{pid}/../../secret.png", "/image/nope/left",
                 f"/image/{pid}/0", "/image/0/reference", f"/image/{pid}/%2e%2e", "/images/reference/img0.png",
                 "/study.json", "/answers.sqlite", "/secret.key", f"/image/{pid}/../../secret.key"):
        r = client.get(path)
        assert r.status_code == 404 and b"secret" not in r.content, path


def test_the_server_listens_on_localhost_unless_told_and_refuses_a_taken_port(study):
    from mdfloss.study.server import bind

    sock = bind("127.0.0.1", 0)
    try:
        assert sock.getsockname()[0] == "127.0.0.1"
        proc = subprocess.run([sys.executable, "-m", "mdfloss", "study", "serve", str(study), "--port",
                               str(sock.getsockname()[1])], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and "cannot listen" in proc.stderr and len(proc.stderr.splitlines()) == 1
    finally:
        sock.close()
    from mdfloss.cli.study import serve

    assert next(p for p in serve.params if p.name == "host").default == "127.0.0.1"


def _get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as r:
        return json.loads(r.read())


def _post(port, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/answer", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def test_twenty_concurrent_observers_lose_nothing(study):
    port = free_port()
    server = start_server(study, port, "--trials", "8")
    errors, acknowledged = [], []
    try:
        def observer(k):
            try:
                for _ in range(8):
                    pair = _get(port, f"/api/next?observer=o{k}")
                    _post(port, {"pair_id": pair["pair_id"], "observer": f"o{k}", "chosen": "left", "ms": 100 + k})
                    acknowledged.append(pair["pair_id"])
                assert _get(port, f"/api/next?observer=o{k}")["done"]
            except Exception as exc:  # noqa: BLE001 - collected and reported below
                errors.append(repr(exc))

        threads = [threading.Thread(target=observer, args=(k,)) for k in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=240)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not errors, errors[:3]
    answers = read_study_answers(study)
    assert len(answers) == len(acknowledged) == 160
    assert {a.observer for a in answers} == {f"o{k}" for k in range(20)}
    assert all(sum(a.observer == f"o{k}" for a in answers) == 8 for k in range(20))


def test_kill_9_loses_no_acknowledged_answer_and_the_restart_resumes(study):
    port = free_port()
    server = start_server(study, port, "--trials", "1000")
    acknowledged, stop = [], threading.Event()

    def answer_forever(k):
        while not stop.is_set():
            try:
                pair = _get(port, f"/api/next?observer=k{k}")
                _post(port, {"pair_id": pair["pair_id"], "observer": f"k{k}", "chosen": "right", "ms": 1})
                acknowledged.append(pair["pair_id"])
            except (urllib.error.URLError, ConnectionError, OSError):
                return  # the server is gone

    threads = [threading.Thread(target=answer_forever, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    while len(acknowledged) < 40:
        threading.Event().wait(0.05)
    os.kill(server.pid, signal.SIGKILL)  # mid-stream: requests are in flight
    server.wait(timeout=30)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    db = sqlite3.connect(study / "answers.sqlite")
    stored = {row[0] for row in db.execute("SELECT pair_id FROM answers")}
    db.close()
    assert set(acknowledged) <= stored and len(stored) >= 40
    server = start_server(study, port, "--trials", "1000")
    try:
        pair = _get(port, "/api/next?observer=k0")
        assert _post(port, {"pair_id": pair["pair_id"], "observer": "k0", "chosen": "left", "ms": 3})["ok"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert len(read_study_answers(study)) == len(stored) + 1


def test_export_writes_pwcmps_table_and_scaling_it_equals_scaling_the_study(study, tmp_path):
    client = TestClient(make_app(study, trials=40, seed=3))
    for obs in ("ann", "bob", "cy"):
        for _ in range(40):
            p = client.get("/api/next", params={"observer": obs}).json()
            # 'strong' noise loses more often than not: a consistent, non-trivial pattern to scale
            left = client.app.state.service.store.served(p["pair_id"]).left
            client.post("/api/answer", json={"pair_id": p["pair_id"], "observer": obs,
                                             "chosen": "right" if left == "strong" else "left", "ms": 50})
    run = lambda *a: subprocess.run([sys.executable, "-m", "mdfloss", "study", *a], capture_output=True,  # noqa: E731
                                    text=True, timeout=300)
    proc = run("export", str(study), "--out", str(tmp_path / "answers.csv"))
    assert proc.returncode == 0, proc.stderr
    header = (tmp_path / "answers.csv").read_text().splitlines()[0]
    assert header.startswith("observer,session_id,scene,condition_A,condition_B,is_A_selected")
    from mdfloss.study.answers import read_answers_csv

    assert read_answers_csv(tmp_path / "answers.csv") == read_study_answers(study)
    for source, out in ((study, "from_dir"), (tmp_path / "answers.csv", "from_csv")):
        proc = run("scale", str(source), "--out", str(tmp_path / out), "--bootstrap", "30")
        assert proc.returncode == 0, proc.stderr
        for f in ("jod.csv", "jod.md", "jod.png", "observers.csv"):
            assert (tmp_path / out / f).is_file()
    assert (tmp_path / "from_dir" / "jod.csv").read_text() == (tmp_path / "from_csv" / "jod.csv").read_text()
    rows = [line.split(",") for line in (tmp_path / "from_dir" / "jod.csv").read_text().splitlines()[1:]]
    pooled = {r[1]: float(r[2]) for r in rows if r[0] == "all"}
    assert pooled["strong"] < min(pooled["clean"], pooled["mild"])


def test_the_readme_lists_every_field_the_api_returns(study):
    """The README's API field list is the API's: each documented JSON object names exactly the returned keys."""
    import re

    from .conftest import REPO

    text = (REPO / "README.md").read_text(encoding="utf-8").replace("\n  ", " ")
    documented = [set(re.findall(r'"(\w+)"', fields)) for fields in re.findall(r"→ `(\{[^`]*\})`", text)]
    client = TestClient(make_app(study, trials=1, seed=0))
    nxt = client.get("/api/next", params={"observer": "ann"}).json()
    answer = client.post("/api/answer", json={"pair_id": nxt["pair_id"], "observer": "ann", "chosen": "left",
                                              "ms": 5}).json()
    done = client.get("/api/next", params={"observer": "ann"}).json()
    real = [set(nxt), set(answer), set(client.get("/api/study").json()),
            set(client.get("/api/observer", params={"observer": "ann"}).json())]
    end = re.search(r'or at the end `(\{[^`]*\})`', text)[1]
    assert documented == real
    assert set(re.findall(r'"(\w+)"', end)) == set(done) and done["done"] is True
