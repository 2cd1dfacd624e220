"""Restoration training presets per task.

``smoke`` takes seconds (CI), ``cpu`` is the L1 pretraining of the benchmark's
60-minute-per-task CPU budget (about 4 minutes on 2 cores), ``gpu`` uses paper-like sizes on one GPU.
``batch`` is the global batch:
under torchrun it is split across the processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from mdfloss.common.errors import InvalidInputError


@dataclass(frozen=True)
class RestorerPreset:
    model: dict[str, Any]
    patch: int  # HR patch size
    batch: int
    iterations: int
    lr: float = 2e-4
    decay_at: tuple[float, ...] = (0.5, 0.8)  # fractions of the iterations; lr x 0.5 at each
    val_every: int = 100
    val_set: str = "Set5"
    val_images: int = 5
    train_set: str = "BSDS500_train"
    degradation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["decay_at"] = list(self.decay_at)
        return d


PRESETS: dict[str, dict[str, RestorerPreset]] = {
    "sisr": {
        "smoke": RestorerPreset({"arch": "edsr", "num_blocks": 2, "channels": 16}, 48, 4, 6, val_every=3, val_images=2,
                                degradation={"scale": 4}),
        "cpu": RestorerPreset({"arch": "edsr", "num_blocks": 8, "channels": 48}, 64, 16, 1500, val_every=250,
                              degradation={"scale": 4}),
        "gpu": RestorerPreset({"arch": "edsr", "num_blocks": 16, "channels": 64}, 192, 16, 100_000, val_every=5000,
                              degradation={"scale": 4}),
    },
    "denoise": {
        "smoke": RestorerPreset({"arch": "dncnn", "depth": 4, "channels": 16}, 40, 4, 6, val_every=3, val_images=2,
                                val_set="CBSD68", degradation={"sigma": 25}),
        "cpu": RestorerPreset({"arch": "dncnn", "depth": 8, "channels": 32}, 64, 16, 1500, val_every=250,
                              val_set="CBSD68", degradation={"sigma": 25}),
        "gpu": RestorerPreset({"arch": "dncnn", "depth": 20, "channels": 64}, 96, 64, 100_000, val_every=5000,
                              val_set="CBSD68", degradation={"sigma": 25}),
    },
    "jpeg": {
        "smoke": RestorerPreset({"arch": "dncnn", "depth": 4, "channels": 16}, 40, 4, 6, val_every=3, val_images=2,
                                val_set="LIVE1", degradation={"quality": 10}),
        "cpu": RestorerPreset({"arch": "dncnn", "depth": 8, "channels": 32}, 64, 16, 1500, val_every=250,
                              val_set="LIVE1", degradation={"quality": 10}),
        "gpu": RestorerPreset({"arch": "dncnn", "depth": 20, "channels": 64}, 96, 64, 100_000, val_every=5000,
                              val_set="LIVE1", degradation={"quality": 10}),
    },
}


def restorer_preset(task: str, name: str, *, params: dict[str, Any] | None = None,
                    **overrides: Any) -> RestorerPreset:
    """The preset ``name`` for ``task`` (any task of :func:`mdfloss.tasks.get_task`).

    A plug-in task gets the same-size (DnCNN) presets of the JPEG task with its own parameters and sets.
    ``params`` overrides the task's degradation parameters (checked once, by the task), and the other
    keyword arguments the preset's fields (``None`` leaves a field as it is).
    """
    from mdfloss.tasks import get_task

    t = get_task(task, params)
    table = PRESETS.get(task, PRESETS["jpeg"] if t.network == "same_size" else PRESETS["sisr"])
    if name not in table:
        raise InvalidInputError(f"preset: expected one of {', '.join(table)}, got {name!r}")
    preset = table[name]
    if task not in PRESETS:
        preset = replace(preset, val_set=t.val_set, train_set=t.train_set, degradation=t.params)
    elif params:
        preset = replace(preset, degradation=t.params)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return replace(preset, **overrides) if overrides else preset


#: Which keyword of each network family its depth is.
_DEPTH_KEY = {"edsr": "num_blocks", "srresnet": "num_blocks", "dncnn": "depth"}


def network_options(preset: RestorerPreset, task: str, *, lr: float | None = None, patch: int | None = None,
                    arch: str | None = None, width: int | None = None, depth: int | None = None) -> RestorerPreset:
    """``preset`` with what practitioners tune: the learning rate, the patch size and the network (family,
    width, depth). A family other than the preset's starts from its own defaults. Each value is checked, and
    the result is what the run records (and what ``--resume`` compares).

    Example:
        >>> p = network_options(restorer_preset("denoise", "cpu"), "denoise", width=16, depth=4, lr=1e-3)
        >>> p.model, p.lr
        ({'arch': 'dncnn', 'depth': 4, 'channels': 16}, 0.001)
    """
    from mdfloss.tasks import get_task

    for name, value in (("patch", patch), ("width", width), ("depth", depth)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InvalidInputError(f"--{name}: expected a positive integer, got {value!r}")
    if lr is not None and not 0 < lr < float("inf"):
        raise InvalidInputError(f"--lr: expected a positive learning rate, got {lr!r}")
    factor = get_task(task, preset.degradation).factor
    model = dict(preset.model)
    if arch is not None and arch.startswith("spandrel:"):  # any architecture spandrel can build, from scratch
        if width is not None or depth is not None:
            raise InvalidInputError("--width/--depth: a spandrel architecture is built with its own defaults")
        from mdfloss.restoration.foreign_models import build_named

        model = build_named(arch.partition(":")[2], factor, seed=0)[1]
        arch = None
    if arch is not None and arch != model.get("arch"):
        if arch not in _DEPTH_KEY:
            raise InvalidInputError(f"--arch: expected one of {', '.join(_DEPTH_KEY)}, got {arch!r}")
        same_size = factor == 1
        if same_size != (arch == "dncnn"):
            raise InvalidInputError(f"--arch: {arch} does not fit task {task!r}; use "
                                    f"{'dncnn' if same_size else 'edsr or srresnet'}")
        model = {"arch": arch}
    if width is not None:
        model["channels"] = width
    if depth is not None:
        model[_DEPTH_KEY[model["arch"]]] = depth
    if patch is not None and patch % factor:
        raise InvalidInputError(f"--patch: {patch} is not a multiple of the task's size factor {factor}")
    return replace(preset, model=model, lr=preset.lr if lr is None else float(lr),
                   patch=preset.patch if patch is None else patch)
