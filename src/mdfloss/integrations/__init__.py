"""Drop-ins for the frameworks practitioners train with: BasicSR (:mod:`.basicsr`), traiNNer-redux
(:mod:`.trainner_redux`) and neosr (:mod:`.neosr`)."""

from __future__ import annotations

from pathlib import Path

_DROPINS = {"trainner-redux": ("mdfloss_loss.py", "traiNNer/losses/mdfloss_loss.py"),
            "neosr": ("mdf_loss.py", "neosr/losses/mdf_loss.py")}


def dropin_source(framework: str) -> str:
    """The file to put into a framework's losses folder so that it registers the MDF loss (``"trainner-redux"``
    or ``"neosr"``); :func:`dropin_target` says where it goes."""
    from mdfloss.common.errors import InvalidInputError

    if framework not in _DROPINS:
        raise InvalidInputError(f"framework: expected one of {', '.join(_DROPINS)}, got {framework!r}")
    return (Path(__file__).parent / "dropins" / _DROPINS[framework][0]).read_text(encoding="utf-8")


def dropin_target(framework: str) -> str:
    """Where :func:`dropin_source`'s file goes, relative to the framework's repository."""
    dropin_source(framework)  # the same refusal for an unknown name
    return _DROPINS[framework][1]
