"""A tenant's irregular records (``scenario.odd_study``): the data-quality findings warn and are
listed, the marts are built anyway, and the four mart defects of issue 16 stay fixed.

Expected numbers are worked out by hand from the volumes in ``scenario.py``.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import pytest
from pytest import approx

from invivo_pipeline.assets.dbt import DQ_TESTS
from invivo_pipeline.reports.build import write_reports
from invivo_pipeline_tests.support.dbt import DbtRun, dbt_build, one, query
from invivo_pipeline_tests.support.dbt_scenario import (
    DAY0,
    ODD_CONTROL,
    ODD_TREATED,
    UNMAPPED_REASON,
    draft_study,
    odd_study,
    two_control_study,
)

pytestmark = pytest.mark.slow  # end to end: see docs/development.md


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, DbtRun]:
    from invivo_pipeline_tests.support.dbt import load

    work = tmp_path_factory.mktemp("odd")
    path = work / "invivo.duckdb"
    load(path, [odd_study(), two_control_study(), draft_study()])
    return path, work, dbt_build(path, work)


@pytest.fixture(scope="module")
def db(built: tuple[Path, Path, DbtRun]) -> Path:
    return built[0]


def tgi(db: Path, group: str, day: int) -> dict:
    return one(
        db, "select * from marts.rpt_tgi_by_day where group_id = ? and study_day = ?", group, day
    )


# --- findings warn, are listed, and block nothing ---------------------------------------------


def test_findings_warn_and_every_mart_is_built(built):
    _, _, run = built
    assert run.returncode == 0, run.output[-4000:]
    statuses = run.statuses()
    assert {name: statuses[name] for name in DQ_TESTS if statuses[name] != "pass"} == {
        "assert_dose_matches_stock_times_dose_volume": "warn",
        "assert_no_measurement_after_termination": "warn",
        "assert_termination_reasons_mapped": "warn",
        "assert_no_body_weight_jumps": "warn",
        "assert_one_control_group_per_study": "warn",
        "assert_length_not_below_width": "warn",
    }
    # Nothing errored or was skipped: every model, the reports' marts included, was built.
    assert not [k for k, v in statuses.items() if v in ("error", "fail", "skipped")]
    assert statuses["dq_findings"] == "success"


def test_dq_findings_lists_each_finding_with_its_record_and_numbers(db):
    rows = query(db, "select * from marts.dq_findings")
    found = {(r["test_name"], r["study_id"], r["animal_id"], r["finding_on"]) for r in rows}

    def day(n: int) -> date:
        return DAY0 + timedelta(days=n)

    assert found == {
        ("assert_dose_matches_stock_times_dose_volume", "odd", "ot2", day(0)),
        ("assert_no_measurement_after_termination", "odd", "oc3", day(6)),
        ("assert_termination_reasons_mapped", "odd", "oc3", day(4)),
        ("assert_no_body_weight_jumps", "odd", "oz1", day(4)),
        ("assert_one_control_group_per_study", "twoctl", None, None),
        ("assert_length_not_below_width", "twoctl", "x1", day(2)),
    }
    assert len(rows) == len(found)  # one row per finding
    by_test = {r["test_name"]: r for r in rows}
    dose = by_test["assert_dose_matches_stock_times_dose_volume"]
    (dosage,) = query(db, "select dosage_id from staging.stg_dosages where animal_id = 'ot2'")
    assert dose["record_id"] == dosage["dosage_id"]
    assert dose["detail"].startswith(
        "recorded dose 20 mg/kg, stock 1 mg/ml × dose volume 10 ml/kg = 10 mg/kg"
    )
    late = by_test["assert_no_measurement_after_termination"]
    (measurement,) = query(
        db,
        "select distinct measurement_id from staging.stg_measurement_values "
        "where animal_id = 'oc3' and measured_on = ?",
        day(6),
    )
    assert late["record_id"] == measurement["measurement_id"]
    assert late["detail"] == "measured after the animal was terminated on 2026-01-14"
    reason = by_test["assert_termination_reasons_mapped"]
    assert UNMAPPED_REASON in reason["detail"] and reason["animal_name"] == "oc3"
    jump = by_test["assert_no_body_weight_jumps"]
    assert jump["detail"] == "body weight 25 g, +25.0 % since the previous weighing (limit 10 %)"
    control = by_test["assert_one_control_group_per_study"]
    assert control["detail"] == "2 control groups among 2 groups (exactly one expected)"


def test_each_tests_failing_rows_are_its_findings(built, db):
    _, _, run = built
    failures = {
        r["unique_id"].split(".")[2]: r["failures"]
        for r in run.results["results"]
        if r["unique_id"].split(".")[2] in DQ_TESTS
    }
    assert set(failures) == DQ_TESTS and len(DQ_TESTS) == 8
    listed = {
        r["test_name"]: r["n"]
        for r in query(db, "select test_name, count(*) as n from marts.dq_findings group by 1")
    }
    assert {k: v for k, v in failures.items() if v} == listed


def test_domain_test_severity_error_makes_a_finding_fail_the_build(built):
    path, work, _ = built
    run = dbt_build(
        path,
        work,
        "--select",
        "assert_one_control_group_per_study",
        "--vars",
        "{domain_test_severity: error}",
    )
    assert run.returncode == 1
    assert run.statuses() == {"assert_one_control_group_per_study": "fail"}


def test_the_study_page_lists_its_findings_escaped_or_says_there_are_none(db, tmp_path):
    written = write_reports(db, tmp_path)
    odd = written.pages["odd"].read_text()
    quality = odd[odd.index("<h2>Data quality</h2>") :]
    assert "4 findings on this study's records" in quality
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; cull" in quality
    assert "<script>" not in odd
    assert "recorded dose 20 mg/kg" in quality and "<td>oz1</td>" in quality
    draft = written.pages["draft"].read_text()
    assert "<h2>Data quality</h2>" in draft and "No data-quality findings" in draft


# --- issue 16, point 4: the four mart defects -----------------------------------------------------


def test_ln_v_is_null_on_days_without_a_tumour_volume(db):
    rows = query(
        db, "select tumor_volume_mm3, ln_v from marts.fct_animal_day where study_id = 'odd'"
    )
    without = [r for r in rows if r["tumor_volume_mm3"] is None]
    assert len(without) == 10  # day 6: weights only, every animal
    assert all(r["ln_v"] is None for r in without)
    # With a volume, ln of it floored at vol_floor (1 mm³): a zero volume gives ln 1 = 0.
    with_volume = [r for r in rows if r["tumor_volume_mm3"] is not None]
    assert all(r["ln_v"] == approx(math.log(max(r["tumor_volume_mm3"], 1))) for r in with_volume)


def test_delta_tgi_and_regression_are_null_when_the_control_did_not_change(db):
    mean_c0, mean_t0 = (
        mean([v[0] for v in ODD_CONTROL.values()]),
        mean([v[0] for v in ODD_TREATED.values()]),
    )
    for day in (0, 2):
        row = tgi(db, "grp_ot", day)
        # The control's mean is back at its baseline (by float arithmetic, within ~1e-13).
        assert abs(row["mean_c"] - row["mean_c0"]) < 1e-9
        assert (row["pct_dt_over_dc"], row["tgi_delta_pct"], row["regression_pct"]) == (
            None,
            None,
            None,
        )
        assert row["pct_t_over_c"] is not None  # the ratio form needs no change
    # Day 2's means differ from the baselines by rounding only, not by a change.
    day2 = tgi(db, "grp_ot", 2)
    assert day2["mean_c"] != day2["mean_c0"] and day2["mean_t"] != day2["mean_t0"]
    day4 = tgi(db, "grp_ot", 4)
    mean_t, mean_c = (
        mean([v[2] for v in ODD_TREATED.values()]),
        mean([v[2] for v in ODD_CONTROL.values()]),
    )
    assert day4["tgi_delta_pct"] == approx(100 * (1 - (mean_t - mean_t0) / (mean_c - mean_c0)))
    assert day4["regression_pct"] == approx(100 * (mean_t - mean_t0) / mean_t0)


def test_geometric_means_take_zeros_by_one_rule_and_never_exceed_the_mean(db):
    def summary(metric: str) -> dict:
        return one(
            db,
            "select * from marts.rpt_group_day_summary "
            "where group_id = 'grp_oz' and study_day = 4 and metric = ?",
            metric,
        )

    # Day 4 of G3: 0, 0, 0 and 50 mm³ from 100 mm³ each; shift s = geo_mean_shift_mm3 = 1 mm³,
    # and for RTV s = 1 mm³ / mean V0 (100 mm³).
    volume = summary("tumor_volume_mm3")
    assert volume["mean"] == approx(12.5)
    assert volume["geo_mean"] == approx(math.exp((3 * math.log(1) + math.log(51)) / 4) - 1)
    rtv = summary("rtv")
    assert rtv["mean"] == approx(0.125)
    assert rtv["geo_mean"] == approx(math.exp((3 * math.log(0.01) + math.log(0.51)) / 4) - 0.01)
    above = query(
        db,
        "select group_id, study_day, metric, mean, geo_mean from marts.rpt_group_day_summary "
        "where geo_mean > mean",
    )
    assert above == []
    assert one(db, "select count(geo_mean) as n from marts.rpt_group_day_summary")["n"] > 20


def test_the_termination_day_is_on_study_in_the_census_and_the_curves_alike(db):
    # oc3 left on day 4 (2026-01-14): on study that day in both, gone on day 5.
    census = {
        r["census_date"]: r["n_on_study"]
        for r in query(db, "select * from marts.rpt_study_census_daily where group_id = 'grp_oc'")
    }
    assert census[date(2026, 1, 14)] == 3 and census[date(2026, 1, 15)] == 2
    curve = one(
        db,
        "select n_on_study, n_measured from marts.rpt_group_day_summary "
        "where group_id = 'grp_oc' and study_day = 4 and metric = 'tumor_volume_mm3'",
    )
    assert (curve["n_on_study"], curve["n_measured"]) == (3, 3)
