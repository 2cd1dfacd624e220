"""Take the README's screenshot of the observer page (headless Chromium through Playwright).

    python docs/study/screenshot.py STUDY_DIR docs/study/page.png
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def main(study: str, out: str, port: int = 8791) -> None:
    server = subprocess.Popen([sys.executable, "-m", "mdfloss", "study", "serve", study, "--port", str(port),
                               "--seed", "1"])
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 420}, device_scale_factor=1)
            page.goto(f"http://127.0.0.1:{port}/?observer=readme")
            page.wait_for_selector("#start:not(.hidden)")  # a new observer reads the instructions first
            if page.is_visible("#consent-box"):
                page.check("#consent-box")
            page.click("#begin")
            page.wait_for_function("document.body.dataset.pairId")
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=out)
            browser.close()
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
