"""Task distortions for Phase 1: what a restoration method for the task has to undo.

A distortion is a callable ``(x, generator) -> tensor`` on images (N, 3, H, W) in [0, 1] that returns the same
shape. It is the task of :mod:`mdfloss.tasks`, with the same parameters in the same units (``sigma`` on the
0-255 scale, ``quality`` 1-100, each a number or ``[min, max]``), and the same range checks; the one difference is
SISR, whose Phase-1 distortion is the identity (the pyramid's upsampling is the degradation).

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
    >>> make_distortion("denoise", {"sigma": 25}).spec  # loss files record sigma on the 0-1 scale, as always
    {'name': 'denoise', 'params': {'sigma': 0.09803921568627451}}
    >>> d(torch.rand(1, 3, 32, 32), torch.Generator().manual_seed(0)).shape
    torch.Size([1, 3, 32, 32])
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import torch

from mdfloss.common.errors import InvalidInputError
from mdfloss.tasks import Task, builtin_tasks, get_task
from mdfloss.tasks.registry import plugin_task

Params = dict[str, Any]


def _check_plugins(plugins: Mapping[str, Callable[..., torch.Tensor]]) -> None:
    for name, fn in plugins.items():
        if not callable(fn):
            raise InvalidInputError(f"plugins: {name!r} must map to a callable tensor -> tensor, "
                                    f"got {type(fn).__name__}")
        if not isinstance(name, str) or name in builtin_tasks() or not name.isidentifier():
            raise InvalidInputError(f"plugins: {name!r} is a built-in task or not an identifier; choose another name")


class Distortion:
    """A task bound to its parameters as Phase 1 uses it; ``spec`` goes into the loss file."""

    def __init__(self, task: Task, plugin: Callable[..., torch.Tensor] | None = None) -> None:
        self.task, self.name, self.params = task, task.name, dict(task.params)
        self._plugin = plugin

    @property
    def spec(self) -> dict[str, Any]:
        # What loss files and fingerprints have always recorded (sigma on the 0-1 scale). A plug-in object may
        # describe itself (``spec_params``), e.g. which network it runs.
        name, params = self.task.phase1_spec()
        return {"name": name, "params": {**getattr(self._plugin, "spec_params", {}), **params}}

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return self.task.phase1_distortion(x, generator).to(x.dtype)


def make_distortion(task: str | Task, params: Params | None = None,
                    plugins: Mapping[str, Callable[..., torch.Tensor]] | None = None) -> Distortion:
    """The Phase-1 distortion of ``task``: a built-in or registered task, a name in ``plugins``, or
    ``module:function``, with ``params`` in the units of :mod:`mdfloss.tasks`; or a :class:`~mdfloss.tasks.Task`.

    Raises:
        InvalidInputError: unknown task, unknown parameter or value out of range.
    """
    plugins = dict(plugins or {})
    _check_plugins(plugins)
    if isinstance(task, Task):
        if params:
            raise InvalidInputError("params: a Task carries its parameters; give one or the other")
        return Distortion(task, task.definition.plugin)
    if task in plugins:
        return Distortion(plugin_task(task, plugins[task], params), plugins[task])
    resolved = get_task(task, params)
    return Distortion(resolved, resolved.definition.plugin)
