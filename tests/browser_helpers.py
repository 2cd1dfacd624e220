"""Headless Chromium (Debian's ``chromium``) for the browser tests, driven by Playwright.

A module that imports this is skipped, with the reason, where Playwright or a Chromium binary is missing;
``.ci/run`` installs both. Set ``MDFLOSS_CHROMIUM`` to use another Chromium binary.
"""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
CHROMIUM = os.environ.get("MDFLOSS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    pytest.skip("no Chromium binary found (apt-get install chromium, or set MDFLOSS_CHROMIUM)", allow_module_level=True)

# Without the background-networking flags Chromium keeps trying to reach Google, which this machine refuses.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def chromium():
    """A headless Chromium for one test module (``with chromium() as browser``)."""
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def start(page, url: str) -> None:
    """Open the page as a new observer: the instructions come first, whatever gave the id."""
    page.goto(url)
    page.wait_for_selector("#start:not(.hidden)")
    page.click("#begin")


def wait_for_new_pair(page, old: str | None) -> str:
    page.wait_for_function("(old) => document.body.dataset.pairId && document.body.dataset.pairId !== old", arg=old)
    return page.evaluate("document.body.dataset.pairId")
