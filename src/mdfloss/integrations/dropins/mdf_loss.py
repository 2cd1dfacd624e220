"""The MDF loss in neosr: copy this file to neosr/losses/mdf_loss.py (see mdfloss's docs)."""

from neosr.utils.registry import LOSS_REGISTRY

from mdfloss.integrations.neosr import mdf_loss

LOSS_REGISTRY.register(mdf_loss)
