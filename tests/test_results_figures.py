"""tools/results_figures.py: figures of committed benchmark folders from their CSVs alone."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mdfloss.restoration.benchmark import run_name
from mdfloss.restoration.stats import seeded_difference

pytest.importorskip("matplotlib")
TOOL = Path(__file__).resolve().parents[1] / "tools" / "results_figures.py"
LOSSES = {"l1": 0.0, "l2": 0.05, "l2+0.1*mdf:sisr": 0.2}  # an offset per loss, so the differences are known


def _write_folder(folder: Path, seeds: int = 2) -> dict:
    folder.mkdir()
    per_seed: dict = {}
    for loss, offset in LOSSES.items():
        per_seed[loss] = []
        for s in range(seeds):
            rows = [{"image": f"im{i}", "jod": 8 + offset + 0.01 * i + 0.003 * s * (i % 2),
                     "flip": 0.1 - offset / 10 + 0.001 * i, "psnr_rgb": 25 + i - offset} for i in range(5)]
            per_seed[loss].append({r["image"]: r for r in rows})
            name = f"per_image_SetA_{run_name(loss, s, 0)}.csv"  # as the benchmark names them
            with open(folder / name, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(rows[0]))
                w.writeheader()
                w.writerows(rows + [{"image": "MEAN", "jod": 0, "flip": 0, "psnr_rgb": 0}])
    (folder / "results.json").write_text(json.dumps({"task": "sisr", "results": {"SetA": {k: {} for k in LOSSES}}}))
    (folder / "bars_jod.png").write_bytes(b"old chart")
    return per_seed


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, check=False)


def test_replot_draws_difference_plots_and_removes_the_bar_charts(tmp_path):
    _write_folder(tmp_path / "r")
    done = _run("replot", str(tmp_path / "r"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r" / "diffs_SetA.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list((tmp_path / "r").glob("bars_*.png"))


def test_summary_compares_with_the_best_standard_loss_per_metric(tmp_path):
    per_seed = _write_folder(tmp_path / "r")
    mix = "l2+0.1*mdf:sisr"
    done = _run("summary", "--out", str(tmp_path / "s.png"), f"mix={tmp_path / 'r'}:SetA:{mix}")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "s.png").exists()

    def runs(loss, metric):
        return [{k: v[metric] for k, v in seed.items()} for seed in per_seed[loss]]

    # JOD and FLIP: L2 is the best standard loss (higher JOD, lower FLIP); PSNR: L1
    expected = {"jod": ("l2", seeded_difference(runs(mix, "jod"), runs("l2", "jod"))),
                "flip": ("l2", seeded_difference(runs(mix, "flip"), runs("l2", "flip"))),
                "psnr_rgb": ("l1", seeded_difference(runs(mix, "psnr_rgb"), runs("l1", "psnr_rgb")))}
    line = done.stdout.strip().splitlines()[-1]
    for metric, (best, interval) in expected.items():
        assert f"{metric} {interval.mean:+.4f} ± {interval.half:.4f} vs {best}" in line
    assert abs(expected["jod"][1].mean - 0.15) < 1e-9  # 0.2 - 0.05, the offsets written above


def test_summary_names_a_loss_the_folder_lacks(tmp_path):
    _write_folder(tmp_path / "r")
    done = _run("summary", "--out", str(tmp_path / "s.png"), f"x={tmp_path / 'r'}:SetA:mdf:jpeg")
    assert done.returncode != 0
    assert "has no loss 'mdf:jpeg'" in done.stderr


def test_sweep_plots_each_loss_against_the_reference(tmp_path):
    per_seed = _write_folder(tmp_path / "r")
    done = _run("sweep", "--out", str(tmp_path / "w.png"), "--folder", str(tmp_path / "r"), "--set", "SetA",
                "--reference", "l2", "0.5=l2+0.1*mdf:sisr", "0.1=l1")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "w.png").exists()
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("0.1 l1:") and lines[1].startswith("0.5 l2+0.1*mdf:sisr:")  # sorted by x
    jod = seeded_difference([{k: v["jod"] for k, v in s.items()} for s in per_seed["l1"]],
                            [{k: v["jod"] for k, v in s.items()} for s in per_seed["l2"]])
    assert f"jod {jod}" in lines[0]
