"""Train with BasicSR and an MDF loss, from any folder:

    python /path/to/examples/basicsr/train.py -opt /path/to/examples/basicsr/train_mdf_tiny.yml

BasicSR discovers only its own losses, so the script that starts the training imports the drop-in first. The
tiny YAML reads `datasets/tiny/` relative to the current folder; when that is missing, this script makes it (four
random 96-px images and their 4x bicubic downscales), so the example runs as it is. Experiments go to
`experiments/` in the current folder, not into the checkout.
"""

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

import mdfloss.integrations.basicsr  # noqa: F401 - registers `type: MDFLoss` in BasicSR's LOSS_REGISTRY
from basicsr.train import train_pipeline


def make_tiny_data(root: Path = Path("datasets/tiny"), count: int = 4) -> None:
    """HR images and their 4x bicubic LR versions under ``root`` (only when ``root`` does not exist yet)."""
    if root.exists():
        return
    (root / "hr").mkdir(parents=True)
    (root / "lr_x4").mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        img = Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8))
        img.save(root / "hr" / f"{i}.png")
        img.resize((24, 24), Image.BICUBIC).save(root / "lr_x4" / f"{i}.png")
    print(f"made {count} tiny training pairs in {root.resolve()}", file=sys.stderr)


if __name__ == "__main__":
    make_tiny_data()
    train_pipeline(os.getcwd())  # BasicSR puts experiments/ under this root
