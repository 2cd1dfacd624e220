"""``train_restorer``: train a restoration network with any loss, on one process or many.

Under ``torchrun --nproc-per-node=N`` the same call runs DDP (gloo on CPU, NCCL on
GPU): the global batch is split over the ranks by a DistributedSampler, so N processes
see exactly the patches one process would; only rank 0 writes files; logged losses are
averaged over ranks. Models with BatchNorm use per-rank batch statistics on CPU
(SyncBatchNorm on CUDA), so only BatchNorm-free models (EDSR) match one process exactly.
"""

from __future__ import annotations

import io
import itertools
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from mdfloss.common.checkpoint import list_checkpoints, load_latest, save_checkpoint
from mdfloss.common.device import (
    dist_info,
    init_distributed,
    local_device,
    mean_over_ranks,
    resolve_device,
)
from mdfloss.common.errors import InvalidInputError, OutputPathError, WeightFileError
from mdfloss.common.extras import require
from mdfloss.common.files import atomic_write_bytes
from mdfloss.common.progress import progress_bar
from mdfloss.common.runs import (
    JsonlLog,
    load_checked,
    prepare_workdir,
    sha256_file,
    step_lr,
)
from mdfloss.common.tensorboard import TensorBoard
from mdfloss.restoration import foreign_models
from mdfloss.restoration.data import EvalPairs, TrainPatches, resolve_set
from mdfloss.restoration.evaluate import is_restorer_file
from mdfloss.restoration.losses import WeightedSum, build_loss
from mdfloss.restoration.losses.spec import implicit_settings
from mdfloss.restoration.metrics import fidelity
from mdfloss.restoration.models import MODEL_KIND, build_model
from mdfloss.restoration.presets import RestorerPreset
from mdfloss.tasks import Task, get_task


class _ResumableSampler(DistributedSampler):
    """DistributedSampler that leaves out the first ``skip`` indices of this rank (a resumed run)."""

    def __init__(self, *args: Any, skip: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.skip = skip

    def __iter__(self):
        return itertools.islice(super().__iter__(), self.skip, None)

    def __len__(self) -> int:
        return super().__len__() - self.skip


def lr_at(preset: RestorerPreset, it: int) -> float:
    return step_lr(preset.lr, it, preset.iterations, preset.decay_at, 0.5)


@torch.no_grad()
def validate(model: torch.nn.Module, pairs: EvalPairs, count: int, border: int,
             device: torch.device) -> dict[str, float]:
    model.eval()
    rows = []
    for i in range(min(count, len(pairs))):
        _, lq, hq = pairs[i]
        out = model(lq[None].to(device)).clamp(0, 1).cpu()
        rows.append(fidelity(out, hq[None], border))
    model.train()
    return {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}


def load_init(model: torch.nn.Module, path: str | Path, task: str) -> None:
    """Load the weights of ``--init`` into ``model``: a train-restorer model of the same task and network.

    Raises:
        WeightFileError: missing, unreadable, another kind of file, another task or another network.
    """
    record = load_checked(path, argument="init", kind=MODEL_KIND)
    state = record.get("model", record) if isinstance(record, dict) else record
    if isinstance(record, dict) and "task" in record and record["task"] != task:
        raise WeightFileError(f"init: '{path}' was trained for task {record['task']!r}, not {task!r}")
    try:
        model.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001 - a shape or key mismatch is another network
        first = str(exc).strip().splitlines()[0][:160]
        raise WeightFileError(f"init: '{path}' holds weights of another network or is {MODEL_KIND[2:]} for "
                              f"other settings ({first})") from None


def _foreign_network(init: str | Path, preset: RestorerPreset, task: str) -> tuple[torch.nn.Module, dict] | None:
    """Another project's network in ``--init`` (checked against the task) and the ``model`` entry to record for
    it; None when ``init`` is a train-restorer model, weights of the preset's own network, or unreadable
    (``load_init`` then loads it or refuses it with its own messages)."""
    if not Path(init).is_file() or is_restorer_file(init):
        return None
    try:
        state = foreign_models.read_state(init, "init")
    except WeightFileError:
        return None
    factor = get_task(task, preset.degradation).factor
    if set(state) == set(build_model(preset.model, scale=factor).state_dict()):
        return None
    model, spec = foreign_models.from_state(state, source=str(init), argument="init")
    if spec["scale"] != factor:
        raise WeightFileError(f"init: '{init}' is a {spec['scale']}x {spec['architecture']} network; task {task!r} "
                              f"with {preset.degradation} needs {factor}x")
    return model, spec


@dataclass
class _Run:
    """A training run's parts, built before anything is written."""

    model: torch.nn.Module
    opt: torch.optim.Optimizer
    criterion: torch.nn.Module
    train_set: TrainPatches
    val: EvalPairs | None
    degradation: Task
    dev: torch.device
    rank: int
    world: int


def _build(task: str, loss: str | WeightedSum, preset: RestorerPreset, init, seed: int, dev: torch.device,
           world: int, rank: int, data_root: Path | None, foreign: torch.nn.Module | None = None) -> _Run:
    if preset.batch % world:
        raise InvalidInputError(f"batch: the global batch {preset.batch} must divide by the {world} processes")
    degradation = get_task(task, preset.degradation)
    criterion = (loss if isinstance(loss, WeightedSum) else build_loss(loss)).to(dev)
    if preset.model.get("arch") == foreign_models.ARCH and init is None and "built" in preset.model:
        model = foreign_models.build_named(preset.model["built"], degradation.factor, seed)[0]  # the run's seed
    elif preset.model.get("arch") == foreign_models.ARCH:  # another project's network, weights and all
        if init is None:
            raise InvalidInputError("init: a spandrel network is built from its weight file; give it with --init")
        model = foreign if foreign is not None else foreign_models.load_foreign(init, argument="init")[0]
    else:
        with torch.random.fork_rng(devices=[]):  # seeded initialisation without touching the caller's RNG
            torch.manual_seed(seed)
            model = build_model(preset.model, scale=degradation.factor)
        if init is not None:
            load_init(model, init, task)
    model = model.to(dev)
    if world > 1 and dev.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    opt = torch.optim.Adam(model.parameters(), lr=preset.lr, betas=(0.9, 0.99))
    train_set = TrainPatches(resolve_set(preset.train_set, data_root), degradation, preset.patch,
                             length=preset.iterations * preset.batch, seed=seed)
    val = EvalPairs(resolve_set(preset.val_set, data_root), degradation, seed=seed) if preset.val_images else None
    return _Run(model, opt, criterion, train_set, val, degradation, dev, rank, world)


def _loader(run: _Run, preset: RestorerPreset, start: int) -> DataLoader:
    # Item i of the dataset is drawn from its own seed, so the order of items fixes the batches:
    # rank r of step s takes items s*B + r + k*world, and the ranks together take s*B .. s*B+B-1.
    sampler = _ResumableSampler(run.train_set, num_replicas=run.world, rank=run.rank, shuffle=False, drop_last=True,
                                skip=start * (preset.batch // run.world))
    return DataLoader(run.train_set, batch_size=preset.batch // run.world, sampler=sampler, num_workers=0)


def _save_model(run: _Run, final: Path, task: str, loss: str, preset: RestorerPreset, seed: int, seconds: float,
                seen: int) -> None:
    buf = io.BytesIO()
    torch.save({"model": run.model.state_dict(), "task": task, "loss": loss, "preset": preset.to_dict(),
                **implicit_settings(loss), "seed": seed, "world_size": run.world, "seconds": seconds,
                "patches_per_s": seen / seconds}, buf)
    atomic_write_bytes(final, buf.getvalue())


def _loop(run: _Run, preset: RestorerPreset, start: int, work: Path, log: JsonlLog, bar, checkpoint_every: int,
          stop_after: int | None, tb: TensorBoard) -> tuple[bool, int, float]:
    """Iterations ``start..``; returns (finished, patches seen, seconds)."""
    net = DistributedDataParallel(run.model) if run.world > 1 else run.model
    batches = iter(_loader(run, preset, start))
    t0, seen = time.perf_counter(), 0
    for it in range(start, preset.iterations):
        lq, hq = (x.to(run.dev) for x in next(batches))
        for group in run.opt.param_groups:
            group["lr"] = lr_at(preset, it)
        value = run.criterion(net(lq), hq)
        run.opt.zero_grad(set_to_none=True)
        value.backward()
        run.opt.step()
        seen += preset.batch
        stats = mean_over_ranks({"loss": value.item()}, run.dev)
        bar.update(1)
        bar.set_postfix(loss=f"{stats['loss']:.4f}")
        if it % 10 == 0 or it == preset.iterations - 1:
            log.write(event="train", iteration=it, lr=lr_at(preset, it), **stats,
                      patches_per_s=seen / (time.perf_counter() - t0))
        if run.val is not None and run.rank == 0 and ((it + 1) % preset.val_every == 0 or it + 1 == preset.iterations):
            log.write(event="val", iteration=it + 1, set=preset.val_set,
                      **validate(run.model, run.val, preset.val_images, run.degradation.factor, run.dev))
            if tb.writer is not None:
                _log_sample(run, tb, it + 1)
        if run.rank == 0 and (it + 1) % checkpoint_every == 0 and it + 1 < preset.iterations:
            save_checkpoint(work, it + 1, {"model": run.model.state_dict(), "opt": run.opt.state_dict(),
                                           "iteration": it + 1})
        if stop_after is not None and it + 1 - start >= stop_after:
            return False, seen, time.perf_counter() - t0
    return True, seen, time.perf_counter() - t0


@torch.no_grad()
def _log_sample(run: _Run, tb: TensorBoard, step: int) -> None:
    """The first validation image, degraded and restored, for TensorBoard."""
    if run.val is None:
        return
    _, lq, hq = run.val[0]
    was_training = run.model.training
    restored = run.model.eval()(lq[None].to(run.dev))[0]
    run.model.train(was_training)
    tb.image("val/restored", restored, step)
    tb.image("val/reference", hq, step)


def _devices(device: str | torch.device) -> tuple[torch.device, bool, int, int]:
    """This process's device, whether it joined a torchrun group, its rank and the group's size."""
    dev = resolve_device(device)
    joined = init_distributed(dev)
    rank, world = dist_info()
    return local_device(dev), joined, rank, world


def _resume(run: _Run, work: Path, log: JsonlLog) -> int:
    """Load the newest good checkpoint into ``run`` (logging the corrupt ones skipped); its iteration, or 0."""
    payload, skipped = load_latest(work)
    for p in skipped:
        log.write(event="skipped-corrupt-checkpoint", file=p.name)
    if payload is None:
        return 0
    run.model.load_state_dict(payload["model"])
    run.opt.load_state_dict(payload["opt"])
    log.write(event="resumed", iteration=payload["iteration"])
    return payload["iteration"]


def _create_out_dir(out_dir: Path, settings: dict, check: dict[str, Any], rank: int,
                    on_start: Callable[[], None] | None) -> None:
    """Record the run's settings (rank 0) and make its checkpoint folder, or one line on why not; then, every
    argument and the data checked, call ``on_start`` (rank 0)."""
    try:
        prepare_workdir(out_dir, settings, write=rank == 0, **check)
        if rank == 0:
            (out_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"out: cannot create '{out_dir}' ({exc.strerror})") from None
    if on_start is not None and rank == 0:
        on_start()


def train_restorer(
    task: str,
    loss: str | WeightedSum,
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
    tensorboard: bool = False,
    on_start: Callable[[], None] | None = None,
) -> Path | None:
    """Train, checkpoint and write ``out_dir/model.pt`` (weights-only) and ``out_dir/metrics.jsonl``.

    ``loss``: a spec such as ``l1+0.1*mdf:jpeg`` or a loss that :func:`~mdfloss.restoration.losses.build_loss`
    built (used as it is, recorded by its spec).

    ``out_dir/run.json`` records the settings; ``resume`` with other settings is refused, and a
    folder holding an earlier run's checkpoints needs ``resume`` or ``force``. A resumed run logs
    ``{"event": "resumed", "iteration": N}``. Returns the model path on rank 0 (None on other ranks
    or when stopped by ``stop_after``). ``progress``: True a bar, False nothing, None (default) a bar on a
    terminal and a plain line every few iterations elsewhere (Slurm, nohup). ``tensorboard``: also log the
    losses, validation metrics and a restored validation image to ``out_dir/tensorboard`` (the extra).
    """
    criterion, loss = (loss, loss.spec) if isinstance(loss, WeightedSum) else (None, loss)
    if tensorboard:
        require("tensorboard", "tensorboard", "TensorBoard logging")  # before anything is written
    foreign = _foreign_network(init, preset, task) if init is not None else None
    if foreign is not None:
        preset = replace(preset, model=foreign[1])
    dev, joined, rank, world = _devices(device)
    out_dir = Path(out_dir)
    final, work = out_dir / "model.pt", out_dir / "checkpoints"
    if final.exists() and not force and not resume:
        raise OutputPathError(f"out: '{final}' already exists; pass --force to overwrite or --resume")
    settings = {"task": task, "loss": loss, "preset": preset.to_dict(), "seed": seed, **implicit_settings(loss),
                "init_sha256": sha256_file(init) if init is not None and Path(init).is_file() else None}
    check: dict[str, Any] = dict(resume=resume, force=force, has_checkpoints=bool(list_checkpoints(work)),
                                 clear=[work, out_dir / "metrics.jsonl", final])
    prepare_workdir(out_dir, settings, write=False, **check)  # refuse before the data is read
    run = _build(task, criterion or loss, preset, init, seed, dev, world, rank, data_root,  # reads the data first
                 foreign=foreign[0] if foreign is not None else None)
    _create_out_dir(out_dir, settings, check, rank, on_start)
    if joined:
        dist.barrier()  # the other ranks read checkpoints only once rank 0 has checked the folder
    tb = TensorBoard(out_dir / "tensorboard" if tensorboard and rank == 0 else None)
    log = JsonlLog(out_dir / "metrics.jsonl", enabled=rank == 0, mirror=tb.log_event)
    start = _resume(run, work, log) if resume else 0
    bar = progress_bar(preset.iterations, initial=start, desc=f"{task} {loss}",
                       enabled=progress if rank == 0 else False)
    try:
        finished, seen, seconds = _loop(run, preset, start, work, log, bar, checkpoint_every, stop_after, tb)
        if finished and rank == 0:
            _save_model(run, final, task, loss, preset, seed, seconds, seen)
            return final
        return None
    finally:
        bar.close()
        log.close()
        tb.close()
        if joined:
            dist.barrier()
            dist.destroy_process_group()
