"""The marts against values worked out by hand for the small study of ``scenario.py``.

Every expected number below is arithmetic on the volumes, weights, days and doses listed in the
scenario's docstring, written out here, not a re-run of the models' SQL.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest
from pytest import approx

from invivo_pipeline.assets.dbt import MANIFEST
from invivo_pipeline_tests.support.dbt import dbt_build, load, one, query
from invivo_pipeline_tests.support.dbt_scenario import draft_study, hand_study
from invivo_pipeline_tests.support.penalised_cox import firth_by_direct_optimisation

pytestmark = pytest.mark.slow  # end to end: see docs/development.md


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("hand")
    path = work / "invivo.duckdb"
    load(path, [hand_study(), draft_study()])
    run = dbt_build(path, work)
    assert run.returncode == 0, run.output[-4000:]
    # The two review flags the scenario trips only warn; nothing errors, nothing is skipped.
    problems = {k: v for k, v in run.statuses().items() if v not in ("success", "pass")}
    assert problems == {
        "assert_length_not_below_width": "warn",
        "assert_no_body_weight_jumps": "warn",
    }
    return path


def tgi(db: Path, group: str, day: int) -> dict:
    return one(
        db, "select * from marts.rpt_tgi_by_day where group_id = ? and study_day = ?", group, day
    )


# --- foundation ---------------------------------------------------------------------------------


def test_day0_baselines_and_last_day_on_study(db):
    c1 = one(db, "select * from marts.dim_animal where animal_id = 'c1'")
    assert c1["day0_date"] == date(2026, 1, 10)
    assert (c1["v0"], c1["w0"]) == (100, 20)
    assert c1["reason_class"] == "event" and c1["last_study_day"] == 6
    c2 = one(db, "select * from marts.dim_animal where animal_id = 'c2'")
    assert c2["reason_class"] is None and c2["last_study_day"] == 6  # on study at the cut-off
    c4 = one(db, "select * from marts.dim_animal where animal_id = 'c4'")
    assert c4["last_study_day"] == 3 and c4["reason_class"] == "event"  # found dead


def test_rtv_and_body_weight_change(db):
    t1 = one(db, "select * from marts.fct_animal_day where animal_id = 't1' and study_day = 4")
    assert t1["rtv"] == approx(120 / 80)
    assert t1["pct_dv"] == approx(100 * (120 / 80 - 1))
    r1 = one(db, "select * from marts.fct_animal_day where animal_id = 'r1' and study_day = 4")
    assert r1["bw_pct_chg"] == approx(100 * (16 - 20) / 20)
    assert r1["bw_endpoint_flag"] and r1["bw_alert_flag"]
    assert r1["bw_day_over_day_pct"] == approx(100 * (16 - 18) / 18)
    r2 = one(db, "select * from marts.fct_animal_day where animal_id = 'r2' and study_day = 6")
    assert r2["bw_pct_chg"] == approx(100 * (17 - 20) / 20)
    assert r2["bw_nadir_to_date"] == approx(-15)


def test_swapped_calipers_are_swapped_back_and_the_volume_recomputed(db):
    t3 = one(db, "select * from marts.fct_animal_day where animal_id = 't3' and study_day = 0")
    # Stored width 9.6, length 5: L = 9.6, W = 5 after the swap, V = 9.6 · 5² / 2 = 120.
    assert (t3["length_mm"], t3["width_mm"]) == (9.6, 5)
    assert t3["tumor_volume_recalc_mm3"] == approx(9.6 * 5 * 5 / 2)
    assert t3["tumor_volume_mm3"] == 120


def test_group_day_summary(db):
    row = one(
        db,
        "select * from marts.rpt_group_day_summary "
        "where group_id = 'grp_c' and study_day = 4 and metric = 'tumor_volume_mm3'",
    )
    volumes = [1000, 400, 2200]  # c1, c2, c3; c4 died on day 3
    mean = sum(volumes) / 3
    sd = math.sqrt(sum((v - mean) ** 2 for v in volumes) / 2)
    assert (row["n_on_study"], row["n_measured"], row["n_start"]) == (3, 3, 4)
    assert row["mean"] == approx(1200)
    assert row["sd"] == approx(sd)
    assert row["sem"] == approx(sd / math.sqrt(3))
    assert row["median"] == approx(1000)
    # Shifted by geo_mean_shift_mm3 = 1: exp(mean ln(V + 1)) − 1.
    assert row["geo_mean"] == approx((1001 * 401 * 2201) ** (1 / 3) - 1)
    assert row["frac_remaining"] == approx(3 / 4)
    assert row["plot_ok"]
    day6 = one(
        db,
        "select * from marts.rpt_group_day_summary "
        "where group_id = 'grp_c' and study_day = 6 and metric = 'tumor_volume_mm3'",
    )
    assert day6["n_measured"] == 2 and not day6["plot_ok"]  # below min_n = 3


# --- tumour growth inhibition -------------------------------------------------------------------


def test_tgi_every_form_on_the_evaluation_day(db):
    row = tgi(db, "grp_t", 4)
    mean_t = (120 + 130 + 140) / 3  # 130
    mean_c = (1000 + 400 + 2200) / 3  # 1200 (c4 is gone)
    mean_t0 = (80 + 100 + 120) / 3  # 100
    mean_c0 = (100 + 100 + 100 + 100) / 4
    assert (row["mean_t"], row["mean_c"]) == (approx(mean_t), approx(mean_c))
    assert (row["mean_t0"], row["mean_c0"]) == (approx(mean_t0), approx(mean_c0))
    assert row["pct_t_over_c"] == approx(100 * 130 / 1200)
    assert row["tgi_ratio_pct"] == approx(100 - 100 * 130 / 1200)
    assert row["pct_dt_over_dc"] == approx(100 * (130 - 100) / (1200 - 100))
    assert row["tgi_delta_pct"] == approx(100 * (1 - (130 - 100) / (1200 - 100)))
    rtv_t = (120 / 80 + 130 / 100 + 140 / 120) / 3
    rtv_c = (1000 / 100 + 400 / 100 + 2200 / 100) / 3
    assert (row["mean_rtv_t"], row["mean_rtv_c"]) == (approx(rtv_t), approx(rtv_c))
    assert row["tgi_rtv_pct"] == approx(100 * (1 - rtv_t / rtv_c))
    # Trapezoids of the mean curves, days 0, 2, 4: treated 100, 110, 130; control 100, 350, 1200
    # (day 2 means: treated (96 + 124)/2, t2 unmeasured; control (400 + 200 + 500 + 300)/4).
    auc_t = 2 * (100 + 110) / 2 + 2 * (110 + 130) / 2
    auc_c = 2 * (100 + 350) / 2 + 2 * (350 + 1200) / 2
    assert (row["auc_t"], row["auc_c"]) == (approx(auc_t), approx(auc_c))
    assert row["tgi_auc_pct"] == approx(100 * (1 - auc_t / auc_c))
    assert row["regression_pct"] is None  # the treated mean grew
    assert row["nci_activity_class"] == "active"  # 10.8 % is <= 42 but > 10
    assert row["is_eval_day"] and row["plot_ok"]
    # Day 6 is past the evaluation day: the control is down to 2 animals (< min_n).
    assert not tgi(db, "grp_t", 6)["is_eval_day"]


def test_regression_is_reported_when_the_treated_mean_falls_below_baseline(db):
    row = tgi(db, "grp_r", 4)
    mean_r = (45 + 40 + 35) / 3  # 40
    assert row["regression_pct"] == approx(100 * (mean_r - 100) / 100)
    assert row["nci_activity_class"] == "highly active"  # %T/C = 100·40/1200 = 3.3


def test_animal_response_doubling_time_and_regressions(db):
    c2 = one(db, "select * from marts.rpt_animal_tumor_response where animal_id = 'c2'")
    # 100, 200, 400, 800 on days 0, 2, 4, 6: ln V rises ln 2 every 2 days, so Td = 2 days.
    assert c2["growth_rate_ln"] == approx(math.log(2) / 2)
    assert c2["doubling_time_d"] == approx(2.0)
    assert c2["r2"] == approx(1.0)
    assert c2["auc_0_last"] == approx(
        2 * (100 + 200) / 2 + 2 * (200 + 400) / 2 + 2 * (400 + 800) / 2
    )
    c1 = one(db, "select * from marts.rpt_animal_tumor_response where animal_id = 'c1'")
    # c1: 100, 400, 1000, 2000 -> first >= 2x and 4x on day 2, >= 5x on day 4, endpoint on day 6.
    assert (c1["t_2x"], c1["t_4x"], c1["t_5x"], c1["tte_endpoint"]) == (2, 2, 4, 6)
    flags = {
        r["animal_id"]: r["pr_flag"]
        for r in query(db, "select animal_id, pr_flag from marts.rpt_animal_tumor_response")
    }
    # PR: <= 50 % of V0 on 3 consecutive measurements: r2 (50, 40, 30), r3 (40, 35, 20); r1
    # (60, 45) never has three.
    assert {a for a, pr in flags.items() if pr} == {"r2", "r3"}
    summary = one(db, "select * from marts.rpt_group_efficacy_summary where group_id = 'grp_r'")
    assert (summary["n_pr"], summary["n_cr"]) == (2, 0)
    assert summary["orr_pct"] == approx(100 * 2 / 3)
    assert summary["n_tr_deaths"] == 2  # body weight loss, moribund
    control = one(db, "select * from marts.rpt_group_efficacy_summary where group_id = 'grp_c'")
    assert control["n_ntr_deaths"] == 1  # c4, found dead
    assert one(db, "select * from marts.rpt_group_efficacy_summary where group_id = 'grp_t'")[
        "tgi_delta_pct_eval_day"
    ] == approx(100 * (1 - 30 / 1100))


def ols_slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope: sum((x - mean x)(y - mean y)) / sum((x - mean x)^2)."""
    x_bar, y_bar = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - x_bar) * (y - y_bar) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - x_bar) ** 2 for x in xs
    )


def test_rate_based_t_over_c_and_control_doubling_time(db):
    log10 = math.log10  # every volume here is above the 50 mm³ floor
    mu_t = [
        ols_slope([0, 2, 4, 6], [log10(80), log10(96), log10(120), log10(160)]),
        ols_slope([0, 4, 6], [log10(100), log10(130), log10(150)]),  # t2 missed day 2
        ols_slope([0, 2, 4, 6], [log10(120), log10(124), log10(140), log10(170)]),
    ]
    mu_c = [
        ols_slope([0, 2, 4, 6], [log10(100), log10(400), log10(1000), log10(2000)]),
        ols_slope([0, 2, 4, 6], [log10(100), log10(200), log10(400), log10(800)]),
        ols_slope([0, 2, 4], [log10(100), log10(500), log10(2200)]),
        ols_slope([0, 2], [log10(100), log10(300)]),
    ]
    row = one(db, "select * from marts.rpt_group_efficacy_summary where group_id = 'grp_t'")
    assert row["eval_day"] == 4
    assert row["mean_log10_slope"] == approx(sum(mu_t) / 3)
    assert row["rate_based_tc"] == approx(10 ** ((sum(mu_t) / 3 - sum(mu_c) / 4) * 4))
    k_c = [m * math.log(10) for m in mu_c]  # ln V slopes of the control
    assert row["control_doubling_time_d"] == approx(math.log(2) / (sum(k_c) / 4))


# --- survival -----------------------------------------------------------------------------------


def test_kaplan_meier_overall_survival_of_the_control(db):
    rows = query(
        db,
        "select * from marts.rpt_km_curve where group_id = 'grp_c' and endpoint_type = 'overall' "
        "order by event_time",
    )
    # c4 dies day 3 (4 at risk), c3 day 4 (3 at risk), c1 day 6 (2 at risk, c2 censored day 6).
    assert [(r["event_time"], r["n_at_risk"], r["n_event"], r["n_censor"]) for r in rows] == [
        (3, 4, 1, 0),
        (4, 3, 1, 0),
        (6, 2, 1, 1),
    ]
    s3 = 1 - 1 / 4
    s4 = s3 * (1 - 1 / 3)
    s6 = s4 * (1 - 1 / 2)
    assert [r["surv"] for r in rows] == [approx(s3), approx(s4), approx(s6)]
    assert rows[1]["se_greenwood"] == approx(s4 * math.sqrt(1 / (4 * 3) + 1 / (3 * 2)))


def test_median_survival_ils_and_log_rank(db):
    summary = {
        r["group_id"]: r
        for r in query(
            db, "select * from marts.rpt_survival_summary where endpoint_type = 'overall'"
        )
    }
    control, regress, treated = summary["grp_c"], summary["grp_r"], summary["grp_t"]
    assert control["median_days"] == 4  # S(4) = 3/4 · 2/3 = 1/2
    # G3: r1 dies day 4 (3 at risk), r3 day 6 (2 at risk, r2 censored): S = 2/3, then 1/3.
    assert regress["median_days"] == 6
    assert regress["ils_pct"] == approx(100 * (6 - 4) / 4)
    assert regress["pct_t_over_c_surv"] == approx(100 * 6 / 4)
    assert regress["surv_active_flag"]
    assert treated["median_days"] is None and treated["ils_pct"] is None  # nobody died

    # Log-rank G3 vs control at the event times 3, 4, 6 (n1 = G3 at risk, n = both at risk).
    observed = 2
    expected = 3 * 1 / 7 + 3 * 2 / 6 + 2 * 2 / 4
    variance = (
        (3 * 4 * 1 * 6) / (7**2 * 6) + (3 * 3 * 2 * 4) / (6**2 * 5) + (2 * 2 * 2 * 2) / (4**2 * 3)
    )
    chi2 = (observed - expected) ** 2 / variance
    assert regress["logrank_chi2"] == approx(chi2)
    assert regress["logrank_p"] == approx(math.erfc(math.sqrt(chi2 / 2)))  # χ², 1 df
    # G2 vs control: no G2 deaths, at risk 3 at every event time (3, 4, 6).
    expected_t = 3 * 1 / 7 + 3 * 1 / 6 + 3 * 1 / 5
    variance_t = (
        (3 * 4 * 1 * 6) / (7**2 * 6) + (3 * 3 * 1 * 5) / (6**2 * 5) + (3 * 2 * 1 * 4) / (5**2 * 4)
    )
    chi2_t = expected_t**2 / variance_t
    p_t = math.erfc(math.sqrt(chi2_t / 2))
    assert treated["logrank_chi2"] == approx(chi2_t)
    # Holm over the two treated groups: the smaller p-value is doubled.
    assert treated["logrank_p_adj"] == approx(2 * p_t)
    # No events in G2: the Cox fit has no finite estimate, so the ratio is the Firth-penalised
    # one, checked against a direct optimisation of the penalised likelihood on the risk table.
    hr, lo, hi = firth_by_direct_optimisation([(7, 1, 3, 0), (6, 1, 3, 0), (5, 1, 3, 0)])
    assert (treated["hr_method"], regress["hr_method"]) == ("firth", "cox")
    assert (treated["hr"], treated["hr_ci_lo"], treated["hr_ci_hi"]) == (
        approx(hr, rel=1e-6),
        approx(lo, rel=1e-4),
        approx(hi, rel=1e-4),
    )
    assert regress["hr_ci_lo"] < regress["hr"] < regress["hr_ci_hi"]


def test_time_to_tumour_endpoint_first_observation_and_interpolated(db):
    c3 = one(
        db,
        "select * from marts.fct_animal_time_to_event "
        "where animal_id = 'c3' and endpoint_type = 'tumor_volume'",
    )
    assert c3["event"] == 1 and c3["time_days"] == 4  # 2200 >= 2000 on day 4
    # Log-linear between day 2 (500) and day 4 (2200).
    interp = 2 + 2 * (math.log(2000) - math.log(500)) / (math.log(2200) - math.log(500))
    assert c3["time_days_interp"] == approx(interp)
    c2 = one(
        db,
        "select * from marts.fct_animal_time_to_event "
        "where animal_id = 'c2' and endpoint_type = 'tumor_volume'",
    )
    assert c2["event"] == 0 and c2["time_days"] == 6  # censored at its last measurement


# --- body weight --------------------------------------------------------------------------------


def test_body_weight_tolerability(db):
    day4 = one(
        db, "select * from marts.rpt_bw_tolerability where group_id = 'grp_r' and study_day = 4"
    )
    # r1 16 g, r2 18 g, r3 19 g against 20 g: -20 %, -10 %, -5 %.
    mean = (100 * (16 - 20) / 20 + 100 * (18 - 20) / 20 + 100 * (19 - 20) / 20) / 3
    assert day4["mean_bw_pct_chg"] == approx(mean)
    assert (day4["n_ge_mild"], day4["n_ge_alert"], day4["n_ge_endpoint"]) == (2, 1, 1)
    # Day 6 has only two animals (< min_n), so the worst mean loss is day 4's.
    assert day4["max_mean_loss_pct"] == approx(-mean)
    assert day4["day_of_max_loss"] == 4
    assert (day4["n_ever_ge_alert"], day4["n_ever_ge_endpoint"]) == (2, 1)  # r2 reaches 15 %
    assert day4["tr_deaths"] == 2 and not day4["tolerated_flag"]
    treated = one(
        db, "select * from marts.rpt_bw_tolerability where group_id = 'grp_t' and study_day = 6"
    )
    assert treated["max_mean_loss_pct"] == 0 and treated["tolerated_flag"]


# --- dosing -------------------------------------------------------------------------------------


def test_dosing_compliance_statuses(db):
    rows = query(
        db,
        "select animal_id, dose_date, dose_seq, status from marts.rpt_dosing_compliance "
        "where status <> 'given' order by animal_id, dose_date",
    )
    assert [(r["animal_id"], r["dose_date"].day, r["dose_seq"], r["status"]) for r in rows] == [
        ("r1", 14, 1, "terminated"),  # ended on day 4 before its dose
        ("r2", 16, 1, "held"),  # 17 g vs 20 g = 15 % loss, no dose
        ("t1", 13, 1, "missed"),
        ("t2", 11, 2, "extra"),  # a second dose on a QD day
        ("t3", 12, 1, "wrong_dose"),  # 2 mg/ml · 200 µl / 20 g = 20 mg/kg, planned 10
    ]
    wrong = one(db, "select * from marts.rpt_dosing_compliance where status = 'wrong_dose'")
    assert wrong["realized_d"] == approx(2 * 200 / 20)
    assert wrong["dose_dev_pct"] == approx(100 * (20 - 10) / 10)
    given = one(
        db,
        "select * from marts.rpt_dosing_compliance where animal_id = 't1' and dose_date = ?",
        date(2026, 1, 10),
    )
    assert given["expected_vol_ul"] == approx(20 * 10)  # W · DV
    assert given["realized_d"] == approx(1 * 200 / 20)  # c · V / W
    assert given["route"] == "PO" and not given["dv_over_route_max"]  # 10 ml/kg <= 10


def test_dosing_compliance_rollups(db):
    groups = {
        r["group_id"]: r for r in query(db, "select * from marts.rpt_dosing_compliance_by_group")
    }
    g2 = groups["grp_t"]  # QD, days 0..6, 3 animals: 21 planned, 19 given
    assert (g2["n_planned"], g2["n_planned_alive"], g2["n_given"]) == (21, 21, 19)
    assert (g2["n_missed"], g2["n_extra"], g2["n_wrong_dose"]) == (1, 1, 1)
    assert g2["compliance_pct"] == approx(100 * 19 / 21)
    g3 = groups["grp_r"]  # Q2D: r1 days 0, 2, 4; r2 and r3 days 0, 2, 4, 6
    assert (g3["n_planned"], g3["n_planned_alive"], g3["n_given"], g3["n_held"]) == (11, 10, 9, 1)
    assert g3["compliance_pct"] == approx(100 * 9 / 10)
    assert g3["cumulative_realized_mg_kg"] == approx(9 * 30)
    assert "grp_c" not in groups  # the control has no treatment in this study


# --- census, observations, samples, overview ----------------------------------------------------


def test_daily_census(db):
    rows = {
        (r["group_id"], r["census_date"].day): r
        for r in query(db, "select * from marts.rpt_study_census_daily where study_id = 'hand'")
    }
    assert len(rows) == 3 * 8  # 3 groups, 2026-01-09 (enrolment) to 2026-01-16 (cut-off)
    # On study: [enrolled, terminated], the termination day included (macros/on_study.sql).
    c14 = rows[("grp_c", 14)]  # c4 left on the 13th; the 14th is c3's last day on study
    assert (c14["n_enrolled"], c14["n_on_study"], c14["n_terminated_cum"]) == (4, 3, 2)
    assert c14["n_terminated_event_cum"] == 2 and c14["study_day"] == 4
    assert rows[("grp_c", 15)]["n_on_study"] == 2  # c1, c2
    assert rows[("grp_c", 16)]["n_on_study"] == 2  # c1's last day, c2
    assert rows[("grp_r", 16)]["n_on_study"] == 2  # r1 left on the 14th; r3's last day, r2
    assert rows[("grp_t", 16)]["n_on_study"] == 3
    t10 = rows[("grp_t", 10)]  # K3 holds t1, t2, t3 and r3 of G3
    assert (t10["n_cages"], t10["max_per_cage"], t10["mixed_group_cages"]) == (1, 4, 1)
    r10 = rows[("grp_r", 10)]  # K4 (r1, r2) and K3
    assert (r10["n_cages"], r10["max_per_cage"], r10["mixed_group_cages"]) == (2, 4, 1)


def test_the_census_and_the_group_curves_count_the_same_animals_on_study(db):
    census = {
        (r["group_id"], r["study_day"]): r["n_on_study"]
        for r in query(db, "select * from marts.rpt_study_census_daily where study_id = 'hand'")
    }
    curves = query(
        db,
        "select group_id, study_day, metric, n_on_study from marts.rpt_group_day_summary "
        "where study_id = 'hand'",
    )
    assert len(curves) == 3 * 4 * 4  # 3 groups, days 0, 2, 4, 6, 4 metrics
    differ = [
        (
            r["group_id"],
            r["study_day"],
            r["metric"],
            r["n_on_study"],
            census[r["group_id"], r["study_day"]],
        )
        for r in curves
        if r["n_on_study"] != census[r["group_id"], r["study_day"]]
    ]
    assert not differ
    # Day 4 of the control: c3's termination day counts (c1, c2, c3), in both.
    assert census["grp_c", 4] == 3


def test_observation_incidence(db):
    row = one(
        db,
        "select * from marts.rpt_observation_incidence "
        "where group_id = 'grp_r' and glossary_title = 'Hunched posture'",
    )
    # Day 2: r1 Moderate (2), r2 Mild (1), out of r1, r2, r3 checked (measured) that day.
    assert (row["study_day"], row["n_observed"], row["n_with_sign"]) == (2, 3, 2)
    assert row["incidence_pct"] == approx(100 * 2 / 3)
    assert (row["max_score"], row["mean_score"]) == (2, approx((2 + 1) / 2))
    assert row["first_onset_day"] == 2


def test_sample_inventory(db):
    rows = {
        (r["timepoint_day"], r["sample_type"]): r
        for r in query(db, "select * from marts.rpt_sample_inventory where group_id = 'grp_c'")
    }
    assert rows[(4, "Blood")]["total_volume_ul"] == approx(0.5 * 1000)
    assert rows[(4, "Tumour")]["total_weight_g"] == approx(1.8)
    # Day 4: c1, c2, c3 on study (c3's last day); day 6: c1, c2.
    assert rows[(4, "Blood")]["pct_animals_sampled"] == approx(100 * 1 / 3)
    assert rows[(6, "Blood")]["pct_animals_sampled"] == approx(100 * 1 / 2)


def test_study_overview(db):
    hand = one(db, "select * from marts.rpt_study_overview where study_id = 'hand'")
    assert (hand["n_groups"], hand["n_control_groups"]) == (3, 1)
    assert (hand["n_animals_enrolled"], hand["n_on_study"], hand["n_terminated"]) == (10, 5, 5)
    assert hand["last_measured_on"] == date(2026, 1, 16)
    # Animals on study on the measurement days 0, 2, 4, 6: 10, 10, 9 (c4 gone), 7 (c3, r1 gone)
    # = 36 expected; t2 was not measured on day 2: 35 present.
    assert (hand["n_animal_days_expected"], hand["n_animal_days_measured"]) == (36, 35)
    assert hand["data_completeness_pct"] == approx(100 * 35 / 36)
    assert hand["dosing_compliance_pct"] == approx(100 * (19 + 9) / (21 + 10))
    draft = one(db, "select * from marts.rpt_study_overview where study_id = 'draft'")
    assert draft["status"] == "draft" and draft["n_animals_enrolled"] == 0


# --- documentation ------------------------------------------------------------------------------


def test_every_model_and_column_is_documented(db):
    built = {
        (r["table_schema"], r["table_name"], r["column_name"])
        for r in query(
            db,
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema in ('staging', 'intermediate', 'marts')",
        )
    }
    undocumented = []
    for node in MANIFEST["nodes"].values():
        if node["resource_type"] not in ("model", "seed"):
            continue
        if not node["description"].strip():
            undocumented.append(node["name"])
        documented = {c for c, spec in node["columns"].items() if spec["description"].strip()}
        if node["config"]["materialized"] == "ephemeral":  # no relation: its columns, documented
            undocumented += [f"{node['name']}.{c}" for c in node["columns"] if c not in documented]
            continue
        relation = (node["schema"], node["alias"])  # the file may be named otherwise
        columns = {c for s, t, c in built if (s, t) == relation}
        assert columns, f"{node['name']} was not built"
        undocumented += [f"{node['name']}.{c}" for c in sorted(columns - documented)]
        # No documentation of columns that do not exist.
        undocumented += [f"{node['name']}.{c} (stale)" for c in sorted(documented - columns)]
    assert not undocumented, undocumented


def test_the_staging_models_of_the_warehouse_contract(db):
    types = {
        (r["table_name"], r["column_name"]): r["data_type"]
        for r in query(
            db,
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'staging'",
        )
    }
    contract = {
        "stg_measurement_values": {
            "measurement_id": "VARCHAR",
            "study_id": "VARCHAR",
            "animal_id": "VARCHAR",
            "measured_on": "DATE",
            "calc_key": "VARCHAR",
            "calc_name": "VARCHAR",
            "unit": "VARCHAR",
            "value": "DOUBLE",
            "value_text": "VARCHAR",
            "formula": "VARCHAR",
            "excluded": "BOOLEAN",
        },
        "stg_measurement_variables": {
            "measurement_id": "VARCHAR",
            "calc_key": "VARCHAR",
            "variable_key": "VARCHAR",
            "unit": "VARCHAR",
            "value": "DOUBLE",
        },
        "stg_dosages": {
            "dosage_id": "VARCHAR",
            "study_id": "VARCHAR",
            "animal_id": "VARCHAR",
            "treatment_id": "VARCHAR",
            "measurement_id": "VARCHAR",
            "dosed_at": "TIMESTAMP WITH TIME ZONE",
            **{
                f"{q}_{part}": "DOUBLE" if part == "value" else "VARCHAR"
                for q in ("dose", "dose_volume", "stock", "volume")
                for part in ("value", "unit")
            },
            "weight_at_dosing": "DOUBLE",
        },
        "stg_entity_metadata": {
            "entity_type": "VARCHAR",
            "entity_id": "VARCHAR",
            "key": "VARCHAR",
            "value": "VARCHAR",
        },
    }
    for table, columns in contract.items():
        for column, sql_type in columns.items():
            assert types.get((table, column)) == sql_type, (table, column)
    # Numbers arrive as strings: the string is kept next to the DOUBLE.
    dose = one(db, "select * from staging.stg_dosages where animal_id = 't3' limit 1")
    assert (dose["stock_value"], dose["stock_value_text"]) in {(1.0, "1"), (2.0, "2")}
    meta = one(
        db,
        "select * from staging.stg_entity_metadata "
        "where entity_type = 'study_group' and entity_id = 'grp_t'",
    )
    assert (meta["key"], meta["value"]) == ("dosing-route", "PO")
