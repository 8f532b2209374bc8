"""A linear mixed-effects model of log tumour volume per study, and each group against control.

Model (one study): ln(V + s) = a_g + b_g·t + u_i + ε, with a fixed intercept a_g and growth rate
b_g per group g (time × group) and a random intercept u_i per animal, fitted by REML: the estimates
of statsmodels' ``MixedLM`` (the tests check them against it), computed by
``reml_random_intercept`` in milliseconds. A random slope per animal as well was tried with
MixedLM and dropped: 0.5–1.5 s a study, and it did not always converge (docs/performance.md).
The standard errors are cluster-robust by animal (``robust_covariance``) instead of model-based,
so animals that differ in growth rate widen the intervals as a random slope would (model-based
errors of the random-intercept fit were a quarter of the random-slope fit's). Every
observation counts, including those of animals that left the study early, so the growth rates are
not the survivors-only means that bias the final-day comparisons.

Per treated group against the study's control:
- slope difference b_g − b_c with a Wald interval (z of ``km_ci_z``, 1.96) and two-sided p-value (normal reference, as
  statsmodels reports for MixedLM), Holm-adjusted across the study's treated groups;
- growth-rate ratio b_g / b_c with a delta-method interval (only where the control grows,
  b_c > 0); it is 1 exactly when the slope difference is 0, so it shares that p-value;
- model-based %T/C at the evaluation day t: the ratio of the groups' model geometric means of
  V + s, 100·exp((a_g − a_c) + (b_g − b_c)·t). The interval is the Wald interval of that linear
  contrast, exponentiated (exact for the log-scale contrast; no simulation). TGI = 100 − %T/C.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from invivo_pipeline.statistics.multiplicity import holm

P_ADJUST_METHOD = "holm"

OBSERVATIONS_QUERY = """
    select study_id, animal_id, group_id, study_day, tumor_volume_mm3
    from fct_animal_day
    where study_day >= 0 and tumor_volume_mm3 is not null and tumor_volume_mm3 >= 0
    order by study_id, animal_id, study_day
"""
"""The observations the dbt models fit (a query over their ``fct_animal_day`` relation): every
volume from day 0 on, of animals that left early too. In one order, always: DuckDB returns rows
in whatever order its threads finish, and summing in another order moved the fitted figures by up
to 1e-7 between two builds of the same data, so a report drawn from them looked changed."""

EVAL_DAYS_QUERY = (
    "select study_id, max(study_day) as eval_day from tgi where is_eval_day group by 1"
)
"""Each study's evaluation day, over the dbt models' ``rpt_tgi_by_day`` relation (as ``tgi``)."""
RANDOM_INTERCEPT = "intercept"

COLUMNS: dict[str, str] = {
    "study_id": "object",
    "group_id": "object",
    "control_group_id": "object",
    "is_control": "bool",
    "n_animals": "int64",
    "n_observations": "int64",
    "first_day": "float64",
    "last_day": "float64",
    "growth_rate": "float64",
    "growth_rate_se": "float64",
    "growth_rate_ci_lo": "float64",
    "growth_rate_ci_hi": "float64",
    "slope_diff": "float64",
    "slope_diff_se": "float64",
    "slope_diff_ci_lo": "float64",
    "slope_diff_ci_hi": "float64",
    "growth_rate_ratio": "float64",
    "growth_rate_ratio_se": "float64",
    "growth_rate_ratio_ci_lo": "float64",
    "growth_rate_ratio_ci_hi": "float64",
    "p_value": "float64",
    "p_adj": "float64",
    "p_adj_method": "object",
    "eval_day": "float64",
    "pct_t_over_c_model": "float64",
    "pct_t_over_c_model_ci_lo": "float64",
    "pct_t_over_c_model_ci_hi": "float64",
    "tgi_model_pct": "float64",
    "tgi_model_ci_lo": "float64",
    "tgi_model_ci_hi": "float64",
    "volume_shift_mm3": "float64",
    "random_effects": "object",
    "converged": "bool",
    "status": "object",
    "status_detail": "object",
}


class GrowthModelError(Exception):
    """The study's data cannot be fitted (too little of it, or the optimiser failed)."""


@dataclass(frozen=True)
class GrowthFit:
    """Fixed effects of one study's model: intercepts of ``groups`` then their slopes."""

    groups: tuple[str, ...]
    params: np.ndarray
    cov: np.ndarray
    random_effects: str
    converged: bool
    n_animals: dict[str, int] = field(default_factory=dict)
    n_observations: dict[str, int] = field(default_factory=dict)
    days: dict[str, tuple[float, float]] = field(default_factory=dict)

    def slope_index(self, group: str) -> int:
        return len(self.groups) + self.groups.index(group)

    def intercept_index(self, group: str) -> int:
        return self.groups.index(group)

    def contrast(self, weights: dict[int, float]) -> tuple[float, float]:
        """Estimate and standard error of Σ w_k·β_k."""
        c = np.zeros(len(self.params))
        for k, w in weights.items():
            c[k] += w
        estimate = float(c @ self.params)
        variance = float(c @ self.cov @ c)
        return estimate, math.sqrt(max(variance, 0.0))


def design(frame: pd.DataFrame, groups: tuple[str, ...]) -> np.ndarray:
    """Columns: one indicator per group (intercepts), then indicator × day (growth rates)."""
    indicator = (frame["group_id"].to_numpy()[:, None] == np.array(groups)[None, :]).astype(float)
    day = frame["study_day"].to_numpy(dtype=float)[:, None]
    return np.hstack([indicator, indicator * day])


def response(frame: pd.DataFrame, shift: float) -> np.ndarray:
    """ln(V + shift): a zero volume is "about nothing", not minus infinity."""
    return np.log(frame["tumor_volume_mm3"].to_numpy(dtype=float) + shift)


def fit_growth(frame: pd.DataFrame, groups: tuple[str, ...], shift: float) -> GrowthFit:
    """Fit the model to ``frame`` (animal_id, group_id, study_day, tumor_volume_mm3; one study).

    ``groups`` fixes the order of the coefficients; each needs two or more measurement days.
    Raises ``GrowthModelError`` when the fit is not usable.
    """
    frame = frame[frame["group_id"].isin(groups)]
    for group in groups:
        days = frame.loc[frame["group_id"] == group, "study_day"].nunique()
        if days < 2:
            raise GrowthModelError(f"group {group} has {days} measurement day(s); 2 are needed")
    exog = design(frame, groups)
    endog = response(frame, shift)
    # Two or more days in every group make the group × day design full rank: no rank check
    # (an SVD of the design took a third of the model's time at 200 studies).
    animals = frame["animal_id"].to_numpy()
    summary = frame.groupby("group_id").agg(
        animals=("animal_id", "nunique"),
        observations=("animal_id", "size"),
        first=("study_day", "min"),
        last=("study_day", "max"),
    )
    try:
        fitted = _fit(endog, exog, animals)
    except (np.linalg.LinAlgError, ValueError, OverflowError) as error:
        raise GrowthModelError(f"{type(error).__name__}: {error}") from error
    if fitted is None:
        raise GrowthModelError("the REML fit did not converge")
    params, cov = fitted
    return GrowthFit(
        groups=groups,
        params=params,
        cov=cov,
        random_effects=RANDOM_INTERCEPT,
        converged=True,
        n_animals={g: int(summary.at[g, "animals"]) for g in groups},
        n_observations={g: int(summary.at[g, "observations"]) for g in groups},
        days={g: (float(summary.at[g, "first"]), float(summary.at[g, "last"])) for g in groups},
    )


def reml_random_intercept(
    endog: np.ndarray, exog: np.ndarray, animals: np.ndarray
) -> tuple[np.ndarray, float, bool]:
    """REML fit of y = Xβ + u_animal + ε: (β, λ = Var u / Var ε, converged).

    The same estimates as statsmodels' ``MixedLM(y, X, groups=animals).fit(reml=True)``, but the
    REML criterion is profiled down to λ alone, with per-animal sums: an animal's covariance
    I + λ·11' inverts in closed form (Sherman–Morrison), so for each λ the generalised
    least-squares β is exact and one bounded 1-D search finds λ. That takes milliseconds where
    MixedLM takes 60–90 ms a study (docs/performance.md). An animal variance of 0 (the boundary)
    is allowed and gives the least-squares β.
    """
    codes, uniques = pd.factorize(animals)
    n_animals = len(uniques)
    nobs, k = exog.shape
    counts = np.bincount(codes, minlength=n_animals).astype(float)
    sums = np.zeros((n_animals, k))
    np.add.at(sums, codes, exog)
    y_sums = np.bincount(codes, weights=endog, minlength=n_animals)
    xtx, xty, yty = exog.T @ exog, exog.T @ endog, float(endog @ endog)

    def criterion(ratio: float) -> tuple[float, np.ndarray]:
        shrink = ratio / (1 + counts * ratio)
        m = xtx - (sums * shrink[:, None]).T @ sums
        b = xty - sums.T @ (shrink * y_sums)
        beta = np.linalg.solve(m, b)
        residual = yty - float(np.sum(shrink * y_sums**2)) - float(b @ beta)
        sign, logdet = np.linalg.slogdet(m)
        if residual <= 0 or sign <= 0:
            return math.inf, beta
        value = (nobs - k) * math.log(residual) + float(np.sum(np.log1p(counts * ratio))) + logdet
        return value, beta

    search = optimize.minimize_scalar(
        lambda log_ratio: criterion(math.exp(log_ratio))[0],
        bounds=(-18.0, 8.0),
        method="bounded",
        options={"xatol": 1e-9},
    )
    ratio = math.exp(float(search.x))
    at_zero, beta_zero = criterion(0.0)
    best, beta = criterion(ratio)
    if at_zero <= best:
        return beta_zero, 0.0, bool(np.isfinite(at_zero))
    return beta, ratio, bool(search.success and np.isfinite(best))


def _fit(
    endog: np.ndarray, exog: np.ndarray, animals: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Fixed effects and their robust covariance; None when the fit is not usable."""
    params, ratio, converged = reml_random_intercept(endog, exog, animals)
    if not converged:
        return None
    cov = robust_covariance(endog, exog, animals, params, ratio)
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(cov))):
        return None
    if np.any(np.diag(cov) < 0):
        return None
    return params, cov


def robust_covariance(
    endog: np.ndarray, exog: np.ndarray, animals: np.ndarray, params: np.ndarray, ratio: float
) -> np.ndarray:
    """Cluster-robust (sandwich) covariance of the fixed effects, animals as clusters.

    The working covariance of an animal's n observations is I + ratio·11' (the fitted random
    intercept over the residual variance); the sandwich keeps the estimates' consistency when
    animals also differ in growth rate, which the random intercept alone does not model (as
    SynergyLMM's robust option does). Small-sample factor G/(G − 1) for G animals (CR1).
    """
    residual = endog - exog @ params
    codes, uniques = pd.factorize(animals)
    clusters, k = len(uniques), exog.shape[1]
    counts = np.bincount(codes, minlength=clusters).astype(float)
    sums = np.zeros((clusters, k))
    np.add.at(sums, codes, exog)
    # V⁻¹X row by row: x − c·(the animal's column sums), c = ratio / (1 + n·ratio)
    # (Sherman–Morrison on I + ratio·11').
    shrink = ratio / (1 + counts * ratio)
    vx = exog - (shrink[:, None] * sums)[codes]
    bread = exog.T @ vx
    scores = np.zeros((clusters, k))
    np.add.at(scores, codes, vx * residual[:, None])
    meat = scores.T @ scores
    inverse = np.linalg.inv(bread)
    return clusters / max(clusters - 1, 1) * inverse @ meat @ inverse


def _interval(estimate: float, se: float, z: float) -> tuple[float, float]:
    return estimate - z * se, estimate + z * se


def _p(estimate: float, se: float) -> float | None:
    if se <= 0:
        return None
    return float(2 * stats.norm.sf(abs(estimate / se)))


def _empty_row(study_id: str, group_id: str, control_id: str | None, is_control: bool) -> dict:
    row: dict = dict.fromkeys(COLUMNS)
    row.update(
        study_id=study_id,
        group_id=group_id,
        control_group_id=control_id,
        is_control=is_control,
        n_animals=0,
        n_observations=0,
        p_adj_method=P_ADJUST_METHOD,
        converged=False,
    )
    return row


def compare_with_control(
    fit: GrowthFit,
    study_id: str,
    control: str,
    eval_day: float | None,
    z: float,
    shift: float,
) -> list[dict]:
    """One row per group of ``fit``: its growth rate and, for treated groups, the contrasts."""
    rows = []
    for group in fit.groups:
        row = _empty_row(study_id, group, control, group == control)
        rate, rate_se = fit.contrast({fit.slope_index(group): 1.0})
        lo, hi = _interval(rate, rate_se, z)
        row.update(
            n_animals=fit.n_animals[group],
            n_observations=fit.n_observations[group],
            first_day=fit.days[group][0],
            last_day=fit.days[group][1],
            growth_rate=rate,
            growth_rate_se=rate_se,
            growth_rate_ci_lo=lo,
            growth_rate_ci_hi=hi,
            eval_day=eval_day,
            volume_shift_mm3=shift,
            random_effects=fit.random_effects,
            converged=fit.converged,
            status="ok",
        )
        if group != control:
            _treated_contrasts(row, fit, group, control, eval_day, z)
        rows.append(row)
    treated = [r for r in rows if not r["is_control"] and r["p_value"] is not None]
    if treated:
        adjusted = holm([r["p_value"] for r in treated])
        for row, p_adj in zip(treated, adjusted, strict=True):
            row["p_adj"] = float(p_adj)
    return rows


def _treated_contrasts(
    row: dict, fit: GrowthFit, group: str, control: str, eval_day: float | None, z: float
) -> None:
    g, c = fit.slope_index(group), fit.slope_index(control)
    diff, diff_se = fit.contrast({g: 1.0, c: -1.0})
    lo, hi = _interval(diff, diff_se, z)
    row.update(
        slope_diff=diff,
        slope_diff_se=diff_se,
        slope_diff_ci_lo=lo,
        slope_diff_ci_hi=hi,
        p_value=_p(diff, diff_se),
    )
    b_g, b_c = fit.params[g], fit.params[c]
    if b_c > 0:
        ratio = b_g / b_c
        # Delta method: Var(b_g/b_c) ≈ (Var b_g − 2r·Cov + r²·Var b_c) / b_c².
        variance = (fit.cov[g, g] - 2 * ratio * fit.cov[g, c] + ratio**2 * fit.cov[c, c]) / b_c**2
        ratio_se = math.sqrt(max(float(variance), 0.0))
        lo, hi = _interval(ratio, ratio_se, z)
        row.update(
            growth_rate_ratio=float(ratio),
            growth_rate_ratio_se=ratio_se,
            growth_rate_ratio_ci_lo=lo,
            growth_rate_ratio_ci_hi=hi,
        )
    if eval_day is not None and not math.isnan(eval_day):
        log_ratio, log_se = fit.contrast(
            {
                fit.intercept_index(group): 1.0,
                fit.intercept_index(control): -1.0,
                g: float(eval_day),
                c: -float(eval_day),
            }
        )
        lo, hi = _interval(log_ratio, log_se, z)
        tc, tc_lo, tc_hi = (100 * math.exp(x) for x in (log_ratio, lo, hi))
        row.update(
            pct_t_over_c_model=tc,
            pct_t_over_c_model_ci_lo=tc_lo,
            pct_t_over_c_model_ci_hi=tc_hi,
            tgi_model_pct=100 - tc,
            tgi_model_ci_lo=100 - tc_hi,
            tgi_model_ci_hi=100 - tc_lo,
        )


def study_growth_rows(
    study_id: str,
    frame: pd.DataFrame,
    groups: list[str],
    control: str,
    eval_day: float | None,
    z: float,
    shift: float,
) -> list[dict]:
    """Rows of ``rpt_growth_model`` for one study; a failed fit is one status row per group."""
    present = set(frame["group_id"])
    modelled = [g for g in [control, *[g for g in groups if g != control]] if g in present]
    try:
        if control not in present:
            raise GrowthModelError("the control group has no tumour volumes")
        if len(modelled) < 2:
            raise GrowthModelError("no treated group has tumour volumes")
        fit = fit_growth(frame, tuple(modelled), shift)
    except GrowthModelError as error:
        return [_status_row(study_id, g, control, frame, "failed", str(error)) for g in modelled]
    rows = compare_with_control(fit, study_id, control, eval_day, z, shift)
    absent = [g for g in groups if g not in present]
    rows.extend(
        _status_row(study_id, g, control, frame, "not estimable", "no tumour volumes")
        for g in absent
    )
    return rows


def _status_row(
    study_id: str, group: str, control: str, frame: pd.DataFrame, status: str, detail: str
) -> dict:
    row = _empty_row(study_id, group, control, group == control)
    mine = frame[frame["group_id"] == group]
    row.update(
        n_animals=int(mine["animal_id"].nunique()),
        n_observations=len(mine),
        status=status,
        status_detail=detail,
    )
    return row


def growth_model_frame(
    observations: pd.DataFrame,
    groups: pd.DataFrame,
    controls: dict[str, str],
    eval_days: dict[str, float],
    z: float,
    shift: float,
) -> pd.DataFrame:
    """``rpt_growth_model`` for every study with tumour volumes and a control group.

    ``observations``: study_id, animal_id, group_id, study_day, tumor_volume_mm3 (day ≥ 0, volume
    not null); ``groups``: study_id, group_id, group_no; ``controls``: study → control group.
    """
    rows: list[dict] = []
    by_study = dict(tuple(observations.groupby("study_id", sort=True)))
    ordered = groups.sort_values(["study_id", "group_no", "group_id"])
    group_lists = ordered.groupby("study_id", sort=False)["group_id"].agg(list).to_dict()
    for study_id, frame in by_study.items():
        control = controls.get(study_id)
        if control is None:
            continue
        study_groups = group_lists.get(study_id, [])
        rows.extend(
            study_growth_rows(
                study_id, frame, study_groups, control, eval_days.get(study_id), z, shift
            )
        )
    result = pd.DataFrame(rows, columns=list(COLUMNS))
    return result.astype({k: v for k, v in COLUMNS.items() if v != "object"})
