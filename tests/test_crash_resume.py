"""kill -9 a running `mdfloss train` at several points, resume, and get the uninterrupted weights bit for bit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from mdfloss import load_loss_file
from mdfloss.common.checkpoint import list_checkpoints

# The fast preset's 6 scales, 5 iterations each, a checkpoint every 2 iterations.
ARGS = ["--task", "jpeg", "--preset", "fast", "--iterations", "5", "--checkpoint-every", "2", "--seed", "11",
        "--device", "cpu"]  # bitwise equality is asserted: never let it run on a GPU


def _cmd(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mdfloss", "train", *ARGS, "--out", str(out), *extra]


def _env() -> dict:
    return dict(os.environ, OMP_NUM_THREADS="1")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("full") / "full.safetensors"
    subprocess.run(_cmd(out), check=True, env=_env(), capture_output=True)
    return load_loss_file(out).critics


def _kill_when(cmd: list[str], work: Path, checkpoint: int, timeout: float = 120) -> None:
    """Start ``cmd`` and SIGKILL it once checkpoint number >= ``checkpoint`` exists in ``work``
    (``checkpoint`` 0: as soon as the run has started its log)."""
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            names = [p.name for p in list_checkpoints(work)]
            if checkpoint == 0 and (work / "log.jsonl").exists() or names and int(names[0][5:11]) >= checkpoint:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()


@pytest.mark.parametrize("checkpoints", [0, 3, 14], ids=["before-first-checkpoint", "mid-scale", "later-scale"])
def test_kill_and_resume_matches_uninterrupted(tmp_path, uninterrupted, checkpoints):
    out = tmp_path / "run.safetensors"
    _kill_when(_cmd(out), out.with_name(out.name + ".work"), checkpoints)
    assert not out.exists(), "no output may appear before the run has finished"
    proc = subprocess.run(_cmd(out, "--resume"), env=_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    resumed = load_loss_file(out).critics
    assert len(resumed) == len(uninterrupted) == 6
    for a, b in zip(uninterrupted, resumed):
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), k
    events = [json.loads(line) for line in (out.with_name(out.name + ".work") / "log.jsonl").read_text().splitlines()]
    resumed_at = [(e["scale"], e["iteration"]) for e in events if e["event"] == "resumed"]
    if checkpoints == 0 and not resumed_at:
        return  # killed before the first checkpoint: a fresh start is the right thing
    # The second process continued from the checkpoint the first one left, not from scratch.
    assert len(resumed_at) == 1 and resumed_at[0] != (0, 0), resumed_at


RESTORER = ["train-restorer", "--task", "sisr", "--loss", "l1", "--preset", "smoke", "--iterations", "12",
            "--checkpoint-every", "2", "--seed", "4", "--device", "cpu"]


def _restorer_cmd(out: Path, *extra: str) -> list[str]:
    from .conftest import DATA, need

    s5 = str(need(DATA / "Set5"))
    return [sys.executable, "-m", "mdfloss", *RESTORER, "--train-set", s5, "--val-set", s5, "--out", str(out), *extra]


@pytest.fixture(scope="module")
def restorer_uninterrupted(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("rfull")
    subprocess.run(_restorer_cmd(out), check=True, env=_env(), capture_output=True)
    return torch.load(out / "model.pt", weights_only=True)["model"]


@pytest.mark.parametrize("checkpoint", [2, 8], ids=["early", "late"])
def test_kill_restorer_and_resume(tmp_path, restorer_uninterrupted, checkpoint):
    out = tmp_path / "r"
    _kill_when(_restorer_cmd(out), out / "checkpoints", checkpoint)
    assert not (out / "model.pt").exists()
    done = subprocess.run(_restorer_cmd(out, "--resume"), env=_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    resumed = torch.load(out / "model.pt", weights_only=True)["model"]
    assert resumed.keys() == restorer_uninterrupted.keys()
    assert all(torch.equal(restorer_uninterrupted[k], resumed[k]) for k in resumed)
    lines = (out / "metrics.jsonl").read_text().splitlines()
    starts = [json.loads(line)["iteration"] for line in lines if '"resumed"' in line]
    assert len(starts) == 1 and starts[0] >= checkpoint, starts
