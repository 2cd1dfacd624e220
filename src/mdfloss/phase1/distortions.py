"""Task distortions for Phase 1: what a restoration method for the task has to undo.

A distortion is a callable ``(x, generator) -> tensor`` on images (N, 3, H, W) in
[0, 1]; it must return the same shape. Built-ins:

==========  ==============================================  ==========================
name        what it does                                    parameters (defaults)
==========  ==============================================  ==========================
``sisr``    nothing: the upsampling is the degradation      none
``denoise`` additive Gaussian noise                         ``sigma`` = 25/255, or ``[lo, hi]``
``jpeg``    real JPEG encode/decode of the 8-bit image      ``quality`` = 10, or ``[lo, hi]``
==========  ==============================================  ==========================

Plug-ins: any ``tensor -> tensor`` callable, passed in a mapping
(``make_distortion("webp", plugins={"webp": webp})``, ``train_loss(..., plugins=...)``) or
named as ``"package.module:function"``, or registered with :func:`mdfloss.tasks.register_task`. A
plug-in that draws random numbers from torch's global generator gets a
seeded, forked generator for each call, so runs stay reproducible and resumable.

Example:
    >>> import torch
    >>> from mdfloss.phase1.distortions import make_distortion
    >>> d = make_distortion("jpeg", {"quality": 30})
    >>> d.spec
    {'name': 'jpeg', 'params': {'quality': 30}}
    >>> d(torch.rand(1, 3, 32, 32), torch.Generator().manual_seed(0)).shape
    torch.Size([1, 3, 32, 32])
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping

import torch

from mdfloss.common.errors import InvalidInputError
from mdfloss.tasks.primitives import gaussian_noise, jpeg
from mdfloss.tasks.registry import call_plugin, import_plugin, registered_plugin

Params = dict[str, Any]


def _check_range_param(name: str, value: Any, lo: float, hi: float) -> Any:
    vals = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(vals) not in (1, 2) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
        raise InvalidInputError(f"{name}: expected a number or [min, max], got {value!r}")
    if any(v < lo or v > hi for v in vals) or (len(vals) == 2 and vals[0] > vals[1]):
        raise InvalidInputError(f"{name}: expected values in [{lo:g}, {hi:g}] (min <= max), got {value!r}")
    return vals if len(vals) == 2 else vals[0]


def sisr(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return x


@dataclass(frozen=True)
class _Builtin:
    fn: Callable[..., torch.Tensor]
    defaults: Params
    checks: dict[str, tuple[float, float]]


#: The built-in tasks (read-only).
BUILTINS: Mapping[str, _Builtin] = MappingProxyType({
    "sisr": _Builtin(sisr, {}, {}),
    "denoise": _Builtin(gaussian_noise, {"sigma": 25 / 255}, {"sigma": (0.0, 1.0)}),
    "jpeg": _Builtin(jpeg, {"quality": 10}, {"quality": (1, 100)}),
})


def _check_plugins(plugins: Mapping[str, Callable[..., torch.Tensor]]) -> None:
    for name, fn in plugins.items():
        if not callable(fn):
            raise InvalidInputError(f"plugins: {name!r} must map to a callable tensor -> tensor, got {type(fn).__name__}")
        if name in BUILTINS or not isinstance(name, str) or not name.isidentifier():
            raise InvalidInputError(f"plugins: {name!r} is a built-in task or not an identifier; choose another name")


class Distortion:
    """A task distortion bound to its parameters; ``spec`` goes into the loss file."""

    def __init__(self, name: str, fn: Callable[..., torch.Tensor], params: Params, builtin: bool) -> None:
        self.name, self._fn, self.params, self._builtin = name, fn, params, builtin

    @property
    def spec(self) -> dict[str, Any]:
        # A plug-in object may describe itself (``spec_params``), e.g. which network it runs.
        return {"name": self.name, "params": {**getattr(self._fn, "spec_params", {}), **self.params}}

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self._builtin:
            return self._fn(x, generator, **self.params).to(x.dtype)
        # Plug-ins use torch's global RNG: each call gets its own seeded copy, and its output is checked.
        return call_plugin(self.name, self._fn, x, self.params, generator)


def make_distortion(task: str, params: Params | None = None,
                    plugins: Mapping[str, Callable[..., torch.Tensor]] | None = None) -> Distortion:
    """Build the distortion for ``task``: a built-in, a name in ``plugins``, or ``module:function``.

    Raises:
        InvalidInputError: unknown task, unknown parameter or value out of range.
    """
    params = dict(params or {})
    plugins = dict(plugins or {})
    _check_plugins(plugins)
    if task in BUILTINS:
        b = BUILTINS[task]
        unknown = set(params) - set(b.defaults)
        if unknown:
            allowed = ", ".join(b.defaults) or "none"
            raise InvalidInputError(f"task {task!r}: unknown parameter(s) {sorted(unknown)}; allowed: {allowed}")
        merged = {**b.defaults, **params}
        for key, (lo, hi) in b.checks.items():
            merged[key] = _check_range_param(key, merged[key], lo, hi)
        return Distortion(task, b.fn, merged, builtin=True)
    if task in plugins:
        fn = plugins[task]
    elif registered_plugin(task) is not None:
        fn = registered_plugin(task)
    elif ":" in task:
        fn = import_plugin(task)
    else:
        raise InvalidInputError(
            f"task: unknown task {task!r}; choose one of {', '.join(list(BUILTINS) + list(plugins))}, "
            "or give a plug-in as 'package.module:function'"
        )
    try:
        inspect.signature(fn).bind(torch.zeros(1), **params)
    except TypeError as exc:
        raise InvalidInputError(f"task {task!r}: parameters {params} do not fit the callable ({exc})") from None
    return Distortion(task, fn, params, builtin=False)
