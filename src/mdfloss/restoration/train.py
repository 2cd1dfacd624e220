"""``train_restorer``: train a restoration network with any loss, on one process or many.

Under ``torchrun --nproc-per-node=N`` the same call runs DDP (gloo on CPU, NCCL on
GPU): the global batch is split over the ranks by a DistributedSampler, so N processes
see exactly the patches one process would; only rank 0 writes files; logged losses are
averaged over ranks. Models with BatchNorm use per-rank batch statistics on CPU
(SyncBatchNorm on CUDA), so only BatchNorm-free models (EDSR) match one process exactly.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler
from tqdm.auto import tqdm

from ..checkpoint import load_latest, save_checkpoint
from ..errors import InvalidInputError, OutputPathError
from ..fileio import atomic_write_bytes
from ..trainer import resolve_device
from .data import EvalPairs, TrainPatches, resolve_set
from .degradations import Degradation
from .losses import build_loss
from .metrics import fidelity
from .models import build_model
from .presets import RestorerPreset


class _ResumableSampler(DistributedSampler):
    """DistributedSampler that leaves out the first ``skip`` indices of this rank (a resumed run)."""

    def __init__(self, *args: Any, skip: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.skip = skip

    def __iter__(self):
        return itertools.islice(super().__iter__(), self.skip, None)

    def __len__(self) -> int:
        return super().__len__() - self.skip


def _dist_info() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_distributed(device: torch.device) -> bool:
    """Join the process group torchrun describes; False when not under torchrun."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return False
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return True


def _mean_over_ranks(values: dict[str, float], device: torch.device) -> dict[str, float]:
    rank, world = _dist_info()
    if world == 1:
        return values
    t = torch.tensor(list(values.values()), dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return dict(zip(values, (t / world).tolist()))


def lr_at(preset: RestorerPreset, it: int) -> float:
    return preset.lr * 0.5 ** sum(it >= f * preset.iterations for f in preset.decay_at)


@torch.no_grad()
def validate(model: torch.nn.Module, pairs: EvalPairs, count: int, border: int, device: torch.device) -> dict[str, float]:
    model.eval()
    rows = []
    for i in range(min(count, len(pairs))):
        _, lq, hq = pairs[i]
        out = model(lq[None].to(device)).clamp(0, 1).cpu()
        rows.append(fidelity(out, hq[None], border))
    model.train()
    return {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}


def train_restorer(
    task: str,
    loss: str,
    out_dir: str | Path,
    preset: RestorerPreset,
    *,
    init: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    seed: int = 0,
    device: str = "auto",
    data_root: Path | None = None,
    checkpoint_every: int = 100,
    progress: bool | None = None,
    stop_after: int | None = None,
) -> Path | None:
    """Train, checkpoint and write ``out_dir/model.pt`` (weights-only) and ``out_dir/metrics.jsonl``.

    Returns the model path on rank 0 (None on other ranks or when stopped by ``stop_after``).
    """
    dev = resolve_device(device)
    joined = init_distributed(dev)
    rank, world = _dist_info()
    if dev.type == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(dev)
    if preset.batch % world:
        raise InvalidInputError(f"batch: the global batch {preset.batch} must divide by the {world} processes")
    out_dir = Path(out_dir)
    final = out_dir / "model.pt"
    if final.exists() and not force and not resume:
        raise OutputPathError(f"out: '{final}' already exists; pass --force to overwrite or --resume")
    degradation = Degradation(task, **preset.degradation)
    criterion = build_loss(loss).to(dev)
    with torch.random.fork_rng(devices=[]):  # seeded initialisation without touching the caller's RNG
        torch.manual_seed(seed)
        model = build_model(preset.model, scale=degradation.factor).to(dev)
    if init is not None:
        state = torch.load(init, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"] if "model" in state else state)
    if world > 1 and dev.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    opt = torch.optim.Adam(model.parameters(), lr=preset.lr, betas=(0.9, 0.99))
    # Read the data before anything is written, so a bad set leaves no output behind.
    train_set = TrainPatches(resolve_set(preset.train_set, data_root), degradation, preset.patch,
                             length=preset.iterations * preset.batch, seed=seed)
    val = EvalPairs(resolve_set(preset.val_set, data_root), degradation, seed=seed) if preset.val_images else None
    start = 0
    work = out_dir / "checkpoints"
    if rank == 0:
        try:
            work.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputPathError(f"out: cannot create '{out_dir}' ({exc.strerror})") from None
    if resume:
        payload, _ = load_latest(work)
        if payload is not None:
            model.load_state_dict(payload["model"])
            opt.load_state_dict(payload["opt"])
            start = payload["iteration"]
    net: torch.nn.Module = DistributedDataParallel(model) if world > 1 else model
    sampler = _ResumableSampler(train_set, num_replicas=world, rank=rank, shuffle=False, drop_last=True,
                                skip=start * (preset.batch // world))
    # Item i of the dataset is drawn from its own seed, so the order of items fixes the batches:
    # rank r of step s takes items s*B + r + k*world, and the ranks together take s*B .. s*B+B-1.
    loader = DataLoader(train_set, batch_size=preset.batch // world, sampler=sampler, num_workers=0)
    log = open(out_dir / "metrics.jsonl", "a", encoding="utf-8") if rank == 0 else None
    show = rank == 0 and (progress if progress is not None else os.isatty(2))
    bar = tqdm(total=preset.iterations, initial=start, disable=not show, desc=f"{task} {loss}", unit="it")
    t0, seen = time.perf_counter(), 0
    try:
        batches = iter(loader)
        for it in range(start, preset.iterations):
            lq, hq = next(batches)
            lq, hq = lq.to(dev), hq.to(dev)
            for group in opt.param_groups:
                group["lr"] = lr_at(preset, it)
            pred = net(lq)
            value = criterion(pred, hq)
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
            seen += preset.batch
            stats = _mean_over_ranks({"loss": value.item()}, dev)
            bar.update(1)
            bar.set_postfix(loss=f"{stats['loss']:.4f}")
            if log and (it % 10 == 0 or it == preset.iterations - 1):
                log.write(json.dumps({"event": "train", "iteration": it, "lr": lr_at(preset, it), **stats,
                                      "patches_per_s": seen / (time.perf_counter() - t0)}) + "\n")
                log.flush()
            if val is not None and rank == 0 and ((it + 1) % preset.val_every == 0 or it + 1 == preset.iterations):
                log.write(json.dumps({"event": "val", "iteration": it + 1, "set": preset.val_set,
                                      **validate(model, val, preset.val_images, degradation.factor, dev)}) + "\n")
                log.flush()
            if rank == 0 and (it + 1) % checkpoint_every == 0 and it + 1 < preset.iterations:
                save_checkpoint(work, it + 1, {"model": model.state_dict(), "opt": opt.state_dict(), "iteration": it + 1})
            if stop_after is not None and it + 1 - start >= stop_after:
                return None
        if rank == 0:
            import io

            buf = io.BytesIO()
            torch.save({"model": model.state_dict(), "task": task, "loss": loss, "preset": preset.to_dict(),
                        "seed": seed, "world_size": world, "seconds": time.perf_counter() - t0,
                        "patches_per_s": seen / (time.perf_counter() - t0)}, buf)
            atomic_write_bytes(final, buf.getvalue())
            return final
        return None
    finally:
        bar.close()
        if log:
            log.close()
        if joined:
            dist.barrier()
            dist.destroy_process_group()
