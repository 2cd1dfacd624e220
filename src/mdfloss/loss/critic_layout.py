"""The critics' layout, written once: layers, taps and state-dict keys.

SinGAN's critic is a head block, three body blocks (Conv3x3 without padding, BatchNorm,
LeakyReLU 0.2) and a 3x3 tail conv to a 1-channel critic map. The keys match the
published files (``head.conv.weight``, ``body.block1.norm.running_mean``, ``tail.bias``),
so published and project-trained weights share one file layout. Phase 1's networks
(:mod:`mdfloss.phase1.nets`), the loss files and the fused loss kernels all read it here.
"""

from __future__ import annotations

NUM_LAYERS = 5  # head, 3 body blocks, tail
KERNEL_SIZE = 3
LEAKY_SLOPE = 0.2
RECEPTIVE_FIELD = NUM_LAYERS * (KERNEL_SIZE - 1) + 1  # 11 px for 5 unpadded 3x3 convs
#: Conv + BatchNorm + LeakyReLU blocks, in order; the tail conv follows.
CONV_BLOCKS = ("head",) + tuple(f"body.block{i + 1}" for i in range(NUM_LAYERS - 2))
#: Feature taps of the loss: head block, last body block, critic map.
TAPS = ("head", "body", "tail")


def expected_keys(width: int, in_channels: int = 3) -> dict[str, tuple[int, ...]]:
    """State-dict keys and shapes of one critic of ``width`` channels."""
    shapes: dict[str, tuple[int, ...]] = {}
    for i, name in enumerate(CONV_BLOCKS):
        cin = in_channels if i == 0 else width
        shapes[f"{name}.conv.weight"] = (width, cin, KERNEL_SIZE, KERNEL_SIZE)
        shapes[f"{name}.conv.bias"] = (width,)
        for p in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{name}.norm.{p}"] = (width,)
    shapes["tail.weight"] = (1, width, KERNEL_SIZE, KERNEL_SIZE)
    shapes["tail.bias"] = (1,)
    return shapes


def architecture_of(widths: list[int]) -> list[dict[str, int]]:
    """The ``architecture`` metadata of critics of these widths."""
    return [{"width": w, "num_layers": NUM_LAYERS, "kernel_size": KERNEL_SIZE, "in_channels": 3} for w in widths]

#: How the loss runs its critics: every critic on the full-resolution image (as published), or each on the
#: image resized to the scale it was trained at.
MODES = ("reference", "pyramid")
