"""Optional dependencies: a missing extra stops with one line that says what to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from mdfloss.common.errors import MDFError

#: extra -> what it brings, for the message.
EXTRAS = {"metrics": "torchvision, piq, cvvdp, flip-evaluator, scipy and matplotlib",
          "study": "starlette, uvicorn, scipy and matplotlib", "data": "pooch", "spandrel": "spandrel",
          "basicsr": "basicsr-fixed, BasicSR for current torchvision", "tensorboard": "tensorboard"}


class MissingExtraError(MDFError, ImportError):
    """A feature needs an optional extra that is not installed."""


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module``, or raise MissingExtraError naming ``extra`` and the ``feature`` that needs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(
            f"{feature} needs the '{extra}' extra ({EXTRAS.get(extra, module)}), which is not installed; "
            f"pip install 'mdfloss[{extra}]'"
        ) from None
