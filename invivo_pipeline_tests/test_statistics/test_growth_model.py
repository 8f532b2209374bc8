"""The per-study mixed-effects growth model against independent computations: on balanced data
its fixed effects are the least-squares lines (numpy lstsq), its robust errors statsmodels' OLS
cluster sandwich, its Holm adjustment worked by hand; a study it cannot fit is a status row."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from pytest import approx

from invivo_pipeline.statistics.growth_model import (
    design,
    fit_growth,
    growth_model_frame,
    reml_random_intercept,
    response,
    robust_covariance,
)
from invivo_pipeline_tests.support.statistics import balanced_study, least_squares

RATES = {"ctl": 0.12, "low": 0.10, "mid": 0.06, "top": -0.02}
GROUPS = pd.DataFrame({"study_id": "s", "group_id": list(RATES), "group_no": [1, 2, 3, 4]})


def frame_for(observations: pd.DataFrame, eval_day: float = 14.0) -> pd.DataFrame:
    return growth_model_frame(observations, GROUPS, {"s": "ctl"}, {"s": eval_day}, 1.96, 1.0)


@pytest.mark.parametrize("intercept_sd", [0.0, 0.25])
def test_balanced_slopes_and_intercepts_equal_least_squares(intercept_sd):
    """Balanced data (animal variance none, or in the intercept only): GLS = OLS exactly."""
    data = balanced_study(RATES, intercept_sd=intercept_sd)
    fit = fit_growth(data, tuple(RATES), 1.0)
    expected = least_squares(data, list(RATES))
    for group, (intercept, slope) in expected.items():
        assert fit.params[fit.intercept_index(group)] == approx(intercept, abs=1e-9)
        assert fit.params[fit.slope_index(group)] == approx(slope, abs=1e-9)


def test_contrasts_and_model_based_tc_follow_from_the_lines():
    data = balanced_study(RATES)
    rows = frame_for(data).set_index("group_id")
    lines = least_squares(data, list(RATES))
    a_c, b_c = lines["ctl"]
    for group in ("low", "mid", "top"):
        a_g, b_g = lines[group]
        row = rows.loc[group]
        assert row["status"] == "ok" and not row["is_control"]
        assert row["slope_diff"] == approx(b_g - b_c, abs=1e-9)
        assert row["growth_rate_ratio"] == approx(b_g / b_c, rel=1e-7)
        tc = 100 * math.exp(a_g - a_c + (b_g - b_c) * 14)
        assert row["pct_t_over_c_model"] == approx(tc, rel=1e-7)
        assert row["tgi_model_pct"] == approx(100 - tc, rel=1e-7)
        lo, hi = row["pct_t_over_c_model_ci_lo"], row["pct_t_over_c_model_ci_hi"]
        assert lo < tc < hi
        # Limits of TGI are those of %T/C mirrored.
        assert row["tgi_model_ci_lo"] == approx(100 - hi) and row["tgi_model_ci_hi"] == approx(
            100 - lo
        )
        assert (row["n_animals"], row["n_observations"]) == (5, 5 * 8)
    control = rows.loc["ctl"]
    assert control["is_control"] and math.isnan(control["slope_diff"])
    assert control["growth_rate"] == approx(b_c, abs=1e-9)


def test_holm_adjustment_worked_by_hand():
    rows = frame_for(balanced_study(RATES, noise=0.4, seed=11)).set_index("group_id")
    p = {g: rows.loc[g, "p_value"] for g in ("low", "mid", "top")}
    ranked = sorted(p, key=p.get)
    running, expected = 0.0, {}
    for rank, group in enumerate(ranked):
        running = max(running, min(1.0, (3 - rank) * p[group]))
        expected[group] = running
    for group in p:
        assert rows.loc[group, "p_adj"] == approx(expected[group])
    assert (rows["p_adj_method"] == "holm").all()


def test_robust_errors_equal_the_ols_cluster_sandwich_when_animals_do_not_vary():
    """With the random-intercept share at 0 the sandwich is statsmodels' OLS cluster covariance
    (which multiplies by (N − 1)/(N − K) on top of G/(G − 1))."""
    data = balanced_study(RATES, noise=0.1, seed=5)
    x, y = design(data, tuple(RATES)), response(data, 1.0)
    animals = data["animal_id"].to_numpy()
    codes = pd.factorize(data["animal_id"])[0]
    ols = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": codes})
    n, k = x.shape
    expected = np.asarray(ols.cov_params()) * (n - k) / (n - 1)
    ours = robust_covariance(y, x, animals, np.asarray(ols.params), 0.0)
    assert np.allclose(ours, expected, rtol=1e-9, atol=1e-14)


def test_growth_heterogeneity_widens_the_intervals():
    """Animals that differ in growth rate: robust errors grow with that spread."""
    rng = np.random.default_rng(2)
    narrow = balanced_study(RATES, noise=0.03)
    wide = narrow.copy()
    spread = {a: rng.normal(0, 0.03) for a in wide["animal_id"].unique()}
    wide["tumor_volume_mm3"] = (wide["tumor_volume_mm3"] + 1) * np.exp(
        wide["animal_id"].map(spread) * wide["study_day"]
    ) - 1
    se_narrow = frame_for(narrow).set_index("group_id")["slope_diff_se"]
    se_wide = frame_for(wide).set_index("group_id")["slope_diff_se"]
    assert (se_wide[["low", "mid", "top"]] > 3 * se_narrow[["low", "mid", "top"]]).all()


def test_dropouts_enter_the_model_with_their_observations():
    data = balanced_study(RATES)
    # Two control animals leave after day 6: their earlier volumes still count.
    gone = data["animal_id"].isin(["ctl-0", "ctl-1"]) & (data["study_day"] > 6)
    rows = frame_for(data[~gone]).set_index("group_id")
    assert rows.loc["ctl", "n_animals"] == 5
    assert rows.loc["ctl", "n_observations"] == 5 * 8 - 2 * 4
    assert rows.loc["ctl", "growth_rate"] == approx(0.12, abs=0.01)


def test_a_study_that_cannot_be_fitted_is_status_rows_not_an_error():
    data = balanced_study(RATES)
    only_day0 = data[(data["group_id"] != "mid") | (data["study_day"] == 0)]
    rows = frame_for(only_day0)
    assert set(rows["status"]) == {"failed"}
    assert len(rows) == 4
    assert rows["status_detail"].str.contains("mid has 1 measurement day").all()
    assert rows["growth_rate"].isna().all()


def test_groups_without_volumes_and_studies_without_control():
    data = balanced_study(RATES)
    rows = frame_for(data[data["group_id"] != "top"]).set_index("group_id")
    assert rows.loc["top", "status"] == "not estimable"
    assert rows.loc[["ctl", "low", "mid"], "status"].eq("ok").all()
    no_control = growth_model_frame(data, GROUPS, {}, {}, 1.96, 1.0)
    assert no_control.empty
    assert list(no_control.columns) == list(frame_for(data).columns)


def test_no_evaluation_day_leaves_the_model_tc_empty_but_keeps_the_rates():
    data = balanced_study(RATES)
    rows = growth_model_frame(data, GROUPS, {"s": "ctl"}, {}, 1.96, 1.0)
    treated = rows[~rows["is_control"]]
    assert treated["pct_t_over_c_model"].isna().all()
    assert treated["slope_diff"].notna().all()


def test_reml_equals_statsmodels_mixedlm_on_unbalanced_data_with_animal_variance():
    """Animals start at different volumes and some leave early: the profiled REML gives
    statsmodels' MixedLM estimates (fixed effects, and the animal variance over the residual)."""
    data = balanced_study(RATES, intercept_sd=0.3, noise=0.08, seed=17)
    rng = np.random.default_rng(4)
    last = {a: rng.choice([6, 10, 14]) for a in data["animal_id"].unique()}
    data = data[data["study_day"] <= data["animal_id"].map(last)]
    x, y = design(data, tuple(RATES)), response(data, 1.0)
    animals = data["animal_id"].to_numpy()
    ours, ratio, converged = reml_random_intercept(y, x, animals)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = sm.MixedLM(y, x, groups=animals).fit(reml=True)
    assert converged and theirs.converged
    assert np.allclose(ours, np.asarray(theirs.fe_params), atol=1e-6)
    assert ratio == approx(float(np.asarray(theirs.cov_re)[0, 0]) / theirs.scale, rel=1e-3)
    assert ratio > 1  # the animals' spread (0.3) dwarfs the noise (0.08)
