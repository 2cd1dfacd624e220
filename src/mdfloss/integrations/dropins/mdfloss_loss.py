"""The MDF loss in traiNNer-redux: copy this file to traiNNer/losses/mdfloss_loss.py (see mdfloss's docs)."""

from traiNNer.utils.registry import LOSS_REGISTRY

from mdfloss.integrations.trainner_redux import MDFLoss

LOSS_REGISTRY.register(MDFLoss)
