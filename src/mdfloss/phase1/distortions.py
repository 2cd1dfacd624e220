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
named as ``"package.module:function"``. There is no global registry. A
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

import importlib
import inspect
import io
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np
import torch
from PIL import Image

from mdfloss.common.errors import InvalidInputError

Params = dict[str, Any]


def _sample(value: float | list[float], generator: torch.Generator) -> float:
    """A fixed value, or a uniform draw from [lo, hi]."""
    if isinstance(value, (list, tuple)):
        lo, hi = value
        return float(lo + (hi - lo) * torch.rand((), generator=generator).item())
    return float(value)


def _check_range_param(name: str, value: Any, lo: float, hi: float) -> Any:
    vals = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(vals) not in (1, 2) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
        raise InvalidInputError(f"{name}: expected a number or [min, max], got {value!r}")
    if any(v < lo or v > hi for v in vals) or (len(vals) == 2 and vals[0] > vals[1]):
        raise InvalidInputError(f"{name}: expected values in [{lo:g}, {hi:g}] (min <= max), got {value!r}")
    return vals if len(vals) == 2 else vals[0]


def sisr(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return x


def gaussian_noise(x: torch.Tensor, generator: torch.Generator, sigma: float | list[float] = 25 / 255) -> torch.Tensor:
    s = _sample(sigma, generator)
    noise = torch.randn(x.shape, generator=generator, dtype=torch.float32).to(x.device, x.dtype)
    return x + s * noise


def jpeg(x: torch.Tensor, generator: torch.Generator, quality: int | list[int] = 10) -> torch.Tensor:
    out = torch.empty_like(x)
    for i in range(x.shape[0]):
        q = int(round(_sample(quality, generator)))
        arr = (x[i].detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="JPEG", quality=q)
        buf.seek(0)
        dec = np.asarray(Image.open(buf).convert("RGB"), dtype=np.float32) / 255.0
        out[i] = torch.from_numpy(dec).permute(2, 0, 1).to(x.device, x.dtype)
    return out


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


def _import_callable(spec: str) -> Callable[..., torch.Tensor]:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidInputError(f"task: cannot import module {module_name!r} for {spec!r} ({exc})") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise InvalidInputError(f"task: {module_name!r} has no callable named {attr!r}")
    return fn


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
            y = self._fn(x, generator, **self.params)
        else:
            # Plug-ins use torch's global RNG; give each call its own seeded copy of it.
            seed = int(torch.randint(0, 2**62, (), generator=generator))
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                y = self._fn(x, **self.params)
        if not isinstance(y, torch.Tensor) or y.shape != x.shape:
            got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise InvalidInputError(
                f"task: distortion {self.name!r} must return a tensor of shape {tuple(x.shape)}, got {got}"
            )
        return y.to(x.dtype)


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
    elif ":" in task:
        fn = _import_callable(task)
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
