"""A benchmark spread over processes: ``--only`` runs at the same time into one folder, then ``--report-only``."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from mdfloss.cli import main

from .conftest import set5_as

TIMING = {"seconds", "patches_per_s", "cost_vs_reference"}


def _bench(*args: str, wait: bool = True):
    """``mdfloss benchmark --task denoise --preset smoke ARGS``: in its own process when it must run beside another
    (``wait=False``), else in this one (the CLI's entry point, without a second torch import)."""
    cmd = ["benchmark", "--task", "denoise", "--preset", "smoke", *args]
    if not wait:
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        return subprocess.Popen([sys.executable, "-m", "mdfloss", *cmd], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(cmd)
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def _numbers(report: dict) -> dict:
    # Everything but the wall-clock timings, which differ from run to run.
    results = {s: {loss: {k: v for k, v in r.items() if k not in TIMING} for loss, r in by_loss.items()}
               for s, by_loss in report["results"].items()}
    return {"results": results, "verdicts": report["verdicts"], "seeds": report["seeds"]}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return set5_as(tmp_path_factory.mktemp("data"), "BSDS500_train", "CBSD68", "McMaster")


def test_two_only_runs_at_once_then_report_only_equal_one_process(tmp_path, root):
    # In its own single-threaded process, as the --only runs are: their numbers must match to the last bit.
    single = _bench("--losses", "l1,l2", "--out", str(tmp_path / "single"), "--data-root", str(root), wait=False)
    assert single.wait(timeout=600) == 0, single.stderr.read()
    spread = tmp_path / "spread"
    procs = [_bench("--only", spec, "--seed", "0", "--out", str(spread), "--data-root", str(root), wait=False)
             for spec in ("l1", "l2")]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    # Both needed the pretraining: it was trained once, under the lock, and reused by the other.
    log = lambda d: (d / "pretrain_l1" / "metrics.jsonl").read_text().splitlines()  # noqa: E731
    assert len(log(spread)) == len(log(tmp_path / "single"))  # not trained twice, nor resumed
    assert not (spread / "results.md").exists()  # --only writes no report
    rep = _bench("--report-only", "--losses", "l1,l2", "--out", str(spread), "--data-root", str(root), wait=False)
    stdout, stderr = rep.communicate(timeout=600)
    assert rep.returncode == 0, stderr
    assert "missing" not in stdout
    a = json.loads((tmp_path / "single" / "results.json").read_text())
    b = json.loads((spread / "results.json").read_text())
    assert _numbers(a) == _numbers(b) and b["missing"] == []


def test_report_only_lists_what_is_missing(tmp_path, root):
    out = tmp_path / "b"
    assert _bench("--only", "l1", "--seed", "0", "--out", str(out), "--data-root", str(root)).returncode == 0
    assert _bench("--only", "l2", "--seed", "0", "--out", str(out), "--data-root", str(root)).returncode == 0
    assert _bench("--only", "l1", "--seed", "1", "--out", str(out), "--data-root", str(root)).returncode == 0
    rep = _bench("--report-only", "--losses", "l1,l2,msssim", "--seeds", "2", "--out", str(out),
                 "--data-root", str(root))
    assert rep.returncode == 0, rep.stderr
    assert "missing: msssim (seed 0)" in rep.stdout and "missing: l2 (seed 1)" in rep.stdout
    assert "l1 (seed 1: left out, not finished for every loss)" in rep.stdout
    report = json.loads((out / "results.json").read_text())
    assert report["seeds"] == [0] and set(next(iter(report["results"].values()))) == {"l1", "l2"}
    # Named sets are recorded by name, not by this machine's data root, so the report reads the same elsewhere.
    assert report["set_paths"] == {"CBSD68": "CBSD68", "McMaster": "McMaster"}
    assert "**Incomplete (--report-only):**" in (out / "results.md").read_text()


@pytest.mark.parametrize("args,fragment", [
    (["--only", "l1", "--report-only"], "give one"),
    (["--base-seed", "1", "--report-only"], "--base-seed: only with --only"),
    (["--only", "l1", "--seeds", "2"], "one --only job per seed"),
    (["--only", "l9"], "unknown loss 'l9'"),
    (["--report-only"], "is finished in every loss"),
])
def test_spread_refusals(tmp_path, root, args, fragment):
    proc = _bench(*args, "--out", str(tmp_path / "r"), "--data-root", str(root))
    assert proc.returncode == 2 and fragment in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r" / "results.md").exists()


def test_only_under_torchrun_needs_the_pretraining_first_then_trains_on_two_ranks(tmp_path, root):
    out = tmp_path / "t"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2", "-m", "mdfloss", "benchmark",
                "--task", "denoise", "--preset", "smoke", "--only", "l1", "--out", str(out), "--data-root", str(root)]
    first = subprocess.run(torchrun, capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode != 0 and "run 'mdfloss benchmark --only pretrain'" in first.stderr
    assert _bench("--only", "pretrain", "--out", str(out), "--data-root", str(root)).returncode == 0
    second = subprocess.run(torchrun, capture_output=True, text=True, env=env, timeout=300)
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("wrote") == 1  # rank 0 alone writes and says so
    assert (out / "loss_l1" / "model.pt").is_file() and (out / "per_image_CBSD68_l1.settings.json").is_file()
