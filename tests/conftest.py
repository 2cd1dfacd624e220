from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch


REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REFERENCE = SHARED / "reference"
DATA = SHARED / "data"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared is laid out beside the checkout)")
    return path


@pytest.fixture(scope="session")
def expected_values() -> dict:
    return json.loads(need(REFERENCE / "expected_values.json").read_text())


@pytest.fixture()
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(1234)
