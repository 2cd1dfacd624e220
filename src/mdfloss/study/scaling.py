"""Pairwise comparisons to JOD: Thurstone Case V maximum likelihood, as pwcmp's ``pw_scale``.

The model (Perez-Ortiz & Mantiuk, "A practical guide and software for analysing pairwise comparison
experiments", arXiv 1712.03686, and pwcmp's ``pw_scale.m``): condition ``i`` is chosen over ``j``
with probability ``Φ((q_i − q_j) / 1.4826)``, so 1 JOD is 75 % of answers. The scores maximise the
likelihood of the counts, plus pw_scale's two extras:

* the 'gaussian' distance prior: for each compared pair, the normalised sum over all pairs of the
  probability of observing that pair's counts at this pair's distance (it keeps unanimous answers from
  running off to infinity);
* the 'mean0' term ``0.01 · mean(q)²`` that fixes the free offset (or 'fix0': ``q_0 = 0``).

Disconnected groups of conditions are linked, as pw_scale does, by one tie between the best condition
of each group. The only departure from pw_scale is numerical: the likelihoods are computed in the log
domain (``log_ndtr``), so large counts do not underflow to a zero likelihood where pw_scale would.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, sparse, special

from mdfloss.common.errors import InvalidInputError

SIGMA_CDF = 1.4826  # Φ(1 / SIGMA_CDF) = 0.75: one JOD
PRIORS = ("gaussian", "none")
REGULARIZATIONS = ("mean0", "fix0")
_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def check_counts(D) -> np.ndarray:
    """``D`` as a float array, refusing what pw_scale refuses: non-square, negative or fractional counts."""
    D = np.asarray(D, dtype=float)
    if D.ndim != 2 or D.shape[0] != D.shape[1] or D.shape[0] < 2:
        raise InvalidInputError(f"counts: expected a square N×N matrix with N >= 2, got shape {D.shape}")
    if not np.all(np.isfinite(D)) or np.any(D < 0) or np.any(np.floor(D) != D):
        raise InvalidInputError("counts: D[i, j] must be non-negative whole numbers (times i was chosen over j)")
    return D


def _initial_scores(D: np.ndarray) -> np.ndarray:
    # pw_scale's first guess (from ISO 20462), used only to pick each group's best condition.
    with np.errstate(invalid="ignore", divide="ignore"):
        M = D / (D + D.T)
    M[np.isnan(M)] = 0.5
    return np.sum(-(12 / np.pi * np.arcsin(np.sqrt(M)) - 3) / 2, axis=0)


def link_components(D: np.ndarray) -> tuple[np.ndarray, int]:
    """Counts with the best condition of each disconnected group tied once to every other group's best.

    Returns the linked counts and the number of groups (1: nothing was linked).
    """
    graph = sparse.csr_matrix((D + D.T) > 0)
    n_groups, label = sparse.csgraph.connected_components(graph, directed=False)
    if n_groups == 1:
        return D, 1
    q0 = _initial_scores(D)
    best = [int(np.flatnonzero(label == g)[np.argmax(q0[label == g])]) for g in range(n_groups)]
    linked = D.copy()
    for a in best:
        for b in best:
            if a != b:
                linked[a, b] = 1
    return linked, n_groups


class _Objective:
    """pw_scale's negative log-posterior and its gradient, for counts already linked."""

    def __init__(self, D: np.ndarray, unanimous: np.ndarray, prior: str, regularization: str):
        self.n_cond = D.shape[0]
        self.row, self.col = np.nonzero((D + D.T) > 0)
        self.won = D[self.row, self.col]
        self.lost = D.T[self.row, self.col]
        self.prior = prior
        self.regularization = regularization
        if prior == "gaussian":
            # The prior's counts move unanimous answers one step towards a tie, as pw_scale does.
            k = self.won.copy()
            ua = unanimous[self.row, self.col]
            k[ua & (k == 0)] = 1
            k[ua & (self.won != 0)] -= 1
            self.k = k
            self.n_minus_k = (self.won + self.lost) - k

    def full(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate([[0.0], x]) if self.regularization == "fix0" else x

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        q = self.full(x)
        z = (q[self.row] - q[self.col]) / SIGMA_CDF
        log_cdf, log_sf = special.log_ndtr(z), special.log_ndtr(-z)
        log_pdf = -0.5 * z * z - _LOG_SQRT_2PI
        # d/dd of log Φ and log(1 − Φ), with d = q_row − q_col.
        d_cdf = np.exp(log_pdf - log_cdf) / SIGMA_CDF
        d_sf = -np.exp(log_pdf - log_sf) / SIGMA_CDF
        value = -np.sum(self.won * log_cdf + self.lost * log_sf)
        grad_d = -(self.won * d_cdf + self.lost * d_sf)
        if self.prior == "gaussian":
            # log aux[i, j]: log-probability of pair j's counts at pair i's distance.
            log_aux = np.outer(log_cdf, self.k) + np.outer(log_sf, self.n_minus_k)
            w = np.exp(log_aux - special.logsumexp(log_aux, axis=0, keepdims=True))
            prior = w.sum(axis=1)
            g = 1.0 / (prior + 0.1)
            value -= np.sum(np.log(prior + 0.1))
            a = np.outer(d_cdf, self.k) + np.outer(d_sf, self.n_minus_k)
            grad_d -= np.sum(a * w * (g[:, None] - (g @ w)[None, :]), axis=1)
        else:
            value -= len(z) * np.log(1.1)  # pw_scale's constant term, so values compare
        grad = np.bincount(self.row, grad_d, self.n_cond) - np.bincount(self.col, grad_d, self.n_cond)
        if self.regularization == "mean0":
            value += 0.01 * np.mean(q) ** 2
            grad += 0.02 * np.mean(q) / self.n_cond
            return value, grad
        return value, grad[1:]


def pw_scale(D: ArrayLike, *, prior: str = "gaussian", regularization: str = "mean0",
             start: np.ndarray | None = None) -> np.ndarray:
    """JOD score of each condition from a matrix of pairwise counts, as pwcmp's ``pw_scale``.

    Args:
        D: ``(N, N)`` counts, ``D[i, j]`` = times condition ``i`` was chosen over ``j``.
        prior: ``"gaussian"`` (pw_scale's default distance prior) or ``"none"``.
        regularization: ``"mean0"`` (scores average to 0) or ``"fix0"`` (the first score is 0).
        start: optional starting scores (bootstrapping starts from the full data's scores).

    Returns:
        ``(N,)`` scores in JOD; a difference of 1 means 75 % of answers prefer the higher one.

    Example:
        >>> import numpy as np
        >>> q = pw_scale(np.array([[0, 15], [5, 0]]))
        >>> bool(q[0] > q[1])
        True
    """
    if prior not in PRIORS:
        raise InvalidInputError(f"prior: expected one of {', '.join(PRIORS)}, got {prior!r}")
    if regularization not in REGULARIZATIONS:
        raise InvalidInputError(f"regularization: expected one of {', '.join(REGULARIZATIONS)}, got {regularization!r}")
    D = check_counts(D)
    compared = (D + D.T) > 0
    unanimous = compared & ~((D > 0) & (D.T > 0))
    linked, _ = link_components(D)
    objective = _Objective(linked, unanimous, prior, regularization)
    n = D.shape[0]
    x0 = np.zeros(n) if start is None else np.asarray(start, dtype=float) - np.mean(start)
    if regularization == "fix0":
        x0 = x0[1:] - x0[0]
    # L-BFGS-B: the same optimum as BFGS (to 1e-6 JOD on the references) in a tenth of the evaluations.
    result = optimize.minimize(objective, x0, jac=True, method="L-BFGS-B",
                               options={"gtol": 1e-9, "ftol": 1e-15, "maxiter": 5000})
    return objective.full(result.x)


def choice_probability(q_a, q_b):
    """Probability that a condition at ``q_a`` JOD is chosen over one at ``q_b``."""
    return special.ndtr((np.asarray(q_a) - np.asarray(q_b)) / SIGMA_CDF)


def difference_estimates(D, pairs: list[tuple[int, int]], *,
                         scores: np.ndarray | None = None) -> list[tuple[float, float]]:
    """Scaled difference ``q_i − q_j`` and its standard error for each ``(i, j)`` of ``pairs``.

    The scores are :func:`pw_scale`'s (or ``scores``, when the caller has them); the standard error is that
    of the Thurstone model's Fisher information at those scores (what :mod:`~mdfloss.study.plan` predicts).
    The scaling, the information and its pseudo-inverse are computed once for all pairs. Conditions never
    linked by comparisons, directly or through others, get an infinite standard error.
    """
    from mdfloss.study.sampling import pair_information  # the sampler uses the same per-answer information

    D = check_counts(D)
    q = pw_scale(D) if scores is None else np.asarray(scores, dtype=float)
    total = D + D.T
    laplacian = -total * pair_information(q)
    np.fill_diagonal(laplacian, 0.0)
    np.fill_diagonal(laplacian, -laplacian.sum(axis=1))
    cov = np.linalg.pinv(laplacian)
    _, label = sparse.csgraph.connected_components(sparse.csr_matrix(total > 0), directed=False)
    out = []
    for i, j in pairs:
        if label[i] != label[j]:
            out.append((float(q[i] - q[j]), np.inf))
        else:
            out.append((float(q[i] - q[j]), float(np.sqrt(max(cov[i, i] + cov[j, j] - 2 * cov[i, j], 0.0)))))
    return out


def wald_interval(estimate: float, se: float, level: float = 0.95) -> tuple[float, float]:
    """The two-sided ``level`` interval of an estimate with standard error ``se``."""
    half = special.ndtri(0.5 + level / 2) * se
    return estimate - half, estimate + half


def difference_interval(D, i: int, j: int, *, level: float = 0.95) -> tuple[float, float, float]:
    """Scaled difference ``q_i − q_j`` of the counts ``D`` and its Wald interval ``(estimate, low, high)``
    (see :func:`difference_estimates`)."""
    [(estimate, se)] = difference_estimates(D, [(i, j)])
    return (estimate, *wald_interval(estimate, se, level))
