"""Restoration losses by name, all with the signature ``loss(prediction, target) -> scalar``.

Spec grammar: terms joined by ``+``, each ``[weight*]name[:argument]``, the names from the
registry :data:`LOSSES` (add one with :func:`register_loss`; ``loss_table()`` lists them):

{table}

Options of ``mdf``, each after ``@``: ``@reference`` (the published way; pyramid mode is the default),
``@finest=N`` (the N finest scales), ``@scales=A-B`` or ``@scales=A.B.C`` (0 = coarsest), ``@taps=head.body``,
``@bf16`` (the MDF term under bfloat16 autocast), ``@normalize``, ``@uncalibrated``, ``@random=SEED`` (the named loss's
architecture with Phase 1's initial weights drawn from SEED, never trained: the control for Phase 1).

``vgg`` and ``lpips`` take a weights file or ``random=SEED`` (the trunk drawn from SEED), and ``@bf16``.
``msswd`` takes options after ``:`` joined by ``@`` (``msswd:scales=3@proj=24@patch=11@seed=0``); ``ffl`` takes
``ffl:alpha=A``.

Examples: ``l1+0.1*mdf:jpeg@pyramid``, ``l2+0.05*mdf:sisr@pyramid@finest=2@bf16``,
``l2+0.0025*mdf:sisr@pyramid@finest=1@random=0``, ``l2+0.01*vgg:random=0@bf16``, ``l2+0.1*msswd``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from mdfloss.common.errors import InvalidInputError
from mdfloss.common.registry import Registry
from mdfloss.restoration.losses.lpips import LPIPS, LPIPSLoss
from mdfloss.restoration.losses.mdf_term import MDFTerm, parse_mdf_options
from mdfloss.restoration.losses.pixel import L1Loss, L2Loss, MSSSIMLoss, SSIMLoss
from mdfloss.restoration.losses.precision import Bfloat16Term
from mdfloss.restoration.losses.vgg import VGGLoss, load_vgg19, random_vgg19
from mdfloss.restoration.losses.weight_free import FocalFrequencyLoss, MSSWDLoss
from mdfloss.tasks import builtin_tasks


def _weights_file(kind: str, path: str) -> Path:
    p = Path(path)
    if not path or not p.is_file():
        raise InvalidInputError(
            f"loss {kind}: needs a local weights file, as '{kind}:PATH' (ImageNet weights cannot be "
            f"downloaded here and are not shipped); got {path or 'no path'!r}"
        )
    return p


class WeightedSum(nn.Module):
    """Σ weight_i · term_i(prediction, target), built from ``spec``.

    Example:
        >>> import torch
        >>> loss = build_loss("l1+0.5*l2")
        >>> x, y = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
        >>> bool(torch.isclose(loss(x, y), (x - y).abs().mean() + 0.5 * ((x - y) ** 2).mean()))
        True
    """

    def __init__(self, spec: str, terms: list[tuple[float, nn.Module]]) -> None:
        super().__init__()
        self.spec = spec
        self.weights = [w for w, _ in terms]
        self.terms = nn.ModuleList(t for _, t in terms)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        total = prediction.new_zeros(())
        for w, term in zip(self.weights, self.terms):
            total = total + w * term(prediction, target)
        return total

    def extra_repr(self) -> str:
        return self.spec


@dataclass(frozen=True)
class LossEntry:
    """``build(argument, term)`` returns the loss module (``argument``: the text after ``:``, or None;
    ``term``: the whole term, for messages); ``usage`` and ``what`` document it."""

    build: Callable[[str | None, str], nn.Module]
    usage: str
    what: str


def _no_argument(cls: type[nn.Module]) -> Callable[[str | None, str], nn.Module]:
    def build(arg: str | None, term: str) -> nn.Module:
        if arg:
            raise InvalidInputError(f"loss: {term.strip()!r} takes no argument; write it without ':{arg}'")
        return cls()
    return build


def _options(term: str, options: list[str], allowed: dict[str, type]) -> dict:
    """``["scales=3", "bf16"]`` -> ``{"scales": 3, "bf16": True}``; a flag's type is bool, a value's int or float."""
    out: dict = {}
    for opt in options:
        key, sep, value = opt.partition("=")
        kind = allowed.get(key)
        try:
            if kind is None or (kind is bool) == bool(sep) or key in out:
                raise ValueError
            out[key] = True if kind is bool else kind(value)
        except ValueError:
            choices = ", ".join(f"@{k}" if t is bool else f"@{k}=N" for k, t in allowed.items())
            raise InvalidInputError(f"loss {term.strip()}: unknown, repeated or malformed option {opt!r}; "
                                    f"use {choices or 'no options'}") from None
    return out


def _random_seed(text: str, term: str) -> int | None:
    """``random=SEED`` -> SEED; anything else -> None (it names a file)."""
    if not text.startswith("random="):
        return None
    seed = text.removeprefix("random=")
    if not seed.isdigit():
        raise InvalidInputError(f"loss {term.strip()}: expected random=SEED with a non-negative integer seed, "
                                f"got {text!r}")
    return int(seed)


def _feature_net(kind: str, random_net: Callable[[int], Any], from_file: Callable[[Path], Any],
                 wrap: Callable[[Any], nn.Module]) -> Callable[[str | None, str], nn.Module]:
    """The builder of ``vgg:PATH|random=SEED[@bf16]`` and ``lpips:...``."""
    def build(arg: str | None, term: str) -> nn.Module:
        source, *options = (arg or "").split("@")
        opts = _options(term, options, {"bf16": bool})
        seed = _random_seed(source, term)
        loss = wrap(random_net(seed) if seed is not None else from_file(_weights_file(kind, source)))
        return Bfloat16Term(term.strip(), loss) if opts.get("bf16") else loss
    return build


def _weight_free(cls: type[nn.Module], allowed: dict[str, tuple[str, type]]) -> Callable[[str | None, str], nn.Module]:
    """The builder of a weight-free loss whose options map to keyword arguments: ``{option: (kwarg, type)}``."""
    def build(arg: str | None, term: str) -> nn.Module:
        opts = _options(term, (arg or "").split("@") if arg else [], {k: t for k, (_, t) in allowed.items()})
        return cls(**{allowed[k][0]: v for k, v in opts.items()})
    return build


def _mdf(arg: str | None, term: str) -> nn.Module:
    source, *options = (arg or "").split("@")
    if not source:
        raise InvalidInputError("loss mdf: name a shipped loss or a file, as 'mdf:jpeg' or 'mdf:path.safetensors'")
    return MDFTerm(term.strip(), source, **parse_mdf_options(term.strip(), options))


#: Loss name -> how to build it. One entry adds a loss to specs, docs and error messages.
LOSSES: Registry[LossEntry] = Registry("loss")
for _name, _entry in {
    "l1": LossEntry(_no_argument(L1Loss), "l1", "mean absolute error"),
    "l2": LossEntry(_no_argument(L2Loss), "l2", "mean squared error"),
    "ssim": LossEntry(_no_argument(SSIMLoss), "ssim", "1 - SSIM (pytorch-msssim, Gaussian window 11, sigma 1.5)"),
    "msssim": LossEntry(_no_argument(MSSSIMLoss), "msssim", "1 - MS-SSIM (pytorch-msssim)"),
    "mdf": LossEntry(_mdf, "mdf:NAME_OR_FILE[@option...]", "MDF loss (pyramid mode unless @reference)"),
    "vgg": LossEntry(_feature_net("vgg", random_vgg19, load_vgg19, VGGLoss), "vgg:PATH|random=SEED[@bf16]",
                     "VGG19 relu5_4 feature MSE; ImageNet weights from a local file (not shipped), or random"),
    "lpips": LossEntry(_feature_net("lpips", LPIPS.random, LPIPS.from_file, LPIPSLoss),
                       "lpips:PATH|random=SEED[@bf16]",
                       "LPIPS-VGG; the lpips package's weights from a local file (not shipped), or a random "
                       "trunk with every channel weighed 1"),
    "msswd": LossEntry(_weight_free(MSSWDLoss, {"scales": ("scales", int), "proj": ("projections", int),
                                                "patch": ("patch", int), "seed": ("seed", int)}),
                       "msswd[:scales=3@proj=24@patch=11@seed=0]",
                       "multiscale sliced Wasserstein distance in CIELAB (He et al., ECCV 2024), as neosr uses it"),
    "ffl": LossEntry(_weight_free(FocalFrequencyLoss, {"alpha": ("alpha", float)}), "ffl[:alpha=1]",
                     "focal frequency loss (Jiang et al., ICCV 2021)"),
}.items():
    LOSSES.register(_name, _entry, builtin=True)


def register_loss(name: str, build: Callable[[str | None, str], nn.Module], *, usage: str | None = None,
                  what: str = "", replace: bool = False) -> None:
    """Add a loss to the spec grammar: ``build(argument, term)`` returns an ``nn.Module`` called as
    ``loss(prediction, target) -> scalar``. ``name``: a lower-case identifier, not taken (``replace=True``
    replaces a loss registered before; the built-ins stay)."""
    if not callable(build):
        raise InvalidInputError(f"build: expected a callable (argument, term) -> nn.Module, got {type(build).__name__}")
    LOSSES.register(name, LossEntry(build, usage or name, what), replace=replace)


def loss_table() -> str:
    """The registered losses as a reStructuredText table (the spec's documentation)."""
    return LOSSES.table(lambda name, e: (e.usage, e.what))


__doc__ = __doc__.format(table=loss_table())  # the table comes from the registry

_TERM = re.compile(r"^\s*(?:(?P<w>[0-9]*\.?[0-9]+(?:e-?[0-9]+)?)\s*\*\s*)?"  # weight*
                   r"(?P<name>[a-z][a-z0-9_]*)(?::(?P<arg>.*?))?\s*$")  # name:argument


def expand_loss(spec: str, task: str) -> str:
    """A term ``mdf`` or ``mdf@OPTIONS`` is the task's shipped MDF loss: ``l2+0.1*mdf@pyramid`` ->
    ``l2+0.1*mdf:TASK@pyramid``."""
    terms = []
    for term in spec.strip().split("+"):
        weight, star, name = term.strip().rpartition("*")
        if name.strip() == "mdf" or name.strip().startswith("mdf@"):
            if task not in builtin_tasks():
                raise InvalidInputError(f"loss: a bare 'mdf' stands for the task's shipped loss, and {task!r} has "
                                        f"none; train one (mdfloss train --task {task}) and give mdf:FILE")
            name = f"mdf:{task}{name.strip()[3:]}"
        terms.append(f"{weight.strip()}*{name.strip()}" if star else name.strip())
    return "+".join(terms)


def implicit_settings(spec: str) -> dict[str, str]:
    """What a spec leaves to a default that changed: an ``mdf`` term without ``@pyramid`` or ``@reference`` runs in
    pyramid mode since 0.2 (reference before). Runs record it, so a run of the same spec made before the change
    is neither resumed nor reused as if it had run the same loss."""
    for term in spec.split("+"):
        name = term.strip().rpartition("*")[2]
        if (name == "mdf" or name.startswith(("mdf:", "mdf@"))) and not {"pyramid", "reference"} & set(
                name.split("@")[1:]):
            return {"mdf_default_mode": "pyramid"}
    return {}


def build_loss(spec: str, *, task: str | None = None) -> WeightedSum:
    """Parse a loss spec such as ``l1+0.1*mdf:jpeg@pyramid`` into the loss (its ``spec``: the text it came from).

    ``task``: a bare ``mdf`` term (``mdf``, ``mdf@pyramid``) stands for that task's shipped loss.

    Raises:
        InvalidInputError: unknown loss name, bad weight, or vgg/lpips without a weights file.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidInputError(f"loss: expected a spec such as 'l1' or 'l1+0.1*mdf:jpeg', got {spec!r}")
    if task is not None:
        spec = expand_loss(spec, task)
    terms: list[tuple[float, nn.Module]] = []
    for raw in spec.split("+"):
        m = _TERM.match(raw)
        if not m:
            raise InvalidInputError(f"loss: cannot parse term {raw!r} of {spec!r}; write [weight*]name[:arg]")
        w = float(m["w"]) if m["w"] else 1.0
        if not 0 < w < float("inf"):
            raise InvalidInputError(f"loss: the weight of {raw.strip()!r} must be a positive finite number, got {w:g}")
        entry = LOSSES.get(m["name"])
        if entry is None:
            raise InvalidInputError(f"loss: unknown loss {m['name']!r} in {spec!r}; choose from "
                                    + ", ".join(e.usage.split("[")[0] for e in LOSSES.values()))
        terms.append((w, entry.build(m["arg"], raw)))
    return WeightedSum(spec, terms)
