"""Small study folders for the study tests: a reference set and methods that add more or less noise."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

NOISE = {"clean": 0, "mild": 8, "strong": 40}


def make_folders(root: Path, n_images: int = 3, size: tuple[int, int] = (64, 48)) -> tuple[Path, dict[str, Path]]:
    rng = np.random.default_rng(0)
    ref = root / "ref"
    ref.mkdir(parents=True)
    methods = {name: root / name for name in NOISE}
    for d in methods.values():
        d.mkdir()
    for k in range(n_images):
        img = rng.integers(0, 256, (size[1], size[0], 3)).astype(np.int16)
        Image.fromarray(img.astype(np.uint8)).save(ref / f"img{k}.png")
        for name, sigma in NOISE.items():
            noisy = np.clip(img + rng.normal(0, sigma or 1e-9, img.shape), 0, 255).astype(np.uint8)
            Image.fromarray(noisy).save(methods[name] / f"img{k}.png")
    return ref, methods


def make_study(root: Path, **kw) -> Path:
    from mdfloss.study.create import build_study, load_folders

    ref, methods = make_folders(root)
    refs, images = load_folders(ref, list(methods.items()))
    build_study(root / "study", refs, images, **kw)
    return root / "study"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(study: Path, *extra: str):
    """``mdfloss study serve`` on a free port for a ``with`` block; yields the page's address."""
    port = free_port()
    server = start_server(study, port, *extra)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def start_server(study: Path, port: int, *extra: str) -> subprocess.Popen:
    """``mdfloss study serve`` in a child process, returned once it answers."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "mdfloss", "study", "serve", str(study), "--port", str(port),
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server stopped: {proc.stdout.read().decode()}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
            return proc
        except OSError as exc:
            if getattr(exc, "code", None) == 401:  # up, and asking for its token
                return proc
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start within 60 s")
