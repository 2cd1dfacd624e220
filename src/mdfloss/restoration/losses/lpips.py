"""LPIPS (Zhang et al. 2018, VGG variant) from a local weights file.

Neither the ImageNet VGG16 nor the LPIPS linear heads are shipped or downloaded. The file
is the ``state_dict`` of the ``lpips`` package's ``LPIPS(net='vgg')`` (``net.sliceK.N.*``,
``linK.model.1.weight``, optionally ``scaling_layer.*``), as .safetensors or .pth; make it
on a machine with internet::

    python -c "import lpips, torch; torch.save(lpips.LPIPS(net='vgg').state_dict(), 'lpips_vgg.pth')"

Distance, as the reference implementation (``lpips`` 0.1, ``normalize=True``): inputs in
[0, 1] are mapped to [-1, 1] and shifted/scaled; at relu1_2, relu2_2, relu3_3, relu4_3 and
relu5_3 the features are unit-normalised over channels, their squared difference is
weighted per channel by the linear head and averaged over space; the five are summed.

:meth:`LPIPS.random` draws the VGG16 trunk from a seed (torchvision's initialisation, as
:func:`~mdfloss.restoration.losses.vgg.random_vgg19`) and weighs every channel 1: the ``lpips``
package's unweighted baseline (``lpips=False``) on a network that never saw ImageNet.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import nn

from mdfloss.common.errors import WeightFileError
from mdfloss.restoration.losses.vgg import conv_stack, randomize_convs, read_state_dict

_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]
_TAPS = (3, 8, 15, 22, 29)  # torchvision vgg16.features indices of relu1_2 .. relu5_3
_CHANNELS = (64, 128, 256, 512, 512)


def vgg16_features() -> nn.Sequential:
    return conv_stack(_CFG)


class LPIPS(nn.Module):
    """LPIPS-VGG distance per image, shape (N,), for inputs (N, 3, H, W) in [0, 1].

    Example:
        >>> import torch
        >>> net = LPIPS.random(seed=0)  # or LPIPS.from_file(path) for the lpips package's weights
        >>> net(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)).shape
        torch.Size([2])
    """

    shift: torch.Tensor  # buffers
    scale: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.features = vgg16_features()
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in _CHANNELS)
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))
        self.requires_grad_(False).eval()

    @classmethod
    def random(cls, seed: int) -> "LPIPS":
        """Random VGG16 trunk drawn from ``seed``, every channel weighed 1 (see the module)."""
        net = cls()
        randomize_convs(net.features, seed)
        with torch.no_grad():
            for lin in net.lins:
                lin.weight.fill_(1.0)  # type: ignore[operator]  # a Conv2d's weight, typed as Tensor | Module
        return net.requires_grad_(False).eval()

    @classmethod
    def from_file(cls, path: str | Path) -> "LPIPS":
        state = read_state_dict(path, "lpips weights")
        mapped = {}
        for key, value in state.items():
            if m := re.fullmatch(r"net\.slice[1-5]\.(\d+)\.(weight|bias)", key):
                mapped[f"features.{m[1]}.{m[2]}"] = value
            elif m := re.fullmatch(r"lin([0-4])\.model\.1\.weight", key):
                mapped[f"lins.{m[1]}.weight"] = value
            elif key == "scaling_layer.shift":
                mapped["shift"] = value.view(1, 3, 1, 1)
            elif key == "scaling_layer.scale":
                mapped["scale"] = value.view(1, 3, 1, 1)
        net = cls()
        missing = [k for k in net.state_dict() if k not in mapped and k not in ("shift", "scale")]
        if missing:
            raise WeightFileError(
                f"lpips weights: '{path}' lacks {len(missing)} tensors of lpips.LPIPS(net='vgg') (e.g. {missing[0]})"
            )
        try:
            net.load_state_dict(mapped, strict=False)
        except RuntimeError as exc:
            raise WeightFileError(f"lpips weights: '{path}' has tensors of the wrong shape ({exc})") from None
        return net.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> "LPIPS":
        return super().train(False)  # no dropout or batch statistics: always the evaluation graph

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        x = ((prediction * 2 - 1) - self.shift) / self.scale
        y = ((target * 2 - 1) - self.shift) / self.scale
        total = prediction.new_zeros(prediction.shape[0])
        tap = 0
        for i, layer in enumerate(self.features[: _TAPS[-1] + 1]):
            x, y = layer(x), layer(y)
            if i == _TAPS[tap]:
                nx = x / (x.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
                ny = y / (y.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
                total = total + self.lins[tap]((nx - ny) ** 2).mean(dim=(1, 2, 3))
                tap += 1
        return total


class LPIPSLoss(nn.Module):
    """Mean LPIPS over the batch, as a training loss.

    Example:
        >>> import torch
        >>> loss = LPIPSLoss(LPIPS.random(seed=0))
        >>> float(loss(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32))) > 0
        True
    """

    def __init__(self, net: LPIPS) -> None:
        super().__init__()
        self.net = net

    def forward(self, p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.net(p, t).mean()
