"""Firth-penalised Cox hazard ratio of one binary covariate (treated vs control), with its
profile penalised-likelihood confidence interval.

The ordinary Cox fit has no finite estimate when one arm has no events, or every event of one arm
comes before any of the other's (monotone likelihood): β runs off to ±∞, and those are the best
arms of a study. Firth's penalty (Heinze & Schemper 2001, R's ``coxphf``) adds half the log of the
Fisher information to the Breslow log partial likelihood,

    l*(β) = Σ_j [d1_j·β − d_j·ln(n0_j + n1_j·e^β)] + ½·ln I(β),
    I(β)  = Σ_j d_j·p_j·(1 − p_j),   p_j = n1_j·e^β / (n0_j + n1_j·e^β),

which goes to −∞ at both ends whenever some event time has both arms at risk, so the maximum is
always finite. The estimate is the root of the penalised score

    U*(β) = Σ_j (d1_j − d_j·p_j) + ½·Σ_j d_j·p_j(1 − p_j)(1 − 2p_j) / I(β),

and the interval is where the penalised likelihood falls z²/2 below its maximum (a Wald interval
would be as unbounded as the standard fit). lifelines has no Firth fit; one covariate needs none
of its machinery, only the risk table (n, d, n1 at risk / with events at each event time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

BETA_LIMIT = 30.0
"""|ln HR| searched at most (HR from 1e-13 to 1e13): beyond it a bound is reported as missing."""


@dataclass(frozen=True)
class FirthEstimate:
    beta: float
    """ln HR, treated vs control."""
    hr: float
    ci_lo: float | None
    """None when the interval does not close within ``BETA_LIMIT``."""
    ci_hi: float | None


def _shares(beta: float, n0: np.ndarray, n1: np.ndarray) -> np.ndarray:
    """p_j, the treated arm's share of the hazard at each event time, without overflow."""
    with np.errstate(divide="ignore"):
        logit = beta + np.log(n1) - np.log(n0)
    return 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))


def penalised_log_likelihood(beta: float, n, d, n1, d1) -> float:
    """l*(β); −inf where the information is zero."""
    n, d, n1, d1 = (np.asarray(a, dtype=float) for a in (n, d, n1, d1))
    n0 = n - n1
    with np.errstate(divide="ignore"):
        log_risk = np.logaddexp(np.log(n0), np.log(n1) + beta)
    p = _shares(beta, n0, n1)
    information = float(np.sum(d * p * (1 - p)))
    if information <= 0:
        return -math.inf
    return float(np.sum(d1 * beta - d * log_risk)) + 0.5 * math.log(information)


def _penalised_score(beta: float, n0, d, n1, d1) -> float:
    p = _shares(beta, n0, n1)
    variance = p * (1 - p)
    information = float(np.sum(d * variance))
    return float(np.sum(d1 - d * p)) + 0.5 * float(np.sum(d * variance * (1 - 2 * p))) / information


def firth_hazard_ratio(n, d, n1, d1, z: float = 1.96) -> FirthEstimate | None:
    """The Firth estimate from a risk table (arrays over the distinct event times: animals at
    risk, events, and the treated arm's share of each); None when no event time has both arms at
    risk (the data say nothing about the ratio)."""
    n, d, n1, d1 = (np.asarray(a, dtype=float) for a in (n, d, n1, d1))
    n0 = n - n1
    informative = (d > 0) & (n0 > 0) & (n1 > 0)
    if not informative.any():
        return None
    # U* runs from Σd1 + ½ > 0 (β → −∞) to a negative limit (β → +∞): one bracket holds the root.
    lo, hi = -BETA_LIMIT, BETA_LIMIT
    if _penalised_score(lo, n0, d, n1, d1) <= 0 or _penalised_score(hi, n0, d, n1, d1) >= 0:
        return None
    beta = brentq(_penalised_score, lo, hi, args=(n0, d, n1, d1), xtol=1e-12, maxiter=200)
    peak = penalised_log_likelihood(beta, n, d, n1, d1)
    target = peak - z * z / 2

    def drop(b: float) -> float:
        return max(penalised_log_likelihood(b, n, d, n1, d1), -1e300) - target

    ci_lo = _bound(drop, beta, -BETA_LIMIT)
    ci_hi = _bound(drop, beta, BETA_LIMIT)
    return FirthEstimate(
        beta=beta,
        hr=math.exp(beta),
        ci_lo=None if ci_lo is None else math.exp(ci_lo),
        ci_hi=None if ci_hi is None else math.exp(ci_hi),
    )


def _bound(drop, beta: float, limit: float) -> float | None:
    """Where ``drop`` (positive at β̂) crosses zero between β̂ and ``limit``, or None."""
    if drop(limit) > 0:
        return None
    return brentq(drop, min(beta, limit), max(beta, limit), xtol=1e-10, maxiter=200)
