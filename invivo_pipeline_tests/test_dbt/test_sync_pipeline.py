"""``invivo sync`` end to end against the simulator: ingestion, then every dbt model and test in
the same Dagster run, and reports that show what the simulated biology put in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from invivo_pipeline.assets.dbt import MANIFEST
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline_tests.support.dbt import query
from invivo_pipeline_tests.support.materialized import sync_into

pytestmark = pytest.mark.slow  # end to end: see docs/development.md

ROOT = Path(__file__).resolve().parents[2]
# The default world: five studies (in progress, completed, tox, draft, canceled), five groups each
# (vehicle, then 1, 10, 30, 100 mg/kg in oncology), 40 animals, 21 days; and one combination study
# (vehicle, A, B, A + B), so that the synergy mart has rows.
WORLD = WorldConfig(seed=7, studies=5, animals_per_study=40, days=21, combination_studies=1)


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """Cytobank off: its marts must still build, empty."""
    db = tmp_path_factory.mktemp("sync") / "invivo.duckdb"
    stdout, _ = sync_into(db, WORLD, cytobank=False)
    return stdout, db


def test_the_sync_builds_every_model_and_passes_every_test(synced):
    stdout, db = synced
    models = [
        n
        for n in MANIFEST["nodes"].values()
        if n["resource_type"] == "model" and n["config"]["materialized"] != "ephemeral"
    ]
    tests = [n for n in MANIFEST["nodes"].values() if n["resource_type"] == "test"]
    found = re.search(r"dbt: (\d+) models, (\d+) tests passed(.*)", stdout)
    assert found, stdout
    assert (int(found[1]), int(found[2])) == (len(models), len(tests))
    assert "warned" not in found[3]  # not even a warn-severity test fails on simulated data
    for model in models:
        schema, name = model["schema"], model["alias"]  # the relation, named in the contract
        rows = query(db, f"select count(*) as n from {schema}.{name}")[0]["n"]
        if name == "dq_findings":
            assert rows == 0, "the simulator's records break no data-quality rule"
        elif _reads_cytobank(model):
            # Cytobank is not configured here: its models build, over empty cytobank_raw tables.
            assert rows == 0, f"{schema}.{name} has rows without Cytobank"
        else:
            assert rows > 0, f"{schema}.{name} is empty"


def _reads_cytobank(node: dict) -> bool:
    parents = node.get("depends_on", {}).get("nodes", [])
    return any(
        (p.startswith("source.") and ".cytobank_raw." in p)
        or (p.startswith("model.") and _reads_cytobank(MANIFEST["nodes"][p]))
        for p in parents
    )


def test_treated_groups_inhibit_growth_by_dose_and_the_lowest_dose_acts_like_vehicle(synced):
    _, db = synced
    rows = query(
        db,
        """
        select t.study_id, g.group_no, t.tgi_delta_pct, t.tgi_ratio_pct
        from marts.rpt_tgi_by_day as t
        inner join staging.stg_study_groups as g on t.group_id = g.group_id
        inner join staging.stg_studies as s on t.study_id = s.study_id
        where t.is_eval_day and s.study_name not like '%combination%'
        order by t.study_id, g.group_no
        """,
    )
    studies = {r["study_id"] for r in rows}
    # The dose-response oncology studies with data (not the draft, not the tox study, not the
    # factorial combination study, whose groups are A, B and A + B: test_growth_model_marts).
    assert len(studies) == 3
    for study in studies:
        by_group = {r["group_no"]: r for r in rows if r["study_id"] == study}
        # G2 (1 mg/kg) is the simulator's no-effect dose: it grows like the vehicle.
        assert abs(by_group[2]["tgi_delta_pct"]) < 25, by_group[2]
        assert abs(by_group[2]["tgi_ratio_pct"]) < 25, by_group[2]
        # G3-G5 (10, 30, 100 mg/kg) inhibit growth, more with more drug.
        tgis = [by_group[n]["tgi_delta_pct"] for n in (3, 4, 5)]
        assert all(t > 40 for t in tgis), tgis
        assert tgis == sorted(tgis), tgis
        assert by_group[5]["tgi_ratio_pct"] > by_group[3]["tgi_ratio_pct"]


def test_the_simulated_dosing_and_census_add_up(synced):
    _, db = synced
    statuses = {
        r["status"]: r["n"]
        for r in query(
            db, "select status, count(*) as n from marts.rpt_dosing_compliance group by status"
        )
    }
    # The simulator doses every planned day except while body-weight loss is >= 15 % and on the
    # day a humane endpoint ends an animal; it never doses the wrong amount or off schedule.
    assert statuses.get("given", 0) > 1000
    assert set(statuses) <= {"given", "held", "terminated"}
    overview = query(db, "select * from marts.rpt_study_overview order by study_code")
    assert {r["status"] for r in overview} == {"in_progress", "completed", "draft", "canceled"}
    for study in overview:
        assert study["n_control_groups"] == 1
        assert study["n_on_study"] + study["n_terminated"] == study["n_animals_enrolled"]
        if study["status"] in ("completed", "canceled"):
            assert study["n_on_study"] == 0
        if study["n_animals_enrolled"]:
            assert study["data_completeness_pct"] > 95
