"""Convert the published MDF ``.pth`` pickles into safe loss files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from mdfloss.loss.reference_pickle import read_published_critics
from mdfloss.loss.weights import LossWeights, loss_metadata, save_loss_file

#: SinGAN's default ratio between neighbouring scales; the published files do not
#: record their pyramid, so pyramid mode assumes it.
PUBLISHED_SCALE_FACTOR = 0.75

_KNOWN = {
    "69ff954e": ("sisr", "the published SISR loss (the published denoising file is identical)"),
    "6eee1fbf": ("jpeg", "the published JPEG-artefact loss"),
}


def convert_reference(src: str | Path, dst: str | Path) -> LossWeights:
    """Read a published ``Ds_*.pth`` with the restricted unpickler and write ``dst``.

    The metadata says where the weights came from, feeds inputs in [0, 1] as the
    original code does, and uses the paper's choice of scales (the 8 coarsest).
    """
    src = Path(src)
    critics = read_published_critics(src)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    task, what = _KNOWN.get(digest[:8], ("unknown", "an MDF loss in the published format"))
    n = len(critics)
    widths = [int(c["head.conv.weight"].shape[0]) for c in critics]
    meta = loss_metadata(
        widths, input_range=[0.0, 1.0], scale_factors=[PUBLISHED_SCALE_FACTOR ** (n - 1 - k) for k in range(n)],
        task=task,
        source=f"converted from {src.name} (sha256 {digest}), {what}; "
               "gfxdisp/mdf commit 3901f237, Mustafa et al., WACV 2022",
        license="BSD-3-Clause (c) the gfxdisp/mdf authors; see LICENSE.gfxdisp-mdf",
        scale_factors_note="not recorded in the published file; SinGAN's default ratio 0.75 assumed",
        default_scales=list(range(min(8, n))), published=True,
    )
    weights = LossWeights(critics, meta)
    save_loss_file(dst, weights)
    return weights
