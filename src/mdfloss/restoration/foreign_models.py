"""Networks from other projects' weight files (SwinIR, RRDB/ESRGAN, Real-ESRGAN, DnCNN, ...), through spandrel.

``train-restorer --init FILE.pth`` fine-tunes any architecture that spandrel recognises from its weights, and
``evaluate --model FILE.pth --task T`` scores one. The model mdfloss writes records the network as
``{"arch": "spandrel", "architecture": ID, "scale": S}`` beside its weights; loading it asks spandrel again, so
no code is pickled. Weight files are read with ``torch.load(weights_only=True)`` or safetensors.

Example:
    >>> from mdfloss.restoration.foreign_models import load_foreign  # doctest: +SKIP
    >>> model, arch = load_foreign("RealESRGAN_x4plus.pth", argument="init")  # doctest: +SKIP
    >>> arch  # doctest: +SKIP
    {'arch': 'spandrel', 'architecture': 'ESRGAN', 'scale': 4}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from mdfloss.common.errors import WeightFileError
from mdfloss.common.extras import require

ARCH = "spandrel"


def _descriptor(state: dict[str, Any], source: str, argument: str):
    spandrel = require("spandrel", "spandrel", "networks from other projects' weight files")
    try:
        descriptor = spandrel.ModelLoader(device="cpu").load_from_state_dict(state)
    except Exception as exc:  # noqa: BLE001 - spandrel raises its own errors for unknown layouts
        first = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise WeightFileError(f"{argument}: '{source}' holds weights of another network: neither a train-restorer "
                              f"model nor a network spandrel recognises ({first})") from None
    if not isinstance(descriptor.model, torch.nn.Module) or descriptor.input_channels != 3:
        raise WeightFileError(f"{argument}: '{source}' is a {descriptor.architecture.name} network for "
                              f"{descriptor.input_channels}-channel images; mdfloss restores RGB images")
    return descriptor


def read_state(path: str | Path, argument: str) -> dict[str, Any]:
    """The tensors of a ``.pth``/``.pt``/``.ckpt`` or ``.safetensors`` file, unwrapped from the usual containers
    (``params_ema``, ``params``, ``state_dict``, ``model``)."""
    path = Path(path)
    if not path.is_file():
        raise WeightFileError(f"{argument}: '{path}' does not exist or is not a file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure is a bad file to the user
        raise WeightFileError(f"{argument}: '{path}' is not a readable weight file ({type(exc).__name__})") from None
    for key in ("params_ema", "params", "state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightFileError(f"{argument}: '{path}' holds no state dict of tensors")
    return state


def from_state(state: dict[str, Any], *, source: str, argument: str) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The network of a state dict read with :func:`read_state` and the ``model`` entry mdfloss records for it."""
    descriptor = _descriptor(state, source, argument)
    spec = {"arch": ARCH, "architecture": descriptor.architecture.id, "scale": int(descriptor.scale)}
    return descriptor.model, spec


def load_foreign(path: str | Path, *, argument: str) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The network in ``path`` and the ``model`` entry mdfloss records for it."""
    return from_state(read_state(path, argument), source=str(path), argument=argument)


def rebuild(spec: dict[str, Any], state: dict[str, Any], *, source: str, argument: str) -> torch.nn.Module:
    """The network a model written by mdfloss records as ``spec`` (``arch: spandrel``), with ``state`` loaded."""
    descriptor = _descriptor(state, source, argument)
    if descriptor.architecture.id != spec.get("architecture"):
        raise WeightFileError(f"{argument}: '{source}' records a {spec.get('architecture')} network but holds "
                              f"{descriptor.architecture.id} weights")
    return descriptor.model


#: How spandrel's network classes name their size factor.
_SCALE_ARGS = ("upscale", "scale", "upscaling_factor", "upsampling")


def build_named(name: str, factor: int, seed: int) -> tuple[torch.nn.Module, dict[str, Any]]:
    """A new network of spandrel's architecture ``name`` (e.g. ``SPAN``, ``Compact``, ``ESRGAN``), with its
    defaults, its size factor set to ``factor`` and weights drawn from ``seed``, and the ``model`` entry mdfloss
    records for it. spandrel then recognises it from its weights, as it does a downloaded file, so the model that
    training writes loads like any other. Refused in one line where spandrel's class cannot be built that way.
    """
    import importlib
    import inspect

    spandrel = require("spandrel", "spandrel", "networks by spandrel architecture name")
    archs = sorted(m for m in dir(spandrel.architectures) if not m.startswith("_"))
    try:
        module = importlib.import_module(f"spandrel.architectures.{name}")
    except ImportError:
        raise WeightFileError(f"arch: spandrel has no architecture {name!r}; choose from {', '.join(archs)}") from None
    classes = [c for c in vars(module).values() if inspect.isclass(c) and issubclass(c, torch.nn.Module)
               and c.__module__.startswith(module.__name__)]
    classes.sort(key=lambda c: c.__name__ != name)  # the class named as the architecture first
    if not classes:
        raise WeightFileError(f"arch: spandrel's {name} holds no network class to build")
    cls = classes[0]
    params = inspect.signature(cls.__init__).parameters
    kwargs = {arg: factor for arg in _SCALE_ARGS if arg in params}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            net = cls(**kwargs)
        except Exception as exc:  # noqa: BLE001 - a class that needs arguments spandrel's defaults do not give
            raise WeightFileError(f"arch: spandrel's {name} cannot be built from its defaults ({exc})") from None
    state = net.state_dict()
    model, spec = from_state(state, source=f"a new {name}", argument="arch")
    if spec["scale"] != factor:
        raise WeightFileError(f"arch: spandrel's {name} builds a {spec['scale']}x network by default; this task "
                              f"needs {factor}x")
    return model, {**spec, "built": name}
