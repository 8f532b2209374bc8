"""Conventions are dbt vars: changing one changes the reports, with no SQL edited."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from invivo_pipeline.assets.dbt import DBT_PROJECT_DIR
from invivo_pipeline.sources.invivo.simulator.generate import vocab
from invivo_pipeline_tests.support.dbt import StudyBuilder, dbt_build, load, one, query
from invivo_pipeline_tests.support.dbt_scenario import weighing_study, window_study

pytestmark = pytest.mark.slow  # end to end: see docs/development.md


def test_every_termination_reason_of_the_simulator_is_mapped_in_the_seed():
    seed = DBT_PROJECT_DIR / "seeds" / "seed_termination_reasons.csv"
    with seed.open(newline="") as f:
        mapped = {row["reason"]: row["reason_class"] for row in csv.DictReader(f)}
    assert set(vocab.EUTHANASIA_REASONS) <= set(mapped)
    assert mapped["Scheduled sacrifice"] == mapped["End of study"] == "scheduled"
    assert mapped["Tumour volume endpoint"] == mapped["Found dead"] == "event"


def built(work: Path, study: StudyBuilder, dbt_vars: str) -> Path:
    """The study loaded into a new warehouse under ``work``, and dbt built with ``dbt_vars``."""
    db = work / "invivo.duckdb"
    load(db, [study])
    run = dbt_build(db, work, "--vars", dbt_vars)
    assert run.returncode == 0, run.output[-4000:]
    return db


@pytest.fixture(scope="module")
def window_db(tmp_path_factory):
    return built(
        tmp_path_factory.mktemp("window"),
        window_study(),
        "{dose_window_days: 1, tte_method: interp}",
    )


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


@pytest.fixture(scope="module")
def weighing_db(tmp_path_factory):
    return built(tmp_path_factory.mktemp("weighing"), weighing_study(), "{weight_stale_days: 2}")


def test_each_dose_is_checked_against_the_nearest_weighing_within_the_stale_days(weighing_db):
    rows = query(
        weighing_db,
        "select dose_date, nearest_bw_g, wt_dev_pct from marts.rpt_dosing_compliance "
        "where dosage_id is not null order by dose_date",
    )
    # Weighed on days 0, 3, 10 and 12; with weight_stale_days 2, day 7 has none near enough
    # (4 days before, 3 after), and day 11 is as near day 10 as day 12: the earlier counts.
    nearest = {r["dose_date"].day - 10: r["nearest_bw_g"] for r in rows}
    assert nearest == {0: 20, 1: 20, 2: 23, 4: 23, 5: 23, 7: None, 10: 30, 11: 30}
    day2 = next(r for r in rows if r["dose_date"].day == 12)
    assert day2["wt_dev_pct"] == pytest.approx(100 * (20 - 23) / 23)  # dosed at 20 g


def test_dbt_s_duckdb_memory_limit_comes_from_the_environment(tmp_path):
    db = tmp_path / "invivo.duckdb"
    load(db, [weighing_study()])
    run = dbt_build(
        db, tmp_path, "--select", "stg_invivo__animals", env={"INVIVO_DBT_MEMORY_LIMIT": "1KB"}
    )
    assert run.returncode != 0
    assert "Out of Memory" in run.output, run.output[-2000:]
