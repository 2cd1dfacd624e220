"""Drop-ins for the tools people train with: networks from other projects through spandrel, and BasicSR's
LOSS_REGISTRY (a real BasicSR training from the shipped example YAML)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from .conftest import DATA, REPO, need
from .conftest import run_cli as run


@pytest.fixture()
def compact(tmp_path):
    """A small Real-ESRGAN Compact network (4x), saved as its own project saves it."""
    spandrel = pytest.importorskip("spandrel")
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(0)
    net = Compact(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=4)
    path = tmp_path / "compact_x4.pth"
    torch.save({"params": net.state_dict()}, path)
    assert spandrel.ModelLoader().load_from_file(path).architecture.id == "Compact"
    return path, net


def test_spandrel_network_fine_tunes_and_is_scored(tmp_path, compact, capsys):
    path, net = compact
    code, out, err = run(capsys, "train-restorer", "--task", "sisr", "--init", path, "--loss", "l1", "--preset", "smoke",
                         "--iterations", "2", "--train-set", need(DATA / "Set5"), "--val-set", DATA / "Set5",
                         "--out", tmp_path / "ft")
    assert code == 0, err
    record = torch.load(tmp_path / "ft" / "model.pt", weights_only=True)
    assert record["preset"]["model"] == {"arch": "spandrel", "architecture": "Compact", "scale": 4}
    tuned = {k: v for k, v in record["model"].items()}
    assert any(not torch.equal(tuned[k], v) for k, v in net.state_dict().items())  # it trained
    for model, extra in ((tmp_path / "ft" / "model.pt", []), (path, ["--task", "sisr"])):
        code, out, err = run(capsys, "evaluate", "--model", model, *extra, "--set", DATA / "Set5", "--limit", "1",
                             "--no-perceptual")
        assert code == 0 and "psnr_y" in out, err


def test_unrecognised_or_mismatched_weight_files_are_refused(tmp_path, compact, capsys):
    pytest.importorskip("spandrel")
    junk = tmp_path / "junk.pth"
    torch.save({"conv.weight": torch.zeros(3, 3, 3, 3)}, junk)
    code, out, err = run(capsys, "train-restorer", "--task", "sisr", "--init", junk, "--loss", "l1",
                         "--out", tmp_path / "a")
    assert code == 2 and "nor a network spandrel recognises" in err and err.count("\n") == 1, err
    code, out, err = run(capsys, "train-restorer", "--task", "denoise", "--init", compact[0], "--loss", "l1",
                         "--out", tmp_path / "b")
    assert code == 2 and "4x Compact network; task 'denoise'" in err, err


@pytest.mark.skipif(not __import__("importlib").util.find_spec("basicsr"), reason="BasicSR is not installed "
                    "(pip install 'mdfloss[basicsr]')")
def test_basicsr_trains_with_mdfloss_from_the_example_yaml(tmp_path):
    # The example as a user runs it, from another folder, with the YAML unchanged: it makes its tiny data there
    # and writes its experiments there, nothing in the checkout.
    before = sorted(p.name for p in (REPO / "examples" / "basicsr").iterdir())
    done = subprocess.run([sys.executable, str(REPO / "examples" / "basicsr" / "train.py"), "-opt",
                           str(REPO / "examples" / "basicsr" / "train_mdf_tiny.yml")], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert len(list((tmp_path / "datasets" / "tiny" / "lr_x4").glob("*.png"))) == 4
    log = "".join(p.read_text() for p in (tmp_path / "experiments").rglob("train_*.log"))
    assert "Loss [MDFLoss] is created" in log and "l_percep" in log  # BasicSR logged the MDF term
    assert sorted(p.name for p in (REPO / "examples" / "basicsr").iterdir()) == before
    assert not (REPO / "experiments").exists() and not (REPO / "datasets").exists()
    assert list((tmp_path / "experiments").rglob("net_g_4.pth"))  # and saved the network it trained
