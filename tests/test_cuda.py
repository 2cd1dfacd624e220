"""On a CUDA machine: the loss matches the CPU and both trainers run. Skipped without a GPU."""

from __future__ import annotations

import pytest
import torch

from mdfloss import MDFLoss

from .conftest import DATA, need

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


@pytest.mark.parametrize("mode", ["reference", "pyramid"])
def test_cuda_loss_and_gradient_match_cpu(mode):
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(2, 3, 64, 64, generator=g), torch.rand(2, 3, 64, 64, generator=g)
    loss = MDFLoss.pretrained("published-sisr", mode=mode)
    xc = x.clone().requires_grad_(True)
    xg = x.cuda().requires_grad_(True)
    cpu, gpu = loss(xc, y), loss(xg, y.cuda())
    cpu.backward()
    gpu.backward()
    # TF32 may be on for convolutions; the published parity (1e-5) is a CPU float32 statement.
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=2e-3, atol=0)
    torch.testing.assert_close(xg.grad.cpu(), xc.grad, rtol=2e-2, atol=1e-6)
    assert all(b.device.type == "cuda" and b.dtype == torch.float32 for b in loss.buffers())


def test_cuda_phase1_smoke(tmp_path):
    from mdfloss.phase1 import Phase1Config, train_loss

    cfg = Phase1Config(max_size=40, iterations=3, critic_steps=1, generator_steps=1, max_width=32)
    w = train_loss("jpeg", out=tmp_path / "g.safetensors", config=cfg, device="cuda", progress=False)
    assert w.metadata["training_run"]["device"].startswith("cuda") and (tmp_path / "g.safetensors").is_file()


def test_cuda_restorer_smoke(tmp_path):
    from dataclasses import replace

    from mdfloss.restoration.presets import restorer_preset
    from mdfloss.restoration.train import train_restorer

    s5 = str(need(DATA / "Set5"))
    p = replace(restorer_preset("sisr", "smoke"), train_set=s5, val_set=s5, iterations=2)
    out = train_restorer("sisr", "l1+0.01*mdf:sisr@pyramid", tmp_path / "r", p, device="cuda", progress=False)
    assert out.is_file()
    # restore --device cuda: the same PNGs as on the CPU (to the 8-bit step; TF32 may differ in the last bits)
    import numpy as np
    from PIL import Image

    from mdfloss.restoration.restore import restore_files

    for device in ("cpu", "cuda"):
        restore_files(out, s5, tmp_path / device, tile=32, overlap=16, device=device, progress=False)
    for f in (tmp_path / "cpu").iterdir():
        a = np.asarray(Image.open(f), dtype=int)
        b = np.asarray(Image.open(tmp_path / "cuda" / f.name), dtype=int)
        assert np.abs(a - b).max() <= 1, f.name
