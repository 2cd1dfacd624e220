"""Which pair to show next: the pair whose answer is expected to tell the most.

The method is expected-information-gain sampling in the spirit of ASAP (Mikhailiuk, Wilmot,
Perez-Ortiz, Yue & Mantiuk, "Active Sampling for Pairwise Comparisons via Approximate Message Passing
and Information Gain Maximization", ICPR 2020), with a Laplace (Gaussian) approximation of the
posterior in place of ASAP's message passing:

* per scene, the Thurstone Case V model (σ = 1.4826, as the scaling) with a weak prior
  ``q ~ N(0, PRIOR_SD²)`` is fitted by Fisher scoring; its covariance ``Σ`` is the inverse Fisher
  information;
* one more answer on pair ``(i, j)`` adds information ``w_ij = φ(z)² / (Φ(z)(1 − Φ(z))) / σ²`` along
  ``e_i − e_j``, so the expected gain is ``½ log(1 + w_ij · Var(q_i − q_j))`` (the D-optimal design
  criterion). The pair with the largest gain over all scenes is served; ties are broken at random.

Pairs served but not yet answered count as answered at the current estimate, so concurrent observers
are spread over different pairs. With probability ``explore`` (10 % by default) a pair is drawn
uniformly instead, so every pair stays reachable whatever the estimates say.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import special

from mdfloss.common.errors import InvalidInputError
from mdfloss.common.registry import Registry
from mdfloss.study.scaling import SIGMA_CDF

PRIOR_SD = 2.0  # JOD; wide enough for typical restoration differences, only there to keep Σ finite


class _SceneModel:
    def __init__(self, n: int):
        self.n = n
        self.wins = np.zeros((n, n))  # wins[i, j]: i chosen over j
        self.pending = np.zeros((n, n))  # served, not answered (symmetric)
        self.q = np.zeros(n)
        self.cov = np.eye(n) * PRIOR_SD**2
        self.stale = False

    def refit(self, steps: int = 20) -> None:
        total = self.wins + self.wins.T
        q = self.q
        for _ in range(steps):
            z = (q[:, None] - q[None, :]) / SIGMA_CDF
            cdf = np.clip(special.ndtr(z), 1e-12, 1 - 1e-12)
            pdf = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
            # Gradient of the log-posterior in q (its Fisher information is the step's metric).
            resid = (self.wins - total * cdf) * pdf / (cdf * (1 - cdf)) / SIGMA_CDF
            grad = resid.sum(axis=1) - q / PRIOR_SD**2
            info = self._information(q, total)
            step = np.linalg.solve(info, grad)
            q = q + step
            if np.max(np.abs(step)) < 1e-6:
                break
        self.q = q
        self.cov = np.linalg.inv(self._information(q, total))
        self.stale = False

    @staticmethod
    def _information(q: np.ndarray, total: np.ndarray) -> np.ndarray:
        w = pair_information(q)
        off = -total * w
        info = off.copy()
        np.fill_diagonal(info, -off.sum(axis=1))
        return info + np.eye(len(q)) / PRIOR_SD**2

    def gains(self) -> np.ndarray:
        """Expected information gain of one answer on each pair (upper triangle; the rest is -inf)."""
        if self.stale:
            self.refit()
        cov = self.cov
        if self.pending.any():
            info = np.linalg.inv(cov) + self._information(self.q, self.pending) - np.eye(self.n) / PRIOR_SD**2
            cov = np.linalg.inv(info)
        d = np.diag(cov)
        var_diff = d[:, None] + d[None, :] - 2 * cov
        gain = 0.5 * np.log1p(pair_information(self.q) * var_diff)
        gain[np.tril_indices(self.n)] = -np.inf
        return gain


def pair_information(q: np.ndarray) -> np.ndarray:
    """Fisher information about ``q_i − q_j`` carried by one answer on each pair."""
    z = (q[:, None] - q[None, :]) / SIGMA_CDF
    cdf = np.clip(special.ndtr(z), 1e-12, 1 - 1e-12)
    pdf = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    return pdf**2 / (cdf * (1 - cdf)) / SIGMA_CDF**2


class PairSampler:
    """Serves ``(scene, i, j)`` triples (``i < j`` are condition indices) and learns from the answers.

    Example:
        >>> sampler = PairSampler(["s"], ["a", "b", "c"], rng=np.random.default_rng(0))
        >>> scene, i, j = sampler.next_pair()
        >>> sampler.record(scene, i, j, True)
    """

    def __init__(self, scenes: list[str], conditions: list[str], *, rng: np.random.Generator | None = None,
                 explore: float = 0.1):
        self.scenes = list(scenes)
        self.conditions = list(conditions)
        self.models = {s: _SceneModel(len(conditions)) for s in self.scenes}
        self.rng = rng or np.random.default_rng()
        self.explore = explore
        self.pairs = list(itertools.combinations(range(len(conditions)), 2))

    def next_pair(self, reserve: bool = False) -> tuple[str, int, int]:
        if self.rng.random() < self.explore:
            scene = self.scenes[self.rng.integers(len(self.scenes))]
            i, j = self.pairs[self.rng.integers(len(self.pairs))]
        else:
            gains = np.stack([self.models[s].gains() for s in self.scenes])
            best = np.flatnonzero(gains >= gains.max() - 1e-12)
            s_idx, i, j = np.unravel_index(best[self.rng.integers(len(best))], gains.shape)
            scene, i, j = self.scenes[s_idx], int(i), int(j)
        if reserve:
            self.reserve(scene, i, j, +1)
        return scene, i, j

    def reserve(self, scene: str, i: int, j: int, delta: int) -> None:
        pending = self.models[scene].pending
        pending[i, j] = pending[j, i] = max(pending[i, j] + delta, 0)

    def record(self, scene: str, i: int, j: int, i_selected: bool, *, was_reserved: bool = False) -> None:
        model = self.models[scene]
        if was_reserved:
            self.reserve(scene, i, j, -1)
        if i_selected:
            model.wins[i, j] += 1
        else:
            model.wins[j, i] += 1
        model.stale = True


#: Pair-choice strategies by name, shared by the study server, ``study simulate`` and the CLI. A strategy is
#: ``factory(scenes, conditions, rng)`` returning an object with ``next_pair``, ``reserve`` and ``record``
#: as :class:`PairSampler` has.
SAMPLERS: Registry = Registry("sampler", reserved=("both",))  # "both" is simulate's "active and random"
SAMPLERS.register("active", lambda scenes, conditions, rng: PairSampler(scenes, conditions, rng=rng, explore=0.1),
                  builtin=True)
SAMPLERS.register("random", lambda scenes, conditions, rng: PairSampler(scenes, conditions, rng=rng, explore=1.0),
                  builtin=True)


def register_sampler(name: str, factory, *, replace: bool = False) -> None:
    """Add a pair-choice strategy (see :data:`SAMPLERS`); ``name`` a lower-case identifier other than ``both``,
    not taken unless ``replace=True`` (the built-ins stay)."""
    if not callable(factory):
        raise InvalidInputError("factory: expected a callable (scenes, conditions, rng) -> sampler")
    SAMPLERS.register(name, factory, replace=replace)


def make_sampler(name: str, scenes: list[str], conditions: list[str], rng: np.random.Generator):
    """The strategy ``name`` for these scenes and conditions."""
    if name not in SAMPLERS:
        raise InvalidInputError(f"sampler: expected one of {', '.join(SAMPLERS)}, got {name!r}")
    return SAMPLERS[name](list(scenes), list(conditions), rng)
