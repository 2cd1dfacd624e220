"""mdfloss: train and use task-specific image reconstruction losses (MDF, WACV 2022)."""

from .assets import available_losses
from .convert import convert_reference
from .errors import (
    ImageReadError,
    InvalidInputError,
    InvalidTypeError,
    MDFError,
    OutputPathError,
    TrainingDivergedError,
    UnsafePickleError,
    WeightFileError,
)
from .loss import MDFLoss, mdf_loss
from .weights import LossWeights, load_loss_file, save_loss_file

__version__ = "0.1.0"

__all__ = [
    "MDFLoss", "mdf_loss", "LossWeights", "load_loss_file", "save_loss_file", "convert_reference",
    "available_losses", "MDFError", "InvalidInputError", "InvalidTypeError", "WeightFileError",
    "UnsafePickleError", "ImageReadError", "OutputPathError", "TrainingDivergedError", "__version__",
]
