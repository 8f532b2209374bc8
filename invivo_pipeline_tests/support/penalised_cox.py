"""A second, independent computation of the Firth-penalised Cox fit for the tests: the closed-form
one-covariate penalised log partial likelihood written from its definition, maximised with
``scipy.optimize.minimize_scalar`` and its profile interval found by minimising the squared
distance to the cut-off (the module under test solves the penalised score with ``brentq``)."""

from __future__ import annotations

import math

from scipy.optimize import minimize_scalar


def penalised_loglik(beta: float, table: list[tuple[int, int, int, int]]) -> float:
    """table: (at risk, events, treated at risk, treated events) per distinct event time."""
    partial, information = 0.0, 0.0
    for n, d, n1, d1 in table:
        n0 = n - n1
        risk = n0 + n1 * math.exp(beta)
        p = n1 * math.exp(beta) / risk
        partial += d1 * beta - d * math.log(risk)
        information += d * p * (1 - p)
    return partial + 0.5 * math.log(information)


def firth_by_direct_optimisation(table, z: float = 1.96) -> tuple[float, float, float]:
    """(HR, CI low, CI high)."""
    fit = minimize_scalar(
        lambda b: -penalised_loglik(b, table),
        bounds=(-15, 15),
        method="bounded",
        options={"xatol": 1e-10},
    )
    beta, peak = fit.x, -fit.fun
    cut = peak - z * z / 2

    def bound(lo: float, hi: float) -> float:
        return minimize_scalar(
            lambda b: (penalised_loglik(b, table) - cut) ** 2,
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-10},
        ).x

    return math.exp(beta), math.exp(bound(beta - 15, beta)), math.exp(bound(beta, beta + 15))
