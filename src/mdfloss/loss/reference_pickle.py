"""Read the published MDF ``.pth`` files without executing any pickle.

The files are legacy (non-zip) ``torch.save`` archives of a list of whole
``SinGAN.models.WDiscriminator`` modules. Loading them with ``torch.load``
would run whatever the pickle asks for. Here every pickle in the archive goes
through an unpickler whose ``find_class`` knows exactly eleven names; each is
mapped to an inert stand-in, so no class from the file is ever imported and no
callable other than our own tensor rebuilders is ever called. Anything else is
refused with :class:`~mdfloss.errors.UnsafePickleError`.
"""

from __future__ import annotations

import io
import pickle
import struct
from collections import OrderedDict
from pathlib import Path
from typing import Any, BinaryIO

import torch

from mdfloss.common.errors import UnsafePickleError, WeightFileError
from mdfloss.loss.weights import expected_keys

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_MAX_STORAGE_BYTES = 1 << 30


class _ModuleStub:
    """Inert stand-in for an ``nn.Module`` in the pickle: it only keeps its ``__dict__``."""

    def __init__(self, qualname: str) -> None:  # never called by the unpickler
        self.qualname = qualname
        self.state: dict[str, Any] = {}

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise UnsafePickleError(f"module state must be a dict, got {type(state).__name__}")
        self.state = state


def _stub_class(qualname: str) -> type:
    # NEWOBJ calls cls.__new__(cls); a per-name subclass remembers which module it stands for.
    return type(qualname.rsplit(".", 1)[-1], (_ModuleStub,), {"qualname": qualname})


_MODULE_CLASSES = {
    ("SinGAN.models", "WDiscriminator"),
    ("SinGAN.models", "ConvBlock"),
    ("torch.nn.modules.conv", "Conv2d"),
    ("torch.nn.modules.batchnorm", "BatchNorm2d"),
    ("torch.nn.modules.activation", "LeakyReLU"),
    ("torch.nn.modules.container", "Sequential"),
}
_STORAGE_DTYPES = {
    ("torch", "FloatStorage"): torch.float32,
    ("torch", "LongStorage"): torch.int64,
}


class _StorageRef:
    """A storage announced by the pickle; its bytes are read (and allocated) after the pickle."""

    def __init__(self, dtype: torch.dtype, numel: int) -> None:
        if not isinstance(numel, int) or not (0 <= numel <= _MAX_STORAGE_BYTES // 8):
            raise UnsafePickleError(f"storage of {numel!r} elements is out of range")
        self.dtype = dtype
        self.numel = numel
        self.data: torch.Tensor | None = None


class _TensorRef:
    """A tensor to cut out of a storage once the storage's bytes are known."""

    def __init__(self, storage: _StorageRef, offset: int, size: tuple, stride: tuple) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def materialize(self) -> torch.Tensor:
        if self.storage.data is None:
            raise WeightFileError("a tensor refers to a storage whose bytes are missing")
        return self.storage.data.as_strided(self.size, self.stride, self.offset).clone()


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, *_):
    if not isinstance(storage, _StorageRef):
        raise UnsafePickleError("tensor rebuilt from something that is not a storage")
    if not isinstance(size, tuple) or not isinstance(stride, tuple) or len(size) != len(stride):
        raise UnsafePickleError("tensor geometry must be two tuples of equal length")
    for v in (offset, *size, *stride):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise UnsafePickleError("tensor geometry must be non-negative integers")
    extent = offset + sum((s - 1) * st for s, st in zip(size, stride)) + 1 if all(size) else 0
    if extent > storage.numel:
        raise UnsafePickleError("tensor reaches past the end of its storage")
    return _TensorRef(storage, offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, hooks=None):
    if not isinstance(data, _TensorRef):
        raise UnsafePickleError("parameter rebuilt from something that is not a tensor")
    return data


_FUNCTIONS = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("collections", "OrderedDict"): OrderedDict,
}


# The pure-Python unpickler: its memo is a dict. The C one keeps a flat array sized by the largest memo index,
# so one flipped byte in a LONG_BINPUT index makes it allocate and zero gigabytes (found by tests/test_fuzz.py).
class _RestrictedUnpickler(pickle._Unpickler):  # pickle's documented pure-Python twin
    def __init__(self, file: BinaryIO, storages: dict[str, _StorageRef], allow_globals: bool):
        super().__init__(file)
        self._storages = storages
        self._allow_globals = allow_globals

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if self._allow_globals:
            if key in _MODULE_CLASSES:
                return _stub_class(f"{module}.{name}")
            if key in _FUNCTIONS:
                return _FUNCTIONS[key]
            if key in _STORAGE_DTYPES:
                return _STORAGE_DTYPES[key]
        raise UnsafePickleError(
            f"the pickle asks for '{module}.{name}', which is not on the allow-list of the "
            "published MDF weight format; refusing to load it (nothing was executed)"
        )

    def persistent_load(self, pid: Any) -> Any:
        if not isinstance(pid, tuple) or not pid:
            raise UnsafePickleError(f"unexpected persistent id {pid!r}")
        if pid[0] == "module" and len(pid) == 4 and isinstance(pid[1], type):
            if not issubclass(pid[1], _ModuleStub):
                raise UnsafePickleError("module record names a class outside the allow-list")
            return pid[1]  # the module's source text in pid[3] is ignored, never run
        if pid[0] == "storage" and len(pid) == 6:
            _, dtype, key, _location, numel, view = pid
            if not isinstance(dtype, torch.dtype) or not isinstance(key, str) or view is not None:
                raise UnsafePickleError(f"unexpected storage record {pid[:3]!r}")
            if key not in self._storages:
                self._storages[key] = _StorageRef(dtype, int(numel))
            return self._storages[key]
        raise UnsafePickleError(f"unexpected persistent id of kind {pid[0]!r}")


def _load_plain(f: BinaryIO) -> Any:
    """Load a pickle that may hold only plain data (numbers, strings, lists, dicts)."""
    return _RestrictedUnpickler(f, {}, allow_globals=False).load()


def _critic_state(stub: Any, index: int) -> dict[str, torch.Tensor]:
    """Flatten a WDiscriminator stub into a state dict with the published key names."""
    if not isinstance(stub, _ModuleStub) or not stub.qualname.endswith("WDiscriminator"):
        raise WeightFileError(f"entry {index} of the list is not a WDiscriminator")
    out: dict[str, torch.Tensor] = {}

    def walk(mod: _ModuleStub, prefix: str, depth: int) -> None:
        if depth > 4:
            raise WeightFileError("modules are nested deeper than a WDiscriminator's")
        if mod.qualname.endswith("BatchNorm2d") and mod.state.get("eps", 1e-5) != 1e-5:
            raise WeightFileError(f"{prefix}norm has eps {mod.state.get('eps')}, expected 1e-5")
        for kind in ("_parameters", "_buffers"):
            for name, t in dict(mod.state.get(kind) or {}).items():
                if isinstance(t, _TensorRef):
                    out[prefix + str(name)] = t.materialize()
                elif t is not None:
                    raise WeightFileError(f"{prefix}{name} is not a tensor")
        for name, child in dict(mod.state.get("_modules") or {}).items():
            if not isinstance(child, _ModuleStub):
                raise WeightFileError(f"submodule {prefix}{name} is not an allowed module")
            walk(child, f"{prefix}{name}.", depth + 1)

    walk(stub, "", 0)
    width = out.get("head.conv.weight")
    if width is None or width.ndim != 4:
        raise WeightFileError(f"discriminator {index} has no head.conv.weight")
    want = expected_keys(int(width.shape[0]))
    for key, shape in want.items():
        if key not in out or tuple(out[key].shape) != shape:
            raise WeightFileError(f"discriminator {index}: {key} is missing or has the wrong shape")
    return out


def read_published_critics(path: str | Path) -> list[dict[str, torch.Tensor]]:
    """Read a published MDF ``.pth`` file into one state dict per critic, coarsest first.

    Raises:
        WeightFileError: the file is missing, not in the legacy torch format, or truncated.
        UnsafePickleError: the pickle names any class or function outside the allow-list.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightFileError(f"published weight file '{path}' does not exist or is not a file")
    raw = path.read_bytes()
    f = io.BytesIO(raw)
    try:
        magic = _load_plain(f)
        if magic != _LEGACY_MAGIC:
            raise WeightFileError(
                f"'{path}' is not a legacy torch.save archive (bad magic number); "
                "convert-reference reads only the published Ds_*.pth files"
            )
        if _load_plain(f) != _LEGACY_PROTOCOL:
            raise WeightFileError(f"'{path}' has an unknown torch.save protocol version")
        sys_info = _load_plain(f)
        if not isinstance(sys_info, dict) or not sys_info.get("little_endian", False):
            raise WeightFileError(f"'{path}' was not saved on a little-endian machine")
        storages: dict[str, _StorageRef] = {}
        result = _RestrictedUnpickler(f, storages, allow_globals=True).load()
        keys = _load_plain(f)
    except (UnsafePickleError, WeightFileError):
        raise
    except Exception as exc:  # noqa: BLE001 - a truncated or garbled pickle stream raises anything
        raise WeightFileError(f"'{path}' is corrupt or truncated: {exc}") from None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys) or set(keys) != set(storages):
        raise WeightFileError(f"'{path}' has an inconsistent storage table")
    for key in keys:
        ref = storages[key]
        header = f.read(8)
        if len(header) != 8:
            raise WeightFileError(f"'{path}' is truncated (storage {key} missing)")
        (numel,) = struct.unpack("<q", header)
        if numel != ref.numel:
            raise WeightFileError(f"'{path}': storage {key} size does not match its record")
        nbytes = numel * torch.empty((), dtype=ref.dtype).element_size()
        buf = f.read(nbytes)
        if len(buf) != nbytes:
            raise WeightFileError(f"'{path}' is truncated (storage {key} cut short)")
        ref.data = torch.frombuffer(bytearray(buf), dtype=ref.dtype) if numel else torch.empty(0, dtype=ref.dtype)
    if not isinstance(result, list) or not result:
        raise WeightFileError(f"'{path}' does not hold a list of discriminators")
    try:
        return [_critic_state(stub, i) for i, stub in enumerate(result)]
    except (TypeError, ValueError, AttributeError, RuntimeError, KeyError) as exc:
        if isinstance(exc, WeightFileError):
            raise
        raise WeightFileError(f"'{path}' holds malformed module records ({exc.__class__.__name__}: {exc})") from None
