"""The observer page in a real browser (see ``browser_helpers``): answers, reloads, two observers, 1:1 pixels."""

from __future__ import annotations

import io
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from mdfloss.study.store import read_study_answers

from .browser_helpers import start as _start
from .browser_helpers import wait_for_new_pair as _wait_for_new_pair
from .study_helpers import make_study, serving


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    study = make_study(root)
    with serving(study, "--trials", "20", "--seed", "0") as url:
        yield study, url


def test_twenty_answers_by_keyboard_with_a_reload_midway(served, browser):
    study, url = served
    context = browser.new_context(viewport={"width": 1366, "height": 768}, device_scale_factor=1)
    page = context.new_page()
    page.goto(url + "/")
    page.wait_for_selector("#start:not(.hidden)")
    observer = page.input_value("#observer-input")  # generated, editable
    assert observer.startswith("obs-")
    page.click("#begin")
    pair = _wait_for_new_pair(page, None)
    served_ids = []
    for k in range(20):
        if k == 10:
            page.reload()  # the id is kept in the browser: no start form, the next pair comes back
            pair = _wait_for_new_pair(page, None)
            assert page.is_hidden("#start")
        served_ids.append(pair)
        page.keyboard.press("ArrowLeft" if k % 2 == 0 else "ArrowRight")
        if k < 19:
            pair = _wait_for_new_pair(page, pair)
            assert page.evaluate("document.getElementById('progress').value") == k + 1
    page.wait_for_selector("#done:not(.hidden)")
    answers = [a for a in read_study_answers(study) if a.observer == observer]
    assert len(answers) == 20 and all(a.response_ms is not None and a.response_ms >= 0 for a in answers)
    # Left on even answers, right on odd ones: the stored choice follows the key that was pressed.
    import sqlite3

    db = sqlite3.connect(study / "answers.sqlite")
    rows = db.execute("SELECT pair_id, is_a_selected FROM answers WHERE observer = ? ORDER BY id", (observer,)).fetchall()
    db.close()
    assert [r[0] for r in rows] == served_ids
    assert [r[1] for r in rows] == [1 - k % 2 for k in range(20)]
    context.close()


def test_two_observers_at_once(served, browser):
    study, url = served
    pages, last = [], []
    for name in ("bob", "carol"):
        ctx = browser.new_context(device_scale_factor=1)
        page = ctx.new_page()
        _start(page, f"{url}/?observer={name}")
        assert page.input_value("#observer-input") == name
        last.append(_wait_for_new_pair(page, None))
        pages.append(page)
    for k in range(6):  # interleaved: each answers while the other has a pair open
        for i, page in enumerate(pages):
            page.click("#left" if k % 2 else "#right")
            if k < 5:
                last[i] = _wait_for_new_pair(page, last[i])
    time.sleep(0.5)
    answers = read_study_answers(study)
    assert sum(a.observer == "bob" for a in answers) == 6 and sum(a.observer == "carol" for a in answers) == 6
    out = study.parent / "scaled"
    proc = subprocess.run([sys.executable, "-m", "mdfloss", "study", "scale", str(study), "--out", str(out),
                           "--bootstrap", "20"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = (out / "jod.csv").read_text().splitlines()
    assert lines[0] == "scene,condition,jod,jod_low,jod_high"
    assert {line.split(",")[1] for line in lines[1:] if line.startswith("all,")} == {"clean", "mild", "strong"}


def test_screenshot_shows_both_images_at_one_to_one(served, browser):
    study, url = served
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, device_scale_factor=1)
    page = ctx.new_page()
    _start(page, f"{url}/?observer=shot")
    _wait_for_new_pair(page, None)
    shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB"))
    service_pair = page.evaluate("""async () => (await (await fetch('/api/next?observer=shot')).json())""")
    import sqlite3

    db = sqlite3.connect(study / "answers.sqlite")
    scene, *conds = db.execute("SELECT scene, condition_left, condition_right FROM served WHERE pair_id = ?",
                               (service_pair["pair_id"],)).fetchone()
    db.close()
    folders = __import__("json").loads((study / "study.json").read_text())["folders"]
    for side, cond in zip(("left", "right"), conds):
        box = page.locator(f"#{side}-img").bounding_box()
        x, y, w, h = (int(round(box[k])) for k in ("x", "y", "width", "height"))
        expected = np.asarray(Image.open(study / "images" / folders[cond] / f"{scene}.png").convert("RGB"))
        assert (h, w) == expected.shape[:2]  # drawn at its own size: one image pixel per screen pixel
        np.testing.assert_array_equal(shot[y:y + h, x:x + w], expected)
    page.keyboard.down("r")  # holding R shows the reference in both places
    assert page.evaluate("[document.getElementById('left-img').src, document.getElementById('right-img').src]") == [
        url + service_pair["reference"]] * 2
    page.keyboard.up("r")
    assert page.evaluate("document.getElementById('left-img').src") == url + service_pair["left"]
    ctx.close()
