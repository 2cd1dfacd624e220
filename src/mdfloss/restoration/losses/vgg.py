"""VGG19 feature loss, with ImageNet weights from a local file (they are not shipped or downloaded) or with random
weights drawn from a seed.

Random weights follow torchvision's own initialisation of VGG (Kaiming normal, fan-out, for ReLU; biases 0). Liu,
Wu, Chen, Zhu and Ni, "Generic Perceptual Loss for Modeling Structured Output Dependencies", CVPR 2021, report
random-weight networks on par with pretrained ones as losses; with them a VGG-type loss can be in every benchmark,
also on a machine without the ImageNet weights."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from mdfloss.common.errors import InvalidInputError, WeightFileError

_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512]


def conv_stack(cfg: list) -> nn.Sequential:
    """A VGG conv stack (3x3 conv + ReLU per number, 2x2 max-pool per "M") with torchvision's layer indices."""
    layers: list[nn.Module] = []
    cin = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(cin, int(v), 3, padding=1), nn.ReLU(inplace=True)]
            cin = int(v)
    return nn.Sequential(*layers)


def vgg19_features() -> nn.Sequential:
    """VGG19's conv stack to relu5_4, with torchvision's layer indices (``features.N``)."""
    return conv_stack(_CFG)


def read_state_dict(path: str | Path, what: str) -> dict[str, torch.Tensor]:
    """Tensors of a local .safetensors or .pth (weights only) file; ``what`` names it in errors."""
    path = Path(path)
    if not path.is_file():
        raise WeightFileError(f"{what}: '{path}' does not exist; give a local {what} file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(path)
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure is a bad file to the user
        raise WeightFileError(f"{what}: cannot read '{path}' ({exc.__class__.__name__})") from None


def randomize_convs(net: nn.Module, seed: int) -> nn.Module:
    """Draw every conv of ``net`` as torchvision initialises VGG (Kaiming normal, fan-out, ReLU; bias 0), in layer
    order from one generator seeded with ``seed``; frozen and in eval mode."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidInputError(f"seed: expected a non-negative integer for the random weights, got {seed!r}")
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu", generator=gen)
                if m.bias is not None:
                    m.bias.zero_()
    return net.eval().requires_grad_(False)


def random_vgg19(seed: int) -> nn.Sequential:
    """VGG19's conv stack to relu5_4 with random weights drawn from ``seed`` (see the module)."""
    net = vgg19_features()
    randomize_convs(net, seed)
    return net


def load_vgg19(path: str | Path) -> nn.Sequential:
    """Load torchvision-layout weights (``features.N.weight``) from .safetensors or .pth (weights only)."""
    state = read_state_dict(path, "vgg weights")
    state = {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier")}
    net = vgg19_features()
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing:
        raise WeightFileError(f"vgg weights: '{path}' lacks {len(missing)} VGG19 conv tensors (e.g. {missing[0]})")
    return net.eval().requires_grad_(False)


class VGGLoss(nn.Module):
    """MSE between VGG19 relu5_4 features of ImageNet-normalised inputs in [0, 1].

    Shape: prediction and target (N, 3, H, W) -> scalar.

    Example:
        >>> import torch
        >>> loss = VGGLoss(random_vgg19(seed=0))  # or VGGLoss(load_vgg19("vgg19.pth")) for ImageNet weights
        >>> float(loss(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32))) > 0
        True
    """

    mean: torch.Tensor  # buffers
    std: torch.Tensor

    def __init__(self, net: nn.Sequential) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> "VGGLoss":
        super().train(mode)
        self.net.eval()
        return self

    def forward(self, p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        f = lambda x: self.net((x - self.mean) / self.std)  # noqa: E731 - a one-line helper used only in this function
        return torch.nn.functional.mse_loss(f(p), f(t))
