"""Fast inference form of the critics, for the loss.

Rewrites, each exact up to float rounding:

* BatchNorm (eval) is folded into the preceding convolution.
* Conv + LeakyReLU of a frozen critic is one autograd function that keeps a
  1-byte sign mask for backward instead of the 4-byte input and output that
  autograd would keep: a frozen conv's input gradient needs only its weights,
  and a leaky ReLU's gradient only the sign of its output.
* Activations are channels_last, which oneDNN convolves faster on CPUs.

Two more rewrites were measured on the 2-core CPU and left out: merging the
critics' first convolutions into one (40 ms against 24 ms for eight separate
ones at 256x256, channels_last), and grouping critics of equal width into one
grouped convolution (1.2-1.5x slower than separate convolutions).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mdfloss.loss.critic_layout import CONV_BLOCKS, LEAKY_SLOPE

BN_EPS = 1e-5
_FORMAT = torch.channels_last
_MIN_CHANNELS = 8


def fold_critic(state: dict[str, torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(weight, bias) of the 5 convs of a critic with BatchNorm folded in (float64 math).

    Example:
        >>> from mdfloss.loss.assets import pretrained_path
        >>> from mdfloss.loss.weights import load_loss_file
        >>> convs = fold_critic(load_loss_file(pretrained_path("jpeg")).critics[0])
        >>> len(convs), convs[-1][0].shape[0]  # head, 3 body blocks, the 1-channel tail
        (5, 1)
    """
    convs = []
    for name in CONV_BLOCKS:
        w = state[f"{name}.conv.weight"].double()
        b = state[f"{name}.conv.bias"].double()
        scale = state[f"{name}.norm.weight"].double() / torch.sqrt(
            state[f"{name}.norm.running_var"].double() + BN_EPS
        )
        shift = state[f"{name}.norm.bias"].double() - state[f"{name}.norm.running_mean"].double() * scale
        convs.append(((w * scale[:, None, None, None]).float(), (b * scale + shift).float()))
    convs.append((state["tail.weight"].float(), state["tail.bias"].float()))
    return convs


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    if torch.is_autocast_enabled(x.device.type):
        return torch.get_autocast_dtype(x.device.type)
    return x.dtype


def _input_grad(ctx, grad: torch.Tensor, w: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor | None:
    """Gradient w.r.t. the input of conv (+ leaky ReLU whose output sign is ``mask``)."""
    if not ctx.needs_input_grad[0]:
        return None
    grad = grad.to(w.dtype).contiguous(memory_format=_FORMAT)
    if mask is not None:
        # leaky_relu_backward with self_is_result=True only looks at the sign of "self".
        grad = torch.ops.aten.leaky_relu_backward(grad, mask.to(grad.dtype), LEAKY_SLOPE, True)
    # For an unpadded stride-1 conv the input gradient is exactly the transposed conv;
    # oneDNN runs it faster than convolution_backward's data path.
    if w.shape[0] < _MIN_CHANNELS:
        # oneDNN is slow on 1-channel maps (12 ms against 1.4 ms at 248x248, 32 ch):
        # pad the channels with zeros, which add nothing to the result.
        pad = _MIN_CHANNELS - w.shape[0]
        w = torch.cat([w, w.new_zeros(pad, *w.shape[1:])])
        grad = torch.cat([grad, grad.new_zeros(grad.shape[0], pad, *grad.shape[2:])], dim=1)
        grad = grad.contiguous(memory_format=_FORMAT)
    return F.conv_transpose2d(grad, w).to(ctx.x_dtype)


class _FrozenConv(torch.autograd.Function):
    """y = conv(x, w, b), optionally followed by an in-place leaky ReLU; w, b never get gradients."""

    @staticmethod
    def forward(ctx, x, w, b, act: bool):
        dtype = _compute_dtype(x)
        with torch.autocast(x.device.type, enabled=False):
            w = w.to(dtype)
            y = F.conv2d(x.to(dtype), w, b.to(dtype))
            if act:
                mask = y > 0
                y = F.leaky_relu_(y, LEAKY_SLOPE)
        ctx.x_shape = x.shape
        ctx.x_dtype = x.dtype
        ctx.act = act
        if act:
            ctx.save_for_backward(w, mask)
        else:
            ctx.save_for_backward(w)
        return y

    @staticmethod
    def backward(ctx, grad):
        if ctx.act:
            w, mask = ctx.saved_tensors
        else:
            (w,) = ctx.saved_tensors
            mask = None
        return _input_grad(ctx, grad, w, mask), None, None, None


def frozen_conv(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, act: bool = True) -> torch.Tensor:
    """One folded critic layer: a 3x3 conv without padding, then LeakyReLU(0.2) when ``act``; the weights never get
    a gradient, the input does. (N, C, H, W) -> (N, C', H-2, W-2).

    Example:
        >>> import torch
        >>> x = torch.rand(1, 3, 16, 16, requires_grad=True)
        >>> y = frozen_conv(x, torch.rand(8, 3, 3, 3), torch.zeros(8))
        >>> y.shape, y.sum().backward() is None and x.grad is not None
        (torch.Size([1, 8, 14, 14]), True)
    """
    if not (x.requires_grad and torch.is_grad_enabled()):
        # No graph needed: skip the mask.
        dtype = _compute_dtype(x)
        with torch.autocast(x.device.type, enabled=False):
            y = F.conv2d(x.to(dtype), w.to(dtype), b.to(dtype))
            return F.leaky_relu_(y, LEAKY_SLOPE) if act else y
    return _FrozenConv.apply(x, w, b, act)


class _SquaredErrorMean(torch.autograd.Function):
    """Per-sample mean of (a - b)^2 over (C, H, W), computed in ``acc`` precision.

    Autograd's own version routes the scalar gradient through broadcast
    multiplications over whole feature maps; this one scales ``a - b`` once.
    """

    @staticmethod
    def forward(ctx, a, b, acc: torch.dtype):
        d = a.to(acc) - b.to(acc)
        ctx.save_for_backward(d)
        ctx.dtypes = (a.dtype, b.dtype)
        # Reduce over (C, H, W) in place: flatten(1) would copy a channels_last map to NCHW first.
        return d.square().mean(dim=tuple(range(1, d.ndim)))

    @staticmethod
    def backward(ctx, grad):
        (d,) = ctx.saved_tensors
        g = d * (grad * (2.0 / d[0].numel())).view(-1, *([1] * (d.ndim - 1)))
        ga = g.to(ctx.dtypes[0]) if ctx.needs_input_grad[0] else None
        gb = (-g).to(ctx.dtypes[1]) if ctx.needs_input_grad[1] else None
        return ga, gb, None


def squared_error_mean(a: torch.Tensor, b: torch.Tensor, acc: torch.dtype) -> torch.Tensor:
    """(N,) mean over (C, H, W) of (a - b)^2.

    Example:
        >>> import torch
        >>> squared_error_mean(torch.ones(2, 3, 4, 4), torch.zeros(2, 3, 4, 4), torch.float32)
        tensor([1., 1.])
    """
    return _SquaredErrorMean.apply(a, b, acc)


class _FrozenModule(nn.Module):
    """Holds only float32 buffers and never leaves eval mode."""

    def train(self, mode: bool = True) -> "_FrozenModule":
        return super().train(False)

    def _apply(self, fn, recurse: bool = True) -> "_FrozenModule":
        # Follow device moves only: a parent's .half() or .to(torch.bfloat16) must not round the
        # weights, since every call casts them to its own compute dtype anyway.
        for name, buf in self._buffers.items():
            if buf is not None:
                self._buffers[name] = buf.to(device=fn(buf).device)
        return self


class SingleCritic(_FrozenModule):
    """One folded critic; ``forward`` returns (head, body, tail) like ``Critic.features``.

    Example:
        >>> import torch
        >>> from mdfloss.loss.assets import pretrained_path
        >>> from mdfloss.loss.weights import load_loss_file
        >>> critic = SingleCritic(fold_critic(load_loss_file(pretrained_path("jpeg")).critics[-1]))
        >>> [tuple(f.shape[1:]) for f in critic(torch.rand(1, 3, 20, 20))]
        [(64, 18, 18), (64, 12, 12), (1, 10, 10)]
    """

    def __init__(self, folded: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        super().__init__()
        for i, (w, b) in enumerate(folded):
            self.register_buffer(f"w{i}", w, persistent=False)
            self.register_buffer(f"b{i}", b, persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: (N, 3, H, W), ideally channels_last -> (head, body, tail) features."""
        buf = self._buffers  # w0..w4, b0..b4: registered in __init__, never None
        h = frozen_conv(x.contiguous(memory_format=_FORMAT), buf["w0"], buf["b0"])  # type: ignore[arg-type]
        b = h
        for i in range(1, 4):
            b = frozen_conv(b, buf[f"w{i}"], buf[f"b{i}"])  # type: ignore[arg-type]
        return h, b, frozen_conv(b, buf["w4"], buf["b4"], act=False)  # type: ignore[arg-type]
