"""Phase 1: train a pyramid of generators and critics on one image, for one task.

Pure functions with explicit random generators and devices; the run loop
(checkpoints, logs, progress) lives in :mod:`mdfloss.phase1.trainer`.

Scale k (0 = coarsest) trains a generator G_k and a critic D_k. G_k receives the
upsampled output of scale k-1 *passed through the task's distortion* and adds a
residual, so it behaves like a restoration method for that task; D_k learns to
tell its output from the real image at scale k, i.e. to spot that method's
artefacts. Images are in [-1, 1]; distortions see [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from mdfloss.common.errors import TrainingDivergedError
from mdfloss.common.resize import resize
from mdfloss.common.runs import derive_generator, step_lr
from mdfloss.phase1.config import Phase1Config
from mdfloss.phase1.distortions import Distortion
from mdfloss.phase1.nets import Critic, Generator, init_weights
from mdfloss.phase1.pyramid import Pyramid, to_01, to_pm1


def randn(shape, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    # Drawn on the CPU so a run gives the same numbers on every device.
    return torch.randn(shape, generator=gen).to(device)


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
    return step_lr(config.lr, iteration, config.iterations, (config.lr_decay_at,), config.lr_decay)


def distort_pm1(x: torch.Tensor, distortion: Distortion, gen: torch.Generator) -> torch.Tensor:
    """The task's distortion of an image in [-1, 1] (applied in [0, 1], returned in [-1, 1]), same shape.

    Example:
        >>> import torch
        >>> from mdfloss.phase1.distortions import make_distortion
        >>> x = torch.rand(1, 3, 16, 16) * 2 - 1
        >>> distort_pm1(x, make_distortion("jpeg", {"quality": 20}), torch.Generator()).shape
        torch.Size([1, 3, 16, 16])
    """
    return to_pm1(distortion(to_01(x).clamp(0, 1), gen))


@dataclass
class Finished:
    """What finished scales leave behind for the later ones.

    Example:
        >>> import torch
        >>> from mdfloss.phase1.nets import Generator
        >>> done = Finished(z_rec=torch.zeros(1, 3, 16, 16))
        >>> finish_scale(Generator(8), done, (done.z_rec, torch.zeros(1, 3, 16, 16)), amp=0.1)
        >>> len(done.generators), done.noise_amps, done.recs[0].shape
        (1, [0.1], torch.Size([1, 3, 16, 16]))
    """

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
        if done.z_rec is None:
            raise RuntimeError("reconstruction_input: the coarsest scale's fixed noise was never drawn")
        return done.z_rec, torch.zeros_like(pyr.reals[0])
    up = resize(done.recs[k - 1], pyr.reals[k].shape[-2:])
    d = distort_pm1(up, distortion, derive_generator(seed, "rec-distortion", k))
    return d, d


def noise_amplitude(k: int, pyr: Pyramid, done: Finished, config: Phase1Config) -> float:
    if k == 0:
        return 1.0
    up = resize(done.recs[k - 1], pyr.reals[k].shape[-2:])
    return config.noise_amp * float(torch.sqrt(F.mse_loss(up, pyr.reals[k])))


@torch.no_grad()
def degraded_real(k: int, pyr: Pyramid, distortion: Distortion, gen: torch.Generator) -> torch.Tensor | None:
    """The real image degraded as the generator's input is: the real image of scale k-1, upsampled to scale k
    and distorted (None at the coarsest scale, which has no input image)."""
    if k == 0:
        return None
    return distort_pm1(resize(pyr.reals[k - 1], pyr.reals[k].shape[-2:]), distortion, gen)


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """WGAN-GP's penalty: ``(|grad critic(mix)| - 1)^2`` at a random mix of ``real`` and ``fake`` (1, 3, H, W).

    Example:
        >>> import torch
        >>> from mdfloss.phase1.nets import Critic
        >>> gp = gradient_penalty(Critic(8), torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), torch.Generator())
        >>> gp.shape, float(gp.detach()) >= 0
        (torch.Size([]), True)
    """
    a = torch.rand((), generator=gen).item()
    mix = (a * real + (1 - a) * fake).requires_grad_(True)
    out = critic(mix)
    (grad,) = torch.autograd.grad(out.sum(), mix, create_graph=True)
    return ((grad.norm(2, dim=1) - 1) ** 2).mean()


@dataclass
class ScaleRun:
    """Everything one scale's iterations share: the scale, its models, the pyramid, the
    finished scales below it, and the fixed reconstruction input and noise amplitude.

    Example:
        >>> import torch
        >>> from mdfloss.phase1.distortions import make_distortion
        >>> from mdfloss.phase1.pyramid import build_pyramid
        >>> config = Phase1Config(max_size=24, min_size=20, iterations=1, critic_steps=1, generator_steps=1)
        >>> pyr = build_pyramid(torch.rand(1, 3, 24, 24), config, torch.device("cpu"))
        >>> done = Finished(z_rec=torch.zeros_like(pyr.reals[0]))
        >>> models = new_scale(0, config, None, 0, torch.device("cpu"))
        >>> run = ScaleRun(0, models, pyr, done, (done.z_rec, torch.zeros_like(pyr.reals[0])), 0.1,
        ...                make_distortion("jpeg"), config, 0, torch.device("cpu"))
        >>> sorted(train_iteration(run, 0))[:3]
        ['critic_gap', 'gp', 'loss_d']
    """

    k: int
    models: ScaleModels
    pyr: Pyramid
    done: Finished
    rec_in: tuple[torch.Tensor, torch.Tensor]
    amp: float
    distortion: Distortion
    config: Phase1Config
    seed: int
    device: torch.device


def feature_specificity_term(critic: Critic, real: torch.Tensor, artefact: torch.Tensor,
                             gen: torch.Generator, cap: float = 0.0) -> torch.Tensor:
    """``log(d(real, real + noise) / d(real, artefact))`` over the loss's head and body taps, where the noise is
    white with the artefact's MSE: minimising it makes the taps weigh the artefact above equal-MSE noise.
    With ``cap`` > 0 the term is ``max(0, that + log(cap))``: it stops asking once the ratio reaches ``cap``.

    The three images go through the critic as one batch, so BatchNorm normalises them alike.

    Example:
        >>> import torch
        >>> from mdfloss.phase1.nets import Critic
        >>> real = torch.rand(1, 3, 24, 24) * 2 - 1
        >>> term = feature_specificity_term(Critic(8), real, real + 0.1, torch.Generator().manual_seed(0))
        >>> term.shape
        torch.Size([])
    """
    noise = randn(real.shape, gen, real.device) * torch.sqrt(F.mse_loss(artefact, real))
    h, b, _ = critic.features(torch.cat([real, artefact, real + noise]))
    d_art = F.mse_loss(h[1:2], h[0:1]) + F.mse_loss(b[1:2], b[0:1])
    d_noise = F.mse_loss(h[2:3], h[0:1]) + F.mse_loss(b[2:3], b[0:1])
    term = torch.log(d_noise + 1e-12) - torch.log(d_art + 1e-12)
    return torch.relu(term + math.log(cap)) if cap > 0 else term


def descent_alignment_term(critic: Critic, real: torch.Tensor, artefact: torch.Tensor,
                           gen: torch.Generator) -> torch.Tensor:
    """``1 - cos(grad_y d(real, y), y - real)`` over the loss's head and body taps, at a point ``y`` drawn on the
    segment from the real image to the artefact (``real + t (artefact - real)``, t uniform in [0.25, 1], as a
    restorer's output lies between the two): minimising it makes a descent step on the feature distance point
    from ``y`` straight back to the real image, as an L2 step does.

    Why: critics made specific by :func:`feature_specificity_term` alone had gradients almost orthogonal to L2's
    at restored images (docs/specificity.md), so they pushed the restorer sideways. Needs a second derivative
    through the critic, like the gradient penalty.

    Example:
        >>> import torch
        >>> from mdfloss.phase1.nets import Critic
        >>> real = torch.rand(1, 3, 24, 24) * 2 - 1
        >>> term = descent_alignment_term(Critic(8), real, real + 0.1, torch.Generator().manual_seed(0))
        >>> 0 <= float(term.detach()) <= 2  # 1 - cos: 0 when a descent step points straight back to the real image
        True
    """
    t = 0.25 + 0.75 * torch.rand((), generator=gen).item()
    y = (real + t * (artefact - real)).detach().requires_grad_(True)
    h, b, _ = critic.features(torch.cat([real, y]))
    distance = F.mse_loss(h[1:2], h[0:1]) + F.mse_loss(b[1:2], b[0:1])
    (grad,) = torch.autograd.grad(distance, y, create_graph=True)
    return 1 - F.cosine_similarity(grad.flatten(), (y - real).detach().flatten(), dim=0, eps=1e-12)


def _critic_step(run: ScaleRun, real, z, prev, gen, negative=None):
    """One critic update; returns ``(loss_d, gp, d_real, d_fake, extras)``, where ``extras`` holds what the
    optional terms measured (logged, so a run shows whether a term is being satisfied)."""
    g, d = run.models.generator, run.models.critic
    with torch.no_grad():
        fake = g(z + prev, prev)
    d_real, d_fake = d(real).mean(), d(fake).mean()
    gp = gradient_penalty(d, real, fake, gen)
    loss_d = d_fake - d_real + run.config.gp_weight * gp
    extras: dict[str, torch.Tensor] = {}
    if run.config.feature_specificity and negative is not None:
        extras["specificity_term"] = feature_specificity_term(d, real, negative, gen, run.config.specificity_cap)
        loss_d = loss_d + run.config.feature_specificity * extras["specificity_term"]
    if run.config.descent_alignment and negative is not None:
        extras["alignment_term"] = descent_alignment_term(d, real, negative, gen)
        loss_d = loss_d + run.config.descent_alignment * extras["alignment_term"]
    if negative is not None and run.config.degraded_negatives:
        # A second WGAN term: the degraded real image is fake too, weighted by degraded_negatives.
        beta = run.config.degraded_negatives
        d_neg = d(negative).mean()
        extras["negative_gap"] = d_real - d_neg
        loss_d = loss_d + beta * (d_neg - d_real + run.config.gp_weight * gradient_penalty(d, real, negative, gen))
    run.models.opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    run.models.opt_d.step()
    return loss_d, gp, d_real, d_fake, extras


def _generator_step(run: ScaleRun, real, z, prev) -> tuple[torch.Tensor, torch.Tensor]:
    g, d = run.models.generator, run.models.critic
    adv = -d(g(z + prev, prev)).mean()
    rec = F.mse_loss(g(*run.rec_in), real)
    loss_g = adv + run.config.rec_weight * rec
    run.models.opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    run.models.opt_g.step()
    return loss_g, rec


def _check_finite(k: int, iteration: int, stats: dict[str, float], max_gap: float) -> None:
    bad = [key for key, v in stats.items() if not torch.isfinite(torch.tensor(v))]
    if bad:
        raise TrainingDivergedError(f"scale {k}, iteration {iteration}: {', '.join(bad)} became NaN or Inf")
    if abs(stats["critic_gap"]) > max_gap:
        raise TrainingDivergedError(
            f"scale {k}, iteration {iteration}: the critic diverged (|D(real) - D(fake)| = "
            f"{abs(stats['critic_gap']):.3g} > {max_gap:g}); lower the learning rate"
        )


def train_iteration(run: ScaleRun, iteration: int) -> dict[str, float]:
    """One iteration of scale ``run.k``: ``critic_steps`` critic updates, then ``generator_steps`` generator updates."""
    gen = derive_generator(run.seed, "iteration", run.k, iteration)
    lr = lr_at(run.config, iteration)
    for opt in (run.models.opt_g, run.models.opt_d):
        for group in opt.param_groups:
            group["lr"] = lr
    real = run.pyr.reals[run.k]
    run.models.generator.train()
    run.models.critic.train()
    prev = random_input(run.k, run.pyr, run.done, run.distortion, gen, run.device)
    z = randn(prev.shape, gen, run.device) * run.amp
    wants_degraded = (run.config.degraded_negatives or run.config.feature_specificity
                      or run.config.descent_alignment)
    negative = degraded_real(run.k, run.pyr, run.distortion, gen) if wants_degraded else None
    for _ in range(run.config.critic_steps):
        loss_d, gp, d_real, d_fake, extras = _critic_step(run, real, z, prev, gen, negative)
    for _ in range(run.config.generator_steps):
        loss_g, rec = _generator_step(run, real, z, prev)
    stats = {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "rec": rec.item(), "gp": gp.item(),
             "critic_gap": (d_real - d_fake).item(), "lr": lr}
    stats.update({name: value.item() for name, value in extras.items()})
    _check_finite(run.k, iteration, stats, run.config.max_critic_gap)
    return stats


@torch.no_grad()
def finish_scale(generator: Generator, done: Finished, rec_in: tuple[torch.Tensor, torch.Tensor],
                 amp: float) -> None:
    """Freeze a trained generator and record its noise amplitude and reconstruction.

    Example:
        >>> import torch
        >>> from mdfloss.phase1.nets import Generator
        >>> done = Finished()
        >>> finish_scale(Generator(8), done, (torch.zeros(1, 3, 12, 12), torch.zeros(1, 3, 12, 12)), amp=1.0)
        >>> done.generators[0].training, tuple(done.recs[0].shape)  # frozen in eval mode; its reconstruction kept
        (False, (1, 3, 12, 12))
    """
    g = generator.eval()
    done.generators.append(g)
    done.noise_amps.append(amp)
    done.recs.append(g(*rec_in))
