"""The MDF loss (Phase 2): the API (:mod:`.mdf`), the fused kernels (:mod:`.fused`), the
critic layout (:mod:`.critic_layout`), loss files (:mod:`.weights`), the restricted reader
of the published pickles and its converter (:mod:`.reference_pickle`, :mod:`.convert`), and
the shipped loss files (:mod:`.assets`). It imports only :mod:`mdfloss.common`."""

import importlib

# Imported when first used (they import torch), so that `mdfloss --help` starts fast.
_WHERE = {"available_losses": "assets", "convert_reference": "convert", "MODES": "mdf", "REDUCTIONS": "mdf",
          "MDFLoss": "mdf", "mdf_loss": "mdf", "LossWeights": "weights", "load_loss_file": "weights",
          "save_loss_file": "weights"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"mdfloss.loss.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'mdfloss.loss' has no attribute {name!r}")


__all__ = ["MDFLoss", "mdf_loss", "MODES", "REDUCTIONS", "LossWeights", "load_loss_file", "save_loss_file",
           "convert_reference", "available_losses"]
