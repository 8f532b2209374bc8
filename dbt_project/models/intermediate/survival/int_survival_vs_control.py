"""Each treated group against its study's control, per endpoint: the two-sample log-rank test and
the Cox proportional-hazards ratio (Breslow ties), which SQL cannot compute.

Log-rank (docs/reporting-specification.md §3): at each distinct event time t_j with n_j animals at risk and d_j events,
E_j = n_1j·d_j/n_j and Var_j = n_1j·n_2j·d_j·(n_j - d_j)/(n_j²·(n_j - 1)); χ² = (ΣO - ΣE)²/ΣVar on
1 degree of freedom. p-values are Holm-adjusted across the treated groups of a study and endpoint.
The hazard ratio is treated vs control from the Cox partial likelihood with one binary covariate
(Newton-Raphson), with a Wald confidence interval. Where that fit has no estimate (an arm with no
events, or complete separation: every event of one arm before any of the other's, common in small
arms and in the best ones), ``hr`` is the Firth-penalised estimate with its profile penalised-
likelihood interval instead (``invivo_pipeline.statistics.firth_cox``), and ``hr_method`` says
which. A bound that does not close is NULL; with no event time at which both arms are at risk
there is no ratio at all.
"""

import math

import numpy as np
import pandas as pd
from scipy import stats

from invivo_pipeline.marts.scope import scoped
from invivo_pipeline.statistics.firth_cox import firth_hazard_ratio

COLUMNS = {
    "study_id": "object",
    "group_id": "object",
    "control_group_id": "object",
    "endpoint_type": "object",
    "n": "int64",
    "events": "int64",
    "n_control": "int64",
    "events_control": "int64",
    "observed": "float64",
    "expected": "float64",
    "logrank_variance": "float64",
    "logrank_chi2": "float64",
    "logrank_p": "float64",
    "logrank_p_adj": "float64",
    "hr": "float64",
    "hr_ci_lo": "float64",
    "hr_ci_hi": "float64",
    "hr_method": "object",
}

HR_METHODS = {
    "cox": "Cox partial likelihood (Breslow ties), Wald interval",
    "firth": "Firth-penalised Cox (Breslow ties), profile penalised-likelihood interval",
}
"""hr_method → what it means; shown on the report page."""


MAX_LOG_HR = 20.0
"""|ln HR| beyond this (HR above 5e8 or below 2e-9) is a diverging fit, not an estimate."""


def risk_table(time, event, treated):
    """At each distinct event time: events and animals at risk, overall and in the treated arm."""
    event_times = np.unique(time[event == 1])
    at_risk = time[None, :] >= event_times[:, None]
    dies = (time[None, :] == event_times[:, None]) & (event[None, :] == 1)
    n = at_risk.sum(axis=1).astype(float)
    d = dies.sum(axis=1).astype(float)
    n1 = (at_risk & treated[None, :]).sum(axis=1).astype(float)
    d1 = (dies & treated[None, :]).sum(axis=1).astype(float)
    return n, d, n1, d1


def logrank(n, d, n1, d1):
    expected = float(np.sum(n1 * d / n))
    multi = n > 1
    variance = float(
        np.sum(
            n1[multi]
            * (n[multi] - n1[multi])
            * d[multi]
            * (n[multi] - d[multi])
            / (n[multi] ** 2 * (n[multi] - 1))
        )
    )
    observed = float(np.sum(d1))
    if variance <= 0:
        return observed, expected, variance, None, None
    chi2 = (observed - expected) ** 2 / variance
    return observed, expected, variance, chi2, float(stats.chi2.sf(chi2, 1))


def cox_hazard_ratio(n, d, n1, d1, z):
    """β maximising Σ_j [d1_j·β - d_j·ln(n0_j + n1_j·e^β)]; returns (hr, lo, hi) or Nones."""
    n0 = n - n1
    if d1.sum() == 0 or (d - d1).sum() == 0:
        return None, None, None
    beta, converged = 0.0, False
    for _ in range(100):
        share = n1 * math.exp(beta) / (n0 + n1 * math.exp(beta))
        score = float(np.sum(d1 - d * share))
        information = float(np.sum(d * share * (1 - share)))
        if information <= 0:
            return None, None, None
        step = score / information
        beta += max(-5.0, min(5.0, step))
        if abs(step) < 1e-10:
            converged = True
            break
        if abs(beta) > MAX_LOG_HR:
            break
    # Monotone likelihood (every event of one arm before any of the other's at risk): β runs
    # off to ±∞ and the ratio has no finite estimate; NULL says so, where a number would lie.
    if not converged or abs(beta) > MAX_LOG_HR:
        return None, None, None
    share = n1 * math.exp(beta) / (n0 + n1 * math.exp(beta))
    information = float(np.sum(d * share * (1 - share)))
    if information <= 0:
        return None, None, None
    half_width = z / math.sqrt(information)
    if half_width > MAX_LOG_HR:
        return math.exp(beta), None, None
    return math.exp(beta), math.exp(beta - half_width), math.exp(beta + half_width)


def holm(p_values):
    """Holm step-down adjustment; None stays None."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted = [None] * len(p_values)
    running = 0.0
    m = len(indexed)
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def compare(tte, groups, controls, z):
    """``controls``: study id → its control group (int_study_control, one per study).

    Each arm's rows are found once, by position (one grouping of the whole frame), not by
    filtering the frame per comparison: that was most of this model's time over many studies.
    """
    rows = []
    treated_groups = groups[~groups["is_control"]]
    treated_by_study = {}
    for study_id, group_id in zip(
        treated_groups["study_id"], treated_groups["group_id"], strict=True
    ):
        treated_by_study.setdefault(study_id, []).append(group_id)
    times = tte["time_days"].to_numpy(dtype=float)
    events = tte["event"].to_numpy(dtype=int)
    arms = tte.groupby(["study_id", "endpoint_type", "group_id"], sort=False).indices
    blocks = sorted({(study_id, endpoint) for study_id, endpoint, _ in arms})
    for study_id, endpoint in blocks:
        control_id = controls.get(study_id)
        control = arms.get((study_id, endpoint, control_id))
        if control_id is None or control is None:
            continue
        start = len(rows)
        for group_id in treated_by_study.get(study_id, []):
            arm = arms.get((study_id, endpoint, group_id))
            if arm is None:
                continue
            both = np.concatenate([arm, control])
            time = times[both]
            event = events[both]
            treated = np.r_[np.ones(len(arm), dtype=bool), np.zeros(len(control), dtype=bool)]
            table = risk_table(time, event, treated)
            observed, expected, variance, chi2, p = logrank(*table)
            hr, lo, hi = cox_hazard_ratio(*table, z)
            method = "cox" if hr is not None else None
            if hr is None and (firth := firth_hazard_ratio(*table, z)) is not None:
                method, hr, lo, hi = "firth", firth.hr, firth.ci_lo, firth.ci_hi
            rows.append(
                {
                    "study_id": study_id,
                    "group_id": group_id,
                    "control_group_id": control_id,
                    "endpoint_type": endpoint,
                    "n": len(arm),
                    "events": int(events[arm].sum()),
                    "n_control": len(control),
                    "events_control": int(events[control].sum()),
                    "observed": observed,
                    "expected": expected,
                    "logrank_variance": variance,
                    "logrank_chi2": chi2,
                    "logrank_p": p,
                    "logrank_p_adj": None,
                    "hr": hr,
                    "hr_ci_lo": lo,
                    "hr_ci_hi": hi,
                    "hr_method": method,
                }
            )
        adjusted = holm([r["logrank_p"] for r in rows[start:]])
        for row, p_adj in zip(rows[start:], adjusted, strict=True):
            row["logrank_p_adj"] = p_adj
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.astype({k: v for k, v in COLUMNS.items() if v != "object"})


def model(dbt, session):
    # dbt makes a Python model a table unless the model itself says otherwise.
    dbt.config(materialized="study_partitioned")
    tte = scoped(dbt.ref("fct_animal_time_to_event"), session).df()
    groups = scoped(dbt.ref("stg_invivo__study_groups"), session).df()[
        ["study_id", "group_id", "is_control"]
    ]
    control = scoped(dbt.ref("int_study_control"), session).df()
    controls = dict(zip(control["study_id"], control["control_group_id"], strict=True))
    tte = tte[tte["time_days"].notna()]
    return compare(tte, groups, controls, float(dbt.config.get("km_ci_z") or 1.96))
