"""The project's own error types.

Every user mistake raises one of these. They subclass the builtin type a
caller would expect (``ValueError``, ``TypeError``, ``FileNotFoundError``), so
``except ValueError`` keeps working, and the CLI turns any ``MDFError`` into a
one-line message.
"""

from __future__ import annotations


class MDFError(Exception):
    """Base class of every error raised on purpose by mdfloss."""


class InvalidInputError(MDFError, ValueError):
    """A tensor or argument has the wrong shape, range or value."""


class InvalidTypeError(MDFError, TypeError):
    """An argument has the wrong type (for example an integer tensor)."""


class WeightFileError(MDFError, ValueError):
    """A loss file is missing, corrupt, truncated, pickled or from the future."""


class UnsafePickleError(WeightFileError):
    """A pickle asked for something outside the converter's allow-list."""


class ImageReadError(MDFError, ValueError):
    """An image file cannot be read or is not usable."""


class OutputPathError(MDFError, ValueError):
    """An output path cannot be written or already exists."""


class TrainingDivergedError(MDFError, RuntimeError):
    """Training produced NaN/Inf or a diverging critic; the last good checkpoint is kept."""
