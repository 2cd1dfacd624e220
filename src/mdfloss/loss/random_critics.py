"""Critics that never trained: the control that says whether Phase 1 matters.

:func:`random_critics` keeps a loss file's architecture (widths, scales, input range, pyramid) and replaces every
weight with a draw of Phase 1's own initialisation (SinGAN's: convs N(0, 0.02), BatchNorm weight N(1, 0.02),
biases 0, BatchNorm running statistics at their initial 0 and 1). The draws are made in the order in which
:func:`mdfloss.phase1.nets.init_weights` makes them for the critics coarsest first, from one generator seeded with
``seed``, so ``random_critics(w, seed)`` are exactly the critics Phase 1 would start from with that generator.
A loss built from them measures what the architecture alone gives; the same loss from the trained file measures
what Phase 1 added.
"""

from __future__ import annotations

import torch

from mdfloss.common.errors import InvalidInputError
from mdfloss.loss.critic_layout import CONV_BLOCKS
from mdfloss.loss.weights import LossWeights

INIT_STD = 0.02  # SinGAN's initialisation, as Phase 1 uses it


def _random_critic(state: dict[str, torch.Tensor], gen: torch.Generator) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for block in CONV_BLOCKS:  # module order: each block's conv, then its norm
        w = state[f"{block}.conv.weight"]
        out[f"{block}.conv.weight"] = torch.empty(w.shape).normal_(0.0, INIT_STD, generator=gen)
        out[f"{block}.conv.bias"] = torch.zeros(w.shape[0])
        out[f"{block}.norm.weight"] = torch.empty(w.shape[0]).normal_(1.0, INIT_STD, generator=gen)
        out[f"{block}.norm.bias"] = torch.zeros(w.shape[0])
        out[f"{block}.norm.running_mean"] = torch.zeros(w.shape[0])
        out[f"{block}.norm.running_var"] = torch.ones(w.shape[0])
    out["tail.weight"] = torch.empty(state["tail.weight"].shape).normal_(0.0, INIT_STD, generator=gen)
    out["tail.bias"] = torch.zeros(state["tail.bias"].shape)
    return out


def random_critics(weights: LossWeights, seed: int) -> LossWeights:
    """The critics of ``weights`` with Phase 1's initial weights drawn from ``seed`` (never trained).

    Args:
        weights: a loss file's weights; only their shapes and metadata are used.
        seed: a non-negative integer; the same seed gives the same critics.

    Returns:
        LossWeights with the same architecture, pyramid and input range, no calibration, and metadata that
        say where they came from (``source``, ``random_seed``; ``training_config`` None).

    Example:
        >>> from mdfloss.loss.weights import load_loss_file
        >>> from mdfloss.loss.assets import pretrained_path
        >>> w = random_critics(load_loss_file(pretrained_path("sisr")), seed=0)
        >>> w.widths == load_loss_file(pretrained_path("sisr")).widths
        True
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidInputError(f"seed: expected a non-negative integer for the random critics, got {seed!r}")
    gen = torch.Generator().manual_seed(seed)
    critics = [_random_critic(c, gen) for c in weights.critics]
    meta = dict(weights.metadata)
    meta.update(source=f"random critics (Phase 1's initialisation, seed {seed}) with the architecture of "
                       f"{meta.get('source', 'a loss file')}",
                random_seed=seed, training_config=None, training_image=None)
    meta.pop("calibration", None)
    return LossWeights(critics, meta, None)
