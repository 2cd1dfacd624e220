"""mdfloss: train and use task-specific image reconstruction losses (MDF, WACV 2022).

Packages by capability: :mod:`mdfloss.loss` (the MDF loss and its files), :mod:`mdfloss.tasks`
(one definition of every task), :mod:`mdfloss.phase1` (training a loss), :mod:`mdfloss.restoration`
(networks trained with any loss, evaluation and the benchmark), :mod:`mdfloss.analysis` (how task-specific
a loss is, calibrated taps), :mod:`mdfloss.study` (the user study), :mod:`mdfloss.data` (data sets by
name), :mod:`mdfloss.integrations` (BasicSR), :mod:`mdfloss.cli` (the command line), all on the shared
layer :mod:`mdfloss.common`. Dependencies point one way (``tests/test_layering.py``).
"""

from mdfloss._version import __version__
from mdfloss.common.errors import (
    ImageReadError,
    InvalidInputError,
    InvalidTypeError,
    MDFError,
    OutputPathError,
    TrainingDivergedError,
    UnsafePickleError,
    WeightFileError,
)

_LAZY = {"LossWeights": "mdfloss.loss", "MDFLoss": "mdfloss.loss", "available_losses": "mdfloss.loss",
         "convert_reference": "mdfloss.loss", "load_loss_file": "mdfloss.loss", "mdf_loss": "mdfloss.loss",
         "save_loss_file": "mdfloss.loss", "train_loss": "mdfloss.phase1"}


def __getattr__(name: str):
    # torch is imported on first use of the API, not by `import mdfloss` (the command line starts in well under
    # a second, and `mdfloss data list` never needs torch).
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mdfloss' has no attribute {name!r}")


__all__ = [
    "MDFLoss", "mdf_loss", "LossWeights", "load_loss_file", "save_loss_file", "convert_reference",
    "available_losses", "train_loss", "MDFError", "InvalidInputError", "InvalidTypeError", "WeightFileError",
    "UnsafePickleError", "ImageReadError", "OutputPathError", "TrainingDivergedError", "__version__",
]
