from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch


REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REFERENCE = SHARED / "reference"
# The data sets: $MDFLOSS_DATA when it is set (a user's own copy), else the development folder beside the checkout.
DATA = Path(os.environ["MDFLOSS_DATA"]) if os.environ.get("MDFLOSS_DATA") else SHARED / "data"

# Under pytest-xdist (pyproject.toml runs two workers) each worker, and every process its tests start, uses one
# torch thread: two workers with a thread per core never oversubscribe the cores, which slows torch many times.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"
    torch.set_num_threads(1)

# The named sets the tests read (a user points MDFLOSS_DATA at their own, or downloads into the cache).
if "MDFLOSS_DATA" not in os.environ and DATA.is_dir():
    os.environ["MDFLOSS_DATA"] = str(DATA)


def run_cli(capsys, *args):
    """``mdfloss ARGS`` through the CLI's entry point in this process: (exit status, stdout, stderr)."""
    from mdfloss.cli import main

    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def set5_as(root: Path, *names: str) -> Path:
    """A data root in which each named set is Set5 (a symlink): small sets for smoke runs of any task."""
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / name).symlink_to(need(DATA / "Set5"))
    return root


def need(path: Path) -> Path:
    if not path.exists():
        where = ("point $MDFLOSS_DATA at the data sets (mdfloss data download NAME fetches them)"
                 if DATA in path.parents or path == DATA else "the reference files are laid out beside the checkout")
        pytest.skip(f"{path} is not available: {where}")
    return path


@pytest.fixture(scope="session")
def expected_values() -> dict:
    return json.loads(need(REFERENCE / "expected_values.json").read_text())


@pytest.fixture()
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for a browser test module (see ``browser_helpers``)."""
    from .browser_helpers import chromium

    with chromium() as b:
        yield b


def benchmark_module(name: str):
    """A module of benchmarks/ (scripts and their helpers are not part of the package)."""
    import importlib.util

    import sys

    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
