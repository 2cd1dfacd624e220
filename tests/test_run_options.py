"""Options every long run has: progress lines without a terminal, --config files, and --tensorboard."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
import torch

from .conftest import DATA, need
from .conftest import run_cli as run

HAS_TENSORBOARD = importlib.util.find_spec("tensorboard") is not None



def _smoke(tmp_path, *extra):
    return ["train-restorer", "--task", "denoise", "--loss", "l1", "--preset", "smoke", "--train-set",
            need(DATA / "Set5"), "--val-set", DATA / "Set5", "--out", tmp_path / "r", *extra]


def test_progress_lines_when_stderr_is_not_a_terminal(tmp_path):
    # As under nohup or Slurm: stderr is a file, so a bar would stay silent; plain lines are printed instead.
    args = [str(a) for a in _smoke(tmp_path, "--iterations", "6")]
    done = subprocess.run([sys.executable, "-m", "mdfloss", *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("denoise l1: ")]
    assert len(lines) == 6 and lines[-1].startswith("denoise l1: 6/6 (100%)"), done.stderr
    assert all(" it/s, ETA " in line and "loss=" in line for line in lines)
    assert "\r" not in done.stderr  # no bar redraws in a log file


def test_config_file_sets_options_and_the_command_line_wins(tmp_path, capsys):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"task: denoise\nloss: l1\npreset: smoke\niterations: 3\ntrain-set: {need(DATA / 'Set5')}\n"
                   f"val_set: {DATA / 'Set5'}\nseed: 4\n")
    code, out, err = run(capsys, "train-restorer", "--config", cfg, "--iterations", "2", "--out", tmp_path / "r")
    assert code == 0, err
    record = torch.load(tmp_path / "r" / "model.pt", weights_only=True)
    assert record["preset"]["iterations"] == 2  # the flag beats the file's 3
    assert record["seed"] == 4 and record["preset"]["train_set"] == str(DATA / "Set5")  # the file's values


@pytest.mark.parametrize("text, fragment", [
    ("nope: 1\n", "unknown key 'nope'"),
    ("iterations: many\n", "key 'iterations'"),
    ("resume: maybe\n", "key 'resume'"),
    ("- a list\n", "must hold a mapping"),
    ("task: [unclosed\n", "is not valid YAML"),
])
def test_config_file_refusals_name_the_key(tmp_path, capsys, text, fragment):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    code, out, err = run(capsys, "train-restorer", "--config", cfg, "--task", "jpeg", "--loss", "l1",
                         "--out", tmp_path / "r")
    assert code == 2 and fragment in err and err.count("\n") == 1, err
    assert not (tmp_path / "r").exists()
    code, out, err = run(capsys, "benchmark", "--config", tmp_path / "missing.yaml", "--task", "jpeg",
                         "--out", tmp_path / "b")
    assert code == 2 and "--config: cannot read" in err


@pytest.mark.skipif(not HAS_TENSORBOARD, reason="the [tensorboard] extra is not installed")
def test_tensorboard_logs_losses_and_a_restored_image(tmp_path, capsys):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    code, out, err = run(capsys, *_smoke(tmp_path, "--tensorboard"))
    assert code == 0, err
    events = EventAccumulator(str(tmp_path / "r" / "tensorboard")).Reload()
    assert "train/loss" in events.Tags()["scalars"] and "val/psnr_y" in events.Tags()["scalars"]
    assert "val/restored" in events.Tags()["images"]


@pytest.mark.skipif(HAS_TENSORBOARD, reason="the [tensorboard] extra is installed")
def test_tensorboard_without_the_extra_names_it(tmp_path, capsys):
    code, out, err = run(capsys, *_smoke(tmp_path, "--tensorboard"))
    assert code == 2 and "pip install 'mdfloss[tensorboard]'" in err and not (tmp_path / "r").exists()


def test_benchmark_reads_its_options_from_a_config_file(tmp_path, capsys):
    # --report-only on an empty folder trains nothing and names the losses it looked for: the file's, with the
    # command line's --seeds.
    cfg = tmp_path / "bench.yaml"
    cfg.write_text("task: jpeg\npreset: smoke\nlosses: l1,msssim\nseeds: 3\nreport-only: true\n")
    code, out, err = run(capsys, "benchmark", "--config", cfg, "--seeds", "2", "--out", tmp_path / "b")
    assert code == 2 and "no seed of l1, msssim is finished" in err, err
    assert "msssim (seed 1)" in err and "seed 2" not in err


def test_network_and_training_options_take_effect_are_recorded_and_resume_checks_them(tmp_path, capsys):
    from .conftest import set5_as

    root = set5_as(tmp_path / "data", "BSDS500_train", "CBSD68")
    args = ["train-restorer", "--task", "denoise", "--loss", "l1", "--preset", "smoke", "--data-root", root,
            "--iterations", "2", "--checkpoint-every", "1"]
    code, out, err = run(capsys, *args, "--out", tmp_path / "r", "--lr", "0.001", "--patch", "32", "--width", "8",
                         "--depth", "3")
    assert code == 0, err
    record = torch.load(tmp_path / "r" / "model.pt", weights_only=True)
    assert record["preset"]["lr"] == 0.001 and record["preset"]["patch"] == 32
    assert record["preset"]["model"] == {"arch": "dncnn", "depth": 3, "channels": 8}
    # the network really has that shape: 3 convs of 8 channels
    convs = [v for k, v in record["model"].items() if k.endswith("weight") and v.ndim == 4]
    assert len(convs) == 3 and convs[0].shape[0] == 8
    # and the learning rate is the one Adam used (the log's lr column)
    log = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert max(r["lr"] for r in log if r.get("event") == "train") == 0.001  # then halved by the schedule
    code, out, err = run(capsys, *args, "--out", tmp_path / "r", "--resume", "--lr", "0.001", "--patch", "32",
                         "--width", "16", "--depth", "3")
    assert code == 2 and "started with preset.model.channels=8, not 16" in err


@pytest.mark.parametrize("extra, message", [
    (["--arch", "edsr"], "--arch: edsr does not fit task 'denoise'; use dncnn"),
    (["--width", "0"], "--width: expected a positive integer, got 0"),
    (["--depth", "-1"], "--depth: expected a positive integer"),
    (["--lr", "0"], "--lr: expected a positive learning rate"),
    (["--lr", "inf"], "--lr: expected a positive learning rate"),
])
def test_network_option_refusals(tmp_path, capsys, extra, message):
    code, out, err = run(capsys, "train-restorer", "--task", "denoise", "--loss", "l1", "--out", tmp_path / "r",
                         *extra)
    assert code == 2 and message in err and err.count("\n") == 1, err


def test_sr_patch_must_divide_by_the_scale(tmp_path, capsys):
    code, out, err = run(capsys, "train-restorer", "--task", "sisr", "--loss", "l1", "--out", tmp_path / "r",
                         "--patch", "30", "--arch", "srresnet")
    assert code == 2 and "--patch: 30 is not a multiple of the task's size factor 4" in err


def test_a_spandrel_architecture_trains_from_scratch_by_name(tmp_path, capsys):
    pytest.importorskip("spandrel")
    from .conftest import set5_as

    root = set5_as(tmp_path / "data", "BSDS500_train", "Set5")
    code, out, err = run(capsys, "train-restorer", "--task", "sisr", "--loss", "l1", "--preset", "smoke",
                         "--data-root", root, "--iterations", "1", "--arch", "spandrel:Compact", "--patch", "48",
                         "--out", tmp_path / "r")
    assert code == 0, err
    record = torch.load(tmp_path / "r" / "model.pt", weights_only=True)
    assert record["preset"]["model"] == {"arch": "spandrel", "architecture": "Compact", "scale": 4, "built": "Compact"}
    from mdfloss.restoration.evaluate import load_restorer

    model, _ = load_restorer(tmp_path / "r" / "model.pt")  # loads like any spandrel network
    assert model(torch.rand(1, 3, 8, 8)).shape == (1, 3, 32, 32)
    code, out, err = run(capsys, "train-restorer", "--task", "sisr", "--loss", "l1", "--arch", "spandrel:NoSuchNet",
                         "--out", tmp_path / "r2")
    assert code == 2 and "spandrel has no architecture 'NoSuchNet'; choose from" in err
    code, out, err = run(capsys, "train-restorer", "--task", "sisr", "--loss", "l1", "--arch", "spandrel:Compact",
                         "--width", "8", "--out", tmp_path / "r3")
    assert code == 2 and "built with its own defaults" in err
