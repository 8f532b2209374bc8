"""Conventions are dbt vars: changing one changes the reports, with no SQL edited."""

from __future__ import annotations

import csv
import math

import pytest

from invivo_pipeline.assets.dbt import DBT_PROJECT_DIR
from invivo_pipeline.simulator import vocab
from invivo_pipeline_tests.test_dbt.scenario import window_study
from invivo_pipeline_tests.test_dbt.support import dbt_build, load, one, query


def test_every_termination_reason_of_the_simulator_is_mapped_in_the_seed():
    seed = DBT_PROJECT_DIR / "seeds" / "seed_termination_reasons.csv"
    with seed.open(newline="") as f:
        mapped = {row["reason"]: row["reason_class"] for row in csv.DictReader(f)}
    assert set(vocab.EUTHANASIA_REASONS) <= set(mapped)
    assert mapped["Scheduled sacrifice"] == mapped["End of study"] == "scheduled"
    assert mapped["Tumour volume endpoint"] == mapped["Found dead"] == "event"


@pytest.fixture(scope="module")
def window_db(tmp_path_factory):
    work = tmp_path_factory.mktemp("window")
    db = work / "invivo.duckdb"
    load(db, [window_study()])
    run = dbt_build(db, work, "--vars", "{dose_window_days: 1, tte_method: interp}")
    assert run.returncode == 0, run.output[-4000:]
    return db


def test_a_dose_window_matches_a_late_dose_to_the_missed_day(window_db):
    rows = query(
        window_db,
        "select planned_date, dose_date, status from marts.rpt_dosing_compliance "
        "order by coalesce(planned_date, dose_date), dose_seq",
    )
    # Planned days 0-3; day 2 had no dose and day 3 two: within ±1 day the second dose of day 3
    # is the late dose of day 2 (with the default window of 0 they are "missed" and "extra").
    assert [(r["planned_date"].day, r["dose_date"].day, r["status"]) for r in rows] == [
        (10, 10, "given"),
        (11, 11, "given"),
        (12, 13, "off_schedule"),
        (13, 13, "given"),
    ]
    summary = one(window_db, "select * from marts.rpt_dosing_compliance_by_group")
    assert (summary["n_planned"], summary["n_given"], summary["n_off_schedule"]) == (4, 3, 1)


def test_interpolated_time_to_the_tumour_endpoint(window_db):
    row = one(
        window_db,
        "select * from marts.fct_animal_time_to_event "
        "where animal_id = 'wc' and endpoint_type = 'tumor_volume'",
    )
    # 1000 on day 2, 4000 on day 3: ln V crosses ln 2000 exactly half-way.
    assert row["method"] == "interp"
    assert row["time_days"] == pytest.approx(2 + (math.log(2000) - math.log(1000)) / math.log(4))
    assert row["time_days"] == pytest.approx(2.5)
    assert row["time_days_first_obs"] == 3
