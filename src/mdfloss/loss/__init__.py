"""The MDF loss (Phase 2): the API (:mod:`.mdf`), the fused kernels (:mod:`.fused`), the
critic layout (:mod:`.critic_layout`), loss files (:mod:`.weights`), the restricted reader
of the published pickles and its converter (:mod:`.reference_pickle`, :mod:`.convert`), and
the shipped loss files (:mod:`.assets`). It imports only :mod:`mdfloss.common`."""

from mdfloss.loss.assets import available_losses
from mdfloss.loss.convert import convert_reference
from mdfloss.loss.mdf import MODES, REDUCTIONS, MDFLoss, mdf_loss
from mdfloss.loss.weights import LossWeights, load_loss_file, save_loss_file

__all__ = ["MDFLoss", "mdf_loss", "MODES", "REDUCTIONS", "LossWeights", "load_loss_file", "save_loss_file",
           "convert_reference", "available_losses"]
