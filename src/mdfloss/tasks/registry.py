"""One task definition for Phase 1 and restoration: a degradation with its parameters, the size it changes,
its default restoration network and its default data sets.

Built-in tasks:

===========  ===================================  ===========================  ======================
name         degradation                          parameters (defaults)        evaluation sets
===========  ===================================  ===========================  ======================
``sisr``     bicubic downscaling, 8-bit LR        ``scale`` = 4 (2, 3, 4, 8)   Set5, Set14, BSD100
``denoise``  additive Gaussian noise              ``sigma`` = 25 (0-255 scale) CBSD68, McMaster
``jpeg``     JPEG encode/decode                   ``quality`` = 10 (1-100)     LIVE1, Classic5
===========  ===================================  ===========================  ======================

``sigma`` and ``quality`` also take ``[min, max]``: a uniform draw per image (blind denoising, mixed qualities).
Every command and function reads them in these units; Phase 1 (:mod:`mdfloss.phase1.distortions`) takes its
distortion from the same definition. Its one difference: for SISR, Phase 1's distortion is the identity (the
pyramid's upsampling is the degradation), so :attr:`TaskDef.phase1_degrade` is separate from ``degrade``.

Any other task is a plug-in: a callable ``f(x, **params) -> tensor`` on images (N, 3, H, W) in
[0, 1] that returns the same shape and dtype, registered with :func:`register_task` or named as
``"package.module:function"``. Plug-ins keep the image size, restore with the denoising network
and evaluate on Set14 and BSD100 unless they were registered with other sets. A plug-in that
raises, or returns another shape, dtype or value range, is refused in one line naming it.

Example:
    >>> import torch
    >>> from mdfloss.tasks import get_task
    >>> task = get_task("mdfloss.examples.distortions:gaussian_blur", {"sigma": 1.5})
    >>> task.factor, task.eval_sets
    (1, ('Set14', 'BSD100'))
    >>> task(torch.rand(1, 3, 32, 32), torch.Generator().manual_seed(0)).shape
    torch.Size([1, 3, 32, 32])
"""

from __future__ import annotations

import importlib
import inspect
import json
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import torch

from mdfloss.common.errors import InvalidInputError
from mdfloss.common.registry import Registry
from mdfloss.common.resize import resize
from mdfloss.tasks import primitives

#: A plug-in's output must stay within this range: a little over- and undershoot (noise) is fine, an image
#: on the 0-255 scale is not.
PLUGIN_RANGE = (-1.0, 2.0)


@dataclass(frozen=True)
class TaskDef:
    """What a task name stands for. ``degrade(x, generator, **params)``; ``check(params)`` returns the
    parameters checked and normalised (raising ``InvalidInputError`` naming the bad one)."""

    degrade: Callable[..., torch.Tensor]
    check: Callable[[dict[str, Any]], dict[str, Any]]
    factor: Callable[[dict[str, Any]], int] = lambda params: 1
    network: str = "same_size"  # which family of restoration presets (restoration/presets.py)
    val_set: str = "Set14"
    eval_sets: tuple[str, ...] = ("Set14", "BSD100")
    train_set: str = "BSDS500_train"
    # What loss files record: (name, params) with noise sigma on the 0-1 scale, as they always have.
    phase1: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]] | None = None
    plugin: Callable[..., torch.Tensor] | None = None  # a plug-in's own callable
    phase1_degrade: Callable[..., torch.Tensor] | None = None  # Phase 1's distortion; None: the same as degrade


def _number(name: str, value: Any, lo: float, hi: float, *, integer: bool = False, low_open: bool = False) -> Any:
    ok_type = (isinstance(value, (int, float)) and not isinstance(value, bool)
               and (not integer or float(value).is_integer()))
    if not ok_type or value > hi or value < lo or (low_open and value == lo):
        kind = "an integer" if integer else "a number"
        bound = f"({lo:g}, {hi:g}]" if low_open else f"[{lo:g}, {hi:g}]"
        raise InvalidInputError(f"{name}: expected {kind} in {bound}, got {value!r}")
    return int(value) if integer else float(value)


def _only(task: str, params: dict[str, Any], allowed: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InvalidInputError(f"task {task!r}: unknown parameter(s) {unknown}; "
                                f"allowed: {', '.join(allowed) or 'none'}")
    return {**allowed, **params}


def _check_sisr(params):
    p = _only("sisr", params, {"scale": DEFAULT_SCALE})
    if p["scale"] not in (2, 3, 4, 8) or isinstance(p["scale"], bool):
        raise InvalidInputError(f"scale: expected 2, 3, 4 or 8, got {p['scale']!r}")
    return {"scale": int(p["scale"])}


def _number_or_range(name: str, value: Any, lo: float, hi: float, **kw: Any) -> Any:
    """A number, or ``[min, max]`` with min <= max (a uniform draw per image), each in the range."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise InvalidInputError(f"{name}: expected a number or [min, max], got {value!r}")
        a, b = (_number(name, v, lo, hi, **kw) for v in value)
        if a > b:
            raise InvalidInputError(f"{name}: expected [min, max] with min <= max, got {value!r}")
        return [a, b]
    return _number(name, value, lo, hi, **kw)


#: The built-in tasks' defaults, written once.
DEFAULT_SIGMA = 25.0  # on the 0-255 scale
DEFAULT_QUALITY = 10
DEFAULT_SCALE = 4


def _check_denoise(params):
    p = _only("denoise", params, {"sigma": DEFAULT_SIGMA})
    sigma = _number_or_range("sigma", p["sigma"], 0, 255, low_open=True)
    if max(sigma if isinstance(sigma, list) else [sigma]) < 1:
        # Phase 1 read sigma on the 0-1 scale before 0.2; such a value now means almost no noise.
        warnings.warn(f"sigma={p['sigma']!r} is on the 0-255 scale (since mdfloss 0.2, in Phase 1 too): "
                      f"almost no noise; for 25/255 write 25", UserWarning, stacklevel=2)
    return {"sigma": sigma}


def _check_jpeg(params):
    p = _only("jpeg", params, {"quality": DEFAULT_QUALITY})
    return {"quality": _number_or_range("quality", p["quality"], 1, 100, integer=True)}


def _per_unit(value: Any) -> Any:
    """sigma on the 0-255 scale -> on the 0-1 scale, a number or [min, max]."""
    return [v / 255 for v in value] if isinstance(value, list) else value / 255


#: Task name -> its definition (the built-ins, then what :func:`register_task` adds).
_REGISTRY: Registry[TaskDef] = Registry("task")
for _name, _definition in {
    "sisr": TaskDef(lambda x, g, scale: primitives.bicubic_down(x, scale), _check_sisr,
                    factor=lambda p: p["scale"], network="sisr", val_set="Set5",
                    eval_sets=("Set5", "Set14", "BSD100"), phase1=lambda p: ("sisr", {}),
                    phase1_degrade=lambda x, g, scale: x),
    "denoise": TaskDef(lambda x, g, sigma: primitives.gaussian_noise(x, g, sigma=_per_unit(sigma)),
                       _check_denoise, val_set="CBSD68", eval_sets=("CBSD68", "McMaster"),
                       phase1=lambda p: ("denoise", {"sigma": _per_unit(p["sigma"])})),
    "jpeg": TaskDef(lambda x, g, quality: primitives.jpeg(x, g, quality=quality), _check_jpeg,
                    val_set="LIVE1", eval_sets=("LIVE1", "Classic5"),
                    phase1=lambda p: ("jpeg", {"quality": p["quality"]})),
}.items():
    _REGISTRY.register(_name, _definition, builtin=True)


def builtin_tasks() -> tuple[str, ...]:
    return _REGISTRY.builtin()


def call_plugin(name: str, fn: Callable[..., torch.Tensor], x: torch.Tensor, params: dict[str, Any],
                generator: torch.Generator) -> torch.Tensor:
    """``fn(x, **params)`` with torch's global RNG forked and seeded from ``generator`` (so runs stay
    reproducible), its output checked: a tensor of ``x``'s shape and dtype, finite, within :data:`PLUGIN_RANGE`."""
    seed = int(torch.randint(0, 2**62, (), generator=generator))
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            y = fn(x, **params)
    except InvalidInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - a user's plug-in may raise anything; name it in one line
        raise InvalidInputError(f"task {name!r}: the plug-in raised {type(exc).__name__}: {exc}") from None
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        got = f"shape {tuple(y.shape)}" if isinstance(y, torch.Tensor) else f"a {type(y).__name__}"
        raise InvalidInputError(f"task {name!r}: the plug-in must return a tensor of shape {tuple(x.shape)} "
                                f"(the image size unchanged), got {got}")
    if y.dtype != x.dtype:
        raise InvalidInputError(f"task {name!r}: the plug-in must keep the dtype {x.dtype}, got {y.dtype}")
    lo, hi = PLUGIN_RANGE
    if not bool(torch.isfinite(y).all()) or float(y.min()) < lo or float(y.max()) > hi:
        raise InvalidInputError(f"task {name!r}: the plug-in must return finite values near [0, 1] "
                                f"(within [{lo:g}, {hi:g}]), got [{float(y.min()):g}, {float(y.max()):g}]")
    return y


def register_task(name: str, fn: Callable[..., torch.Tensor], *, val_set: str = "Set14",
                  eval_sets: tuple[str, ...] = ("Set14", "BSD100"), train_set: str = "BSDS500_train",
                  replace: bool = False) -> None:
    """Register a same-size plug-in under ``name`` (for the Python API; the CLI takes ``module:function``):
    a lower-case identifier, not taken unless ``replace=True`` (the built-ins stay)."""
    _REGISTRY.register(name, _plugin_def(name, fn, val_set=val_set, eval_sets=tuple(eval_sets),
                                         train_set=train_set), replace=replace)


def _forget_checked(name: str) -> None:
    """A task replaced or removed: what was checked of the old one is no longer served."""
    for key in [k for k in _CHECKED if k[0] == name]:
        del _CHECKED[key]


def plugin_task(name: str, fn: Callable[..., torch.Tensor], params: dict[str, Any] | None = None) -> "Task":
    """A task from a plug-in callable that is passed, not registered (``train_loss(..., plugins={name: fn})``)."""
    definition = _plugin_def(name, fn)
    return Task(name, definition.check(dict(params or {})), definition)


def _plugin_def(name: str, fn: Callable[..., torch.Tensor], **sets: Any) -> TaskDef:
    if not callable(fn):
        raise InvalidInputError(f"task {name!r}: expected a callable tensor -> tensor, got {type(fn).__name__}")

    def check(params: dict[str, Any]) -> dict[str, Any]:
        try:
            inspect.signature(fn).bind(torch.zeros(1), **params)
        except TypeError as exc:
            raise InvalidInputError(f"task {name!r}: parameters {params} do not fit the plug-in ({exc})") from None
        return dict(params)

    return TaskDef(lambda x, g, **p: call_plugin(name, fn, x, p, g), check,
                   phase1=lambda p: (name, dict(p)), plugin=fn, **sets)


def _module_from_file(path: str, spec: str):
    """A plug-in module given as a file (``path/to/file.py:function``): no PYTHONPATH needed."""
    import importlib.util
    import sys
    from pathlib import Path

    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise InvalidInputError(f"task: {path!r} of {spec!r} is not a file; give path/to/file.py:function")
    name = f"mdfloss_plugin_{abs(hash(str(file)))}"
    loader_spec = importlib.util.spec_from_file_location(name, file)
    if loader_spec is None or loader_spec.loader is None:
        raise InvalidInputError(f"task: cannot load {path!r} as Python for {spec!r}")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module  # dataclasses and pickling look a module up there
    try:
        loader_spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - a user's file may raise anything; name it in one line
        del sys.modules[name]
        raise InvalidInputError(f"task: {path!r} raised {type(exc).__name__} when loaded: {exc}") from None
    return module


def import_plugin(spec: str) -> Callable[..., torch.Tensor]:
    """The callable named by ``"package.module:function"`` or ``"path/to/file.py:function"``."""
    module_name, _, attr = spec.rpartition(":")
    if module_name.endswith(".py") or "/" in module_name or "\\" in module_name:
        module = _module_from_file(module_name, spec)
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise InvalidInputError(f"task: cannot import module {module_name!r} for {spec!r} ({exc}); a plug-in "
                                    "in a file is given as path/to/file.py:function") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise InvalidInputError(f"task: {module_name!r} has no callable named {attr!r}")
    return fn


def _lookup(name: str) -> TaskDef:
    if not isinstance(name, str):
        raise InvalidInputError(f"task: expected a task name, got {type(name).__name__}")
    if name in _REGISTRY:
        return _REGISTRY[name]
    if ":" in name:
        return _plugin_def(name, import_plugin(name))
    raise InvalidInputError(f"task: unknown task {name!r}; choose one of {', '.join(_REGISTRY)}, "
                            "or give a plug-in as 'package.module:function'")


@dataclass(frozen=True, eq=False)
class Task:
    """A task bound to its checked parameters: call it on clean images to get the restorer's input."""

    name: str
    params: dict[str, Any]
    definition: TaskDef

    @property
    def factor(self) -> int:
        """How many times smaller the degraded image is (the SR scale; 1 for same-size tasks)."""
        return self.definition.factor(self.params)

    @property
    def network(self) -> str:
        return self.definition.network

    @property
    def val_set(self) -> str:
        return self.definition.val_set

    @property
    def eval_sets(self) -> tuple[str, ...]:
        return self.definition.eval_sets

    @property
    def train_set(self) -> str:
        return self.definition.train_set

    def __call__(self, hr: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """hr: (N, 3, H, W) in [0, 1], H and W multiples of :attr:`factor` -> the degraded input."""
        return self.definition.degrade(hr, generator, **self.params)

    def crop_multiple(self, x: torch.Tensor) -> torch.Tensor:
        """Crop H and W down to multiples of the factor (modcrop)."""
        f = self.factor
        h, w = x.shape[-2:]
        return x[..., : h - h % f, : w - w % f]

    def full_size(self, hr: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The degraded input at the size of ``hr`` (SISR: resized back, bicubic): the task's artefact as an
        image-sized error. ``hr`` must be cropped with :meth:`crop_multiple`."""
        out = self(hr, generator)
        return resize(out, (hr.shape[-2], hr.shape[-1])).clamp(0, 1) if self.factor > 1 else out

    def phase1_spec(self) -> tuple[str, dict[str, Any]]:
        """The name and parameters that loss files record of this task's Phase-1 distortion (noise sigma on the
        0-1 scale there, as they have always recorded it, so fingerprints and old files stay as they were)."""
        if self.definition.phase1 is None:
            return self.name, dict(self.params)
        return self.definition.phase1(self.params)

    def phase1_distortion(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Phase 1's distortion of images (N, 3, H, W) in [0, 1]: the degradation, the identity for SISR."""
        degrade = self.definition.phase1_degrade or self.definition.degrade
        return degrade(x, generator, **self.params)


_CHECKED: dict[tuple[str, str], Task] = {}
_REGISTRY.on_replace(_forget_checked)


def get_task(name: str, params: dict[str, Any] | None = None) -> Task:
    """The task ``name`` (built-in, registered, or ``module:function``) with ``params`` checked once: the same
    name and parameters asked for again (by the preset, then by the trainer) return the task already checked.

    Raises:
        InvalidInputError: unknown task, unknown parameter, or a value out of range.
    """
    try:
        key = (name, json.dumps(params or {}, sort_keys=True))
    except (TypeError, ValueError):
        key = None  # parameters that are not JSON values are checked every time
    if key is not None and key in _CHECKED:
        return _CHECKED[key]
    definition = _lookup(name)
    task = Task(name, definition.check(dict(params or {})), definition)
    if key is not None:
        _CHECKED[key] = task
        _CHECKED.setdefault((name, json.dumps(task.params, sort_keys=True)), task)  # its normalised parameters too
    return task
