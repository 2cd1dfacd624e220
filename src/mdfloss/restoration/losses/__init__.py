"""Losses for training restoration networks, in one place: the usual pixel and structure
losses (:mod:`.pixel`), the MDF term (:mod:`.mdf_term`), VGG and LPIPS feature losses from
local weights (:mod:`.vgg`, :mod:`.lpips`), and the spec parser that combines them
(:mod:`.spec`, e.g. ``l2+0.005*mdf:sisr@pyramid@finest=2``)."""

from mdfloss.restoration.losses.mdf_term import MDFTerm
from mdfloss.restoration.losses.pixel import (
    L1Loss,
    L2Loss,
    MSSSIMLoss,
    SSIMLoss,
    l1_loss,
    l2_loss,
    ms_ssim_loss,
    ssim_loss,
)
from mdfloss.restoration.losses.spec import WeightedSum, build_loss

__all__ = ["build_loss", "WeightedSum", "MDFTerm", "l1_loss", "l2_loss", "ssim_loss", "ms_ssim_loss", "L1Loss",
           "L2Loss", "SSIMLoss", "MSSSIMLoss"]
