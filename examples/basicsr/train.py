"""Train with BasicSR and an MDF loss: ``python examples/basicsr/train.py -opt examples/basicsr/train_mdf_tiny.yml``.

BasicSR discovers only its own losses, so the script that starts the training imports the drop-in first.
"""

import os.path as osp

import mdfloss.integrations.basicsr  # noqa: F401 - registers `type: MDFLoss` in BasicSR's LOSS_REGISTRY
from basicsr.train import train_pipeline

if __name__ == "__main__":
    train_pipeline(osp.abspath(osp.join(__file__, osp.pardir)))
