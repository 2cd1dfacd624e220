"""Phase 1: train a pyramid of generators and critics on one image, for one task.

Pure functions with explicit random generators and devices; the orchestration
(checkpoints, logs, progress) lives in :mod:`mdfloss.trainer`.

Scale k (0 = coarsest) trains a generator G_k and a critic D_k. G_k receives the
upsampled output of scale k-1 *passed through the task's distortion* and adds a
residual, so it behaves like a restoration method for that task; D_k learns to
tell its output from the real image at scale k, i.e. to spot that method's
artefacts. Images are in [-1, 1]; distortions see [0, 1].
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from .distortions import Distortion
from .errors import TrainingDivergedError
from .nets import Critic, Generator, init_weights
from .pyramid import pyramid_factors, resize, scale_size


@dataclass(frozen=True)
class Phase1Config:
    """Phase-1 settings; the defaults are SinGAN's published ones (see DESIGN.md)."""

    max_size: int = 250
    min_size: int = 25
    scale_factor: float = 0.75
    iterations: int = 2000
    critic_steps: int = 3
    generator_steps: int = 3
    lr: float = 5e-4
    betas: tuple[float, float] = (0.5, 0.999)
    lr_decay_at: float = 0.8
    lr_decay: float = 0.1
    gp_weight: float = 0.1
    rec_weight: float = 10.0
    noise_amp: float = 0.1
    base_width: int = 32
    max_width: int = 128
    width_every: int = 4
    max_critic_gap: float = 1e4

    def width(self, scale: int) -> int:
        return min(self.base_width * 2 ** (scale // self.width_every), self.max_width)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Phase1Config":
        d = dict(d)
        d["betas"] = tuple(d["betas"])
        return cls(**d)


def derive_generator(seed: int, *keys: Any) -> torch.Generator:
    """A CPU generator seeded from ``seed`` and ``keys``: every random draw has its own stream."""
    h = hashlib.sha256(repr((int(seed),) + keys).encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(h[:8], "little") & ((1 << 63) - 1))


def randn(shape, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    # Drawn on the CPU so a run gives the same numbers on every device.
    return torch.randn(shape, generator=gen).to(device)


def to_pm1(x01: torch.Tensor) -> torch.Tensor:
    return x01 * 2 - 1


def to_01(xpm1: torch.Tensor) -> torch.Tensor:
    return (xpm1 + 1) / 2


@dataclass
class Pyramid:
    """The real image at every scale ([-1, 1], coarsest first) and their sizes relative to the finest."""

    reals: list[torch.Tensor]
    factors: list[float]


def build_pyramid(image01: torch.Tensor, config: Phase1Config, device: torch.device) -> Pyramid:
    """image01: (1, 3, H, W) in [0, 1]."""
    h, w = image01.shape[-2:]
    factors, fit = pyramid_factors(h, w, scale_factor=config.scale_factor,
                                   min_size=config.min_size, max_size=config.max_size)
    finest = resize(image01, scale_size(h, w, fit)).clamp(0, 1)
    fh, fw = finest.shape[-2:]
    reals = [to_pm1(resize(finest, scale_size(fh, fw, f)).clamp(0, 1)).to(device) for f in factors]
    return Pyramid(reals, factors)


@dataclass
class ScaleModels:
    generator: Generator
    critic: Critic
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer


def new_scale(k: int, config: Phase1Config, previous: tuple[Generator, Critic] | None, seed: int,
              device: torch.device) -> ScaleModels:
    """Models and optimisers of scale k; warm start from (G, D) of k-1 while the width is unchanged."""
    width = config.width(k)
    g, d = Generator(width), Critic(width)
    init_weights(g, derive_generator(seed, "init-g", k))
    init_weights(d, derive_generator(seed, "init-d", k))
    if previous is not None and previous[1].width == width:
        g.load_state_dict(previous[0].state_dict())
        d.load_state_dict(previous[1].state_dict())
    g, d = g.to(device).train(), d.to(device).train()
    opt_g = torch.optim.Adam(g.parameters(), lr=config.lr, betas=config.betas)
    opt_d = torch.optim.Adam(d.parameters(), lr=config.lr, betas=config.betas)
    return ScaleModels(g, d, opt_g, opt_d)


def lr_at(config: Phase1Config, iteration: int) -> float:
    return config.lr * (config.lr_decay if iteration >= config.lr_decay_at * config.iterations else 1.0)


def distort_pm1(x: torch.Tensor, distortion: Distortion, gen: torch.Generator) -> torch.Tensor:
    return to_pm1(distortion(to_01(x).clamp(0, 1), gen))


@dataclass
class Finished:
    """What finished scales leave behind for the later ones."""

    generators: list[Generator] = field(default_factory=list)
    noise_amps: list[float] = field(default_factory=list)
    recs: list[torch.Tensor] = field(default_factory=list)  # reconstruction at each scale
    z_rec: torch.Tensor | None = None  # fixed noise of the coarsest reconstruction


@torch.no_grad()
def random_input(k: int, pyr: Pyramid, done: Finished, distortion: Distortion,
                 gen: torch.Generator, device: torch.device) -> torch.Tensor:
    """The distorted, upsampled random sample of scale k-1 (zeros at the coarsest scale)."""
    x = torch.zeros_like(pyr.reals[0])
    for j in range(k):
        prev = x
        if j > 0:
            prev = distort_pm1(resize(x, pyr.reals[j].shape[-2:]), distortion, gen)
        z = randn(prev.shape, gen, device) * done.noise_amps[j]
        x = done.generators[j].eval()(z + prev, prev)
    if k == 0:
        return x
    return distort_pm1(resize(x, pyr.reals[k].shape[-2:]), distortion, gen)


def reconstruction_input(k: int, pyr: Pyramid, done: Finished, distortion: Distortion,
                         seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed (input, prev) whose output ``G_k(input, prev)`` must reconstruct the real image at scale k.

    At the coarsest scale: fixed noise and zeros. Above it: the distorted, upsampled
    reconstruction of scale k-1, twice (no noise), as the reconstruction term asks.
    """
    if k == 0:
        return done.z_rec, torch.zeros_like(pyr.reals[0])
    up = resize(done.recs[k - 1], pyr.reals[k].shape[-2:])
    d = distort_pm1(up, distortion, derive_generator(seed, "rec-distortion", k))
    return d, d


def noise_amplitude(k: int, pyr: Pyramid, done: Finished, config: Phase1Config) -> float:
    if k == 0:
        return 1.0
    up = resize(done.recs[k - 1], pyr.reals[k].shape[-2:])
    return config.noise_amp * float(torch.sqrt(F.mse_loss(up, pyr.reals[k])))


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    a = torch.rand((), generator=gen).item()
    mix = (a * real + (1 - a) * fake).requires_grad_(True)
    out = critic(mix)
    (grad,) = torch.autograd.grad(out.sum(), mix, create_graph=True)
    return ((grad.norm(2, dim=1) - 1) ** 2).mean()


def train_iteration(k: int, iteration: int, models: ScaleModels, pyr: Pyramid, done: Finished,
                    rec_in: tuple[torch.Tensor, torch.Tensor], amp: float, distortion: Distortion, config: Phase1Config,
                    seed: int, device: torch.device) -> dict[str, float]:
    """One iteration at scale k: ``critic_steps`` critic updates, then ``generator_steps`` generator updates."""
    gen = derive_generator(seed, "iteration", k, iteration)
    lr = lr_at(config, iteration)
    for opt in (models.opt_g, models.opt_d):
        for group in opt.param_groups:
            group["lr"] = lr
    real = pyr.reals[k]
    g, d = models.generator.train(), models.critic.train()
    prev = random_input(k, pyr, done, distortion, gen, device)
    z = randn(prev.shape, gen, device) * amp
    for _ in range(config.critic_steps):
        with torch.no_grad():
            fake = g(z + prev, prev)
        d_real, d_fake = d(real).mean(), d(fake).mean()
        gp = gradient_penalty(d, real, fake, gen)
        loss_d = d_fake - d_real + config.gp_weight * gp
        models.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        models.opt_d.step()
    for _ in range(config.generator_steps):
        fake = g(z + prev, prev)
        adv = -d(fake).mean()
        rec = F.mse_loss(g(*rec_in), real)
        loss_g = adv + config.rec_weight * rec
        models.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        models.opt_g.step()
    stats = {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "rec": rec.item(), "gp": gp.item(),
             "critic_gap": (d_real - d_fake).item(), "lr": lr}
    bad = [key for key, v in stats.items() if not torch.isfinite(torch.tensor(v))]
    if bad:
        raise TrainingDivergedError(f"scale {k}, iteration {iteration}: {', '.join(bad)} became NaN or Inf")
    if abs(stats["critic_gap"]) > config.max_critic_gap:
        raise TrainingDivergedError(
            f"scale {k}, iteration {iteration}: the critic diverged (|D(real) - D(fake)| = "
            f"{abs(stats['critic_gap']):.3g} > {config.max_critic_gap:g}); lower the learning rate"
        )
    return stats


@torch.no_grad()
def finish_scale(generator: Generator, done: Finished, rec_in: tuple[torch.Tensor, torch.Tensor],
                 amp: float) -> None:
    """Freeze a trained generator and record its noise amplitude and reconstruction."""
    g = generator.eval()
    done.generators.append(g)
    done.noise_amps.append(amp)
    done.recs.append(g(*rec_in))
