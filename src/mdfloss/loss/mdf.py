"""The MDF loss (Phase 2): L2 distance between frozen critics' features."""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from mdfloss.common.errors import InvalidInputError
from mdfloss.common.resize import resize, scale_size
from mdfloss.common.validation import REDUCTIONS, check_choice, check_pair, reduce_per_image
from mdfloss.loss import fused
from mdfloss.loss.critic_layout import MODES, RECEPTIVE_FIELD, TAPS
from mdfloss.loss.weights import LossWeights, load_loss_file


def _resolve_scales(scales: Sequence[int] | None, weights: LossWeights) -> list[int]:
    n = len(weights.critics)
    if scales is None:
        scales = weights.metadata.get("default_scales") or list(range(n))
    scales = [int(s) for s in scales]
    if not scales:
        raise InvalidInputError("scales: expected at least one scale index, got an empty list")
    bad = [s for s in scales if not 0 <= s < n]
    if bad:
        raise InvalidInputError(f"scales: this loss has scales 0..{n - 1} (0 = coarsest), got {bad}")
    if len(set(scales)) != len(scales):
        raise InvalidInputError(f"scales: each scale may appear once, got {scales}")
    return sorted(scales)


def _resolve_taps(taps: Sequence[str] | None, weights: LossWeights) -> list[str]:
    taps = list(taps) if taps is not None else list(weights.metadata.get("default_taps") or TAPS)
    if not taps or any(t not in TAPS for t in taps) or len(set(taps)) != len(taps):
        raise InvalidInputError(f"taps: expected a non-empty subset of {list(TAPS)}, got {taps}")
    return taps


class MDFLoss(nn.Module):
    r"""Multi-scale discriminator feature (MDF) loss.

    .. math::
        L(x, y) = \sum_{k \in \text{scales}} \sum_{t \in \text{taps}}
        \operatorname{mean}_{c,h,w} \big(\phi_{k,t}(x) - \phi_{k,t}(y)\big)^2

    where :math:`\phi_{k,t}` is tap ``t`` (``head``: first block, ``body``: last body
    block, ``tail``: critic map) of the frozen critic of scale ``k`` (0 = coarsest).
    Lower is better; 0 for identical inputs; symmetric.

    Args:
        weights: a :class:`~mdfloss.loss.weights.LossWeights` (see :meth:`from_file`, :meth:`pretrained`).
        mode: ``"pyramid"`` (the default since 0.2, as everywhere in mdfloss) or ``"reference"``.
            ``"reference"`` runs every critic on the full-resolution image, exactly
            as published; cost grows with the number of critics times the pixels
            (71 GFLOP per 256x256 forward for the published SISR loss).
            ``"pyramid"`` shows critic ``k`` the image resized to the scale it was
            trained at (``metadata["scale_factors"]``, relative to the finest scale;
            the input is taken to be at the finest scale), 5x cheaper at 256x256 and
            11x at 512x512 for the published SISR loss; a scale whose resized image
            is smaller than the critics' 11-px receptive field is skipped.
        scales: critic indices to use; default ``metadata["default_scales"]`` (the 8
            coarsest for the published SISR loss, as in the paper).
        taps: subset of ``("head", "body", "tail")``; default all three.
        reduction: ``"mean"`` (over the batch), ``"sum"``, or ``"none"`` (shape (N,)).
        data_range: inputs are in ``[0, data_range]``; they are mapped to the critics'
            ``metadata["input_range"]``.
        check_range: refuse inputs outside ``[0, data_range]`` by more than 1 % of
            ``data_range``; set False for unclamped network outputs.
        normalize: scale the ``head`` and ``body`` features to unit length over channels at each
            position before the difference, as LPIPS does (the 1-channel ``tail`` map is left as it is).
        calibrated: weigh each channel of each tap by the loss file's calibration
            (``w_c (phi_c(x) - phi_c(y))^2``; see :mod:`mdfloss.analysis.calibrate`). Default: when the
            file holds one. ``True`` on a file without calibration is refused.

    Shape:
        prediction, target: (N, 3, H, W) or (N, 1, H, W) (grey is repeated to 3
        channels), H and W at least 11. Output: scalar, or (N,) with ``reduction="none"``.

    The critics are buffers, not parameters: they never train, stay in eval mode
    and add nothing to ``model.parameters()``. They stay float32 and follow the input's
    device only: a bfloat16 or float16 input (or ``torch.autocast``) is computed in that
    precision with weights cast per call, so the module never changes itself and the next
    float32 call gives the same value as before.

    Example:
        >>> import torch
        >>> from mdfloss import MDFLoss
        >>> loss = MDFLoss.pretrained("published-sisr", mode="pyramid")
        >>> x = torch.rand(2, 3, 64, 64, requires_grad=True)
        >>> value = loss(x, torch.rand(2, 3, 64, 64))
        >>> value.backward()
        >>> value.shape
        torch.Size([])
    """

    def __init__(
        self,
        weights: LossWeights,
        *,
        mode: str = "pyramid",
        scales: Sequence[int] | None = None,
        taps: Sequence[str] | None = None,
        reduction: str = "mean",
        data_range: float = 1.0,
        check_range: bool = True,
        normalize: bool = False,
        calibrated: bool | None = None,
    ) -> None:
        super().__init__()
        check_choice("mode", mode, MODES)
        check_choice("reduction", reduction, REDUCTIONS)
        if not isinstance(weights, LossWeights):
            raise InvalidInputError(
                f"weights: expected LossWeights, got {type(weights).__name__}; use MDFLoss.from_file(path) "
                "or MDFLoss.pretrained(name)"
            )
        if isinstance(data_range, bool) or not isinstance(data_range, (int, float)) or not data_range > 0:
            raise InvalidInputError(f"data_range: expected a positive number, got {data_range!r}")
        self.mode = mode
        self.reduction = reduction
        self.data_range = float(data_range)
        self.check_range = check_range
        self.scales = _resolve_scales(scales, weights)
        self.taps = _resolve_taps(taps, weights)
        self._metadata = dict(weights.metadata)
        self._tap_index = [TAPS.index(t) for t in self.taps]
        lo, hi = weights.metadata["input_range"]
        self._in_lo, self._in_scale = float(lo), float(hi - lo) / self.data_range
        folded = [fused.fold_critic(weights.critics[k]) for k in self.scales]
        self._factors = [float(weights.metadata["scale_factors"][k]) for k in self.scales]
        self.critics = nn.ModuleList(fused.SingleCritic(f) for f in folded)
        self.critics.requires_grad_(False)
        self.critics.eval()
        self.normalize = bool(normalize)
        if calibrated and weights.calibration is None:
            raise InvalidInputError("calibrated: this loss file holds no calibration; fit one with "
                                    "'mdfloss calibrate' or pass calibrated=None")
        self.calibrated = weights.calibration is not None if calibrated is None else bool(calibrated)
        # sqrt of the channel weights, so (s * a - s * b)^2 = w (a - b)^2 runs through the fused kernel
        cal = weights.calibration
        self._sqrt_w = [[cal[f"{k}.{t}"].clamp_min(0).sqrt().view(1, -1, 1, 1) for t in self.taps]
                        for k in self.scales] if self.calibrated and cal is not None else None

    # ----- construction -------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> "MDFLoss":
        """Load a loss file (safetensors + metadata); see the class for ``kwargs``."""
        return cls(load_loss_file(path), **kwargs)

    @classmethod
    def pretrained(cls, name: str, **kwargs: Any) -> "MDFLoss":
        """Load a loss shipped with the package; ``mdfloss.available_losses()`` lists the names."""
        from mdfloss.loss.assets import pretrained_path

        return cls.from_file(pretrained_path(name), **kwargs)

    @classmethod
    def load(cls, loss: str | Path, **kwargs: Any) -> "MDFLoss":
        """``loss``: a shipped loss by name, or a loss file by path (as everywhere in the API)."""
        from mdfloss.loss.assets import resolve_loss_path

        return cls.from_file(resolve_loss_path(loss), **kwargs)

    @classmethod
    def random(cls, loss: str | Path, seed: int = 0, **kwargs: Any) -> "MDFLoss":
        """The architecture of a shipped loss or loss file with Phase 1's initial weights drawn from ``seed``,
        never trained: the control that says what Phase 1 adds (:mod:`mdfloss.loss.random_critics`). Same
        ``kwargs`` as the class."""
        from mdfloss.loss.assets import resolve_loss_path
        from mdfloss.loss.random_critics import random_critics

        return cls(random_critics(load_loss_file(resolve_loss_path(loss)), seed), **kwargs)

    @property
    def metadata(self) -> dict[str, Any]:
        """The loss file's metadata (task, distortion, architecture, ...)."""
        return dict(self._metadata)

    def train(self, mode: bool = True) -> "MDFLoss":
        super().train(mode)
        self.critics.eval()  # frozen critics stay in eval mode under a parent's .train()
        return self

    def extra_repr(self) -> str:
        return (f"task={self._metadata.get('task')!r}, mode={self.mode!r}, scales={self.scales}, "
                f"taps={self.taps}, reduction={self.reduction!r}, normalize={self.normalize}, "
                f"calibrated={self.calibrated}")

    # ----- computation --------------------------------------------------------------
    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if self._in_lo != 0.0 or self._in_scale != 1.0:
            x = x * self._in_scale + self._in_lo
        return x

    def _follow(self, x: torch.Tensor) -> None:
        ref = next(self.critics.buffers())
        if ref.device != x.device:
            self.critics.to(device=x.device)  # device only: the fused kernels cast the weights per call

    def _views(self, p: torch.Tensor, t: torch.Tensor):
        """(index among the selected critics, critic, its view of p, its view of t) for every critic used."""
        if self.mode == "reference":
            p, t = (x.contiguous(memory_format=torch.channels_last) for x in (p, t))
            for j, critic in enumerate(self.critics):
                yield j, critic, p, t
            return
        h, w = p.shape[-2:]
        for j, (critic, factor) in enumerate(zip(self.critics, self._factors)):
            size = scale_size(h, w, factor)
            if min(size) >= RECEPTIVE_FIELD:  # else the critic would see less than one receptive field
                yield j, critic, resize(p, size), resize(t, size)

    def _taps(self, j: int, feats: tuple[torch.Tensor, ...], weighted: bool = True) -> list[torch.Tensor]:
        """The selected taps of critic j's features, normalised and (``weighted``) calibrated as this loss asks."""
        out = []
        for n, i in enumerate(self._tap_index):
            f = feats[i]
            if self.normalize and TAPS[i] != "tail":
                f = f / (f.float().square().sum(1, keepdim=True).sqrt() + 1e-10).to(f.dtype)
            if weighted and self._sqrt_w is not None:
                f = f * self._sqrt_w[j][n].to(f.device, f.dtype)
            out.append(f)
        return out

    @torch.no_grad()
    def channel_distances(self, prediction: torch.Tensor, target: torch.Tensor) -> dict[tuple[int, str], torch.Tensor]:
        """``{(scale, tap): (N, C)}``: mean over positions of the squared feature difference per channel,
        after normalisation but before the calibration weights (what :mod:`mdfloss.analysis.calibrate` fits on).
        Scales that pyramid mode skips are absent."""
        check_pair(prediction, target, self.data_range, self.check_range)
        self._follow(prediction)
        p, t = self._prepare(prediction), self._prepare(target.to(prediction.dtype))
        out = {}
        for j, critic, vp, vt in self._views(p, t):
            for tap, fp, ft in zip(self.taps, self._taps(j, critic(vp), False), self._taps(j, critic(vt), False)):
                out[(self.scales[j], tap)] = (fp.float() - ft.float()).square().mean(dim=(2, 3))
        return out

    def _reference(self, p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if min(p.shape[-2:]) < RECEPTIVE_FIELD:
            raise InvalidInputError(
                f"prediction: image of {p.shape[-2]}x{p.shape[-1]} px is smaller than the critics' "
                f"receptive field ({RECEPTIVE_FIELD} px); use images of at least "
                f"{RECEPTIVE_FIELD}x{RECEPTIVE_FIELD}"
            )
        return self._sum(p, t)[0]

    def _sum(self, p: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, int]:
        """(per-image loss, number of critics used)."""
        acc = torch.promote_types(p.dtype, torch.float32)
        total = p.new_zeros(p.shape[0], dtype=acc)
        used = 0
        for j, critic, vp, vt in self._views(p, t):
            used += 1
            for fp, ft in zip(self._taps(j, critic(vp)), self._taps(j, critic(vt))):
                total = total + fused.squared_error_mean(fp, ft, acc)
        return total, used

    def _pyramid(self, p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h, w = p.shape[-2:]
        total, used = self._sum(p, t)
        if used == 0:
            largest = max(self._factors)
            need = int(-(-RECEPTIVE_FIELD // largest)) if largest > 0 else RECEPTIVE_FIELD
            raise InvalidInputError(
                f"prediction: image of {h}x{w} px is too small for pyramid mode: every selected scale "
                f"would be smaller than {RECEPTIVE_FIELD} px; use images of at least {need} px or mode='reference'"
            )
        return total

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_pair(prediction, target, self.data_range, self.check_range)
        self._follow(prediction)
        p, t = self._prepare(prediction), self._prepare(target.to(prediction.dtype))
        per_image = self._reference(p, t) if self.mode == "reference" else self._pyramid(p, t)
        return reduce_per_image(per_image, self.reduction)


@functools.lru_cache(maxsize=8)
def _cached_weights(source: str, mtime_ns: int) -> LossWeights:
    # Loss files are read once per (path, modification time); the tensors are never modified.
    from mdfloss.loss.assets import resolve_loss_path

    return load_loss_file(resolve_loss_path(source))


def mdf_loss(
    prediction: torch.Tensor,
    target: torch.Tensor,
    loss: str | Path | LossWeights = "sisr",
    *,
    mode: str = "pyramid",
    scales: Sequence[int] | None = None,
    taps: Sequence[str] | None = None,
    reduction: str = "mean",
    data_range: float = 1.0,
    check_range: bool = True,
    normalize: bool = False,
    calibrated: bool | None = None,
    weights: str | Path | LossWeights | None = None,
) -> torch.Tensor:
    """Function form of :class:`MDFLoss`, with the same arguments.

    ``loss`` is a shipped loss name, a loss-file path or a ``LossWeights`` (``weights=``, its name before 0.2,
    still works for this release and warns).
    Loaded files are cached (keyed by path and modification time); each call builds a
    fresh module from the cached, read-only weights (folding costs well under a millisecond
    per critic), so no state is shared between calls.

    Example:
        >>> import torch
        >>> from mdfloss import mdf_loss
        >>> x, y = torch.rand(1, 3, 48, 48), torch.rand(1, 3, 48, 48)
        >>> float(mdf_loss(x, x, "published-jpeg"))
        0.0
    """
    if weights is not None:
        warnings.warn("mdf_loss(weights=...) is now mdf_loss(loss=...); weights= goes in the next release",
                      DeprecationWarning, stacklevel=2)
        loss = weights
    if not isinstance(loss, LossWeights):
        from mdfloss.loss.assets import resolve_loss_path

        path = resolve_loss_path(loss)
        mtime = path.stat().st_mtime_ns if path.is_file() else 0
        loss = _cached_weights(str(loss), mtime)
    module = MDFLoss(loss, mode=mode, scales=scales, taps=taps, reduction=reduction, data_range=data_range,
                     check_range=check_range, normalize=normalize, calibrated=calibrated)
    return module(prediction, target)
