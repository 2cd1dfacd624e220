"""The observer page for crowdsourcing, in a real browser: instructions and consent for every new observer,
practice and catch trials, the completion code, touch, and the warning on a scaled page."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mdfloss.study.codes import completion_code, study_secret
from mdfloss.study.store import read_study_answers

from .browser_helpers import wait_for_new_pair  # skips this module without Chromium
from .study_helpers import make_study, serving

INSTRUCTIONS = "Pick the image with fewer artefacts.\n\nThis study takes two minutes."
CONSENT = "Your answers are stored without your name."


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("crowd")
    (root / "instructions.txt").write_text(INSTRUCTIONS)
    (root / "consent.txt").write_text(CONSENT)
    study = make_study(root, practice=2, catch=2, identical=2, instructions=root / "instructions.txt",
                       consent=root / "consent.txt")
    with serving(study, "--trials", "4", "--seed", "0") as url:
        yield study, url


def _shown(page) -> list[str]:
    return page.evaluate("[document.getElementById('left-img').src, document.getElementById('right-img').src]")


def test_consent_practice_catch_trials_and_the_completion_code(served, browser):
    study, url = served
    ctx = browser.new_context(device_scale_factor=1)
    page = ctx.new_page()
    page.goto(f"{url}/?observer=worker1")  # an id from the crowdsourcing site: still a new observer
    page.wait_for_selector("#start:not(.hidden)")
    assert "fewer artefacts" in page.inner_text("#instructions") and CONSENT in page.inner_text("#consent")
    assert "first 2 of your 10 trials are practice" in page.inner_text("#practice-info")
    page.click("#begin")  # without agreeing: refused on the page, nothing served
    assert "consent" in page.inner_text("#error") and page.is_visible("#start")
    page.check("#consent-box")
    page.click("#begin")
    pair, practice_flags = wait_for_new_pair(page, None), []
    for k in range(10):
        practice_flags.append(page.is_visible("#practice-note"))
        page.click("#left")
        if k < 9:
            pair = wait_for_new_pair(page, pair)
    page.wait_for_selector("#done:not(.hidden)")
    assert practice_flags == [True, True] + [False] * 8
    code = page.inner_text("#code")
    assert code == completion_code(study_secret(study), "worker1")
    kinds = [a.kind for a in read_study_answers(study) if a.observer == "worker1"]
    assert kinds[:2] == ["practice"] * 2 and sorted(kinds[2:]) == ["catch"] * 2 + ["identical"] * 2 + ["pair"] * 4

    # The code checks out; a made-up one does not.
    check = lambda *codes: subprocess.run([sys.executable, "-m", "mdfloss", "study", "check-code", str(study),  # noqa: E731
                                           *codes], capture_output=True, text=True, timeout=120)
    ok = check(code.lower().replace("-", ""))
    assert ok.returncode == 0 and "observer worker1, 10 answers" in ok.stdout
    bad = check("AAAA-AAAA")
    assert bad.returncode == 1 and "unknown" in bad.stdout
    ctx.close()


def test_catch_trials_show_the_reference_against_its_degraded_copy(served, browser):
    study, url = served
    ctx = browser.new_context(device_scale_factor=1)
    page = ctx.new_page()
    page.goto(f"{url}/?observer=worker2")
    page.check("#consent-box")
    page.click("#begin")
    pair, seen = wait_for_new_pair(page, None), 0
    for k in range(10):
        db = sqlite3.connect(study / "answers.sqlite")
        kind, scene = db.execute("SELECT kind, scene FROM served WHERE pair_id = ?", (pair,)).fetchone()
        db.close()
        if kind == "catch":
            images = [np.asarray(Image.open(io.BytesIO(page.context.request.get(src).body()))) for src in _shown(page)]
            ref = np.asarray(Image.open(study / "images" / "reference" / f"{scene}.png"))
            degraded = np.asarray(Image.open(study / "images" / "catch" / f"{scene}.png"))
            matches = sorted("ref" if np.array_equal(im, ref) else "deg" if np.array_equal(im, degraded) else "?"
                             for im in images)
            assert matches == ["deg", "ref"]
            assert not page.is_visible("#practice-note")  # nothing on the page gives a catch trial away
            seen += 1
        page.click("#right")
        if k < 9:
            pair = wait_for_new_pair(page, pair)
    assert seen == 2
    ctx.close()


def test_touch_chooses_by_tap_and_shows_the_reference_while_held(served, browser):
    study, url = served
    ctx = browser.new_context(has_touch=True, is_mobile=True, viewport={"width": 412, "height": 900},
                              device_scale_factor=1)
    page = ctx.new_page()
    page.goto(f"{url}/?observer=phone")
    page.wait_for_selector("#start:not(.hidden)")
    page.tap("#consent-box")
    page.tap("#begin")
    pair = wait_for_new_pair(page, None)
    before = _shown(page)
    box = page.locator("#ref-toggle").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp = ctx.new_cdp_session(page)  # a finger held down on the button, then lifted
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    page.wait_for_function("document.getElementById('left-img').src.endsWith('/reference')")
    reference = _shown(page)
    assert reference[0] == reference[1] and reference[0].split("/")[-1] == "reference"
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_function("!document.getElementById('left-img').src.endsWith('/reference')")
    assert _shown(page) == before
    page.tap("#right-img")
    wait_for_new_pair(page, pair)
    [answer] = [a for a in read_study_answers(study) if a.observer == "phone"]
    assert not answer.a_selected  # the tapped (right) image was chosen
    ctx.close()


@pytest.mark.parametrize("scale,warned", [(1, False), (2, False), (1.25, True), (1.5, True)])
def test_a_warning_when_the_page_would_scale_the_images(served, browser, scale, warned):
    _, url = served
    ctx = browser.new_context(device_scale_factor=scale)
    page = ctx.new_page()
    page.goto(f"{url}/?observer=zoom{int(scale * 100)}")
    page.wait_for_selector("#start:not(.hidden)")
    assert page.is_visible("#scale-warning") == warned
    if warned:
        assert f"scaled by {scale:.2f}" in page.inner_text("#scale-warning")
    else:  # a whole device pixel ratio: each image pixel still covers exactly one screen pixel
        page.check("#consent-box")
        page.click("#begin")
        wait_for_new_pair(page, None)
        css_width, natural = page.evaluate("[document.getElementById('left-img').getBoundingClientRect().width, "
                                           "document.getElementById('left-img').naturalWidth]")
        assert css_width * scale == natural
    ctx.close()
