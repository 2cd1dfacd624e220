"""mdfloss: train and use task-specific image reconstruction losses (MDF, WACV 2022).

Packages by capability: :mod:`mdfloss.loss` (the MDF loss and its files),
:mod:`mdfloss.phase1` (training a loss), :mod:`mdfloss.restoration` (networks trained
with any loss, evaluation and the benchmark), :mod:`mdfloss.cli` (the command line), all
on the shared layer :mod:`mdfloss.common`.
"""

__version__ = "0.1.0"

from mdfloss.common.errors import (  # noqa: E402
    ImageReadError,
    InvalidInputError,
    InvalidTypeError,
    MDFError,
    OutputPathError,
    TrainingDivergedError,
    UnsafePickleError,
    WeightFileError,
)
from mdfloss.loss import (  # noqa: E402
    LossWeights,
    MDFLoss,
    available_losses,
    convert_reference,
    load_loss_file,
    mdf_loss,
    save_loss_file,
)
from mdfloss.phase1 import train_loss  # noqa: E402

__all__ = [
    "MDFLoss", "mdf_loss", "LossWeights", "load_loss_file", "save_loss_file", "convert_reference",
    "available_losses", "train_loss", "MDFError", "InvalidInputError", "InvalidTypeError", "WeightFileError",
    "UnsafePickleError", "ImageReadError", "OutputPathError", "TrainingDivergedError", "__version__",
]
