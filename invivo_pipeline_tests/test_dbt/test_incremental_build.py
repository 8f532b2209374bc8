"""dbt rebuilds only the studies whose records changed, and what it leaves is what a full rebuild
of the same warehouse leaves, table for table and row for row."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from invivo_pipeline.assets.dbt import (
    BUILT_NODES,
    BUILT_RELATIONS,
    PARTITIONED_RELATIONS,
    PROJECT_KEY,
    build_target,
    dbt_cli,
    dbt_project,
    invivo_dbt,
)
from invivo_pipeline.assets.dbt_metadata import UP_TO_DATE_KEY
from invivo_pipeline.assets.warehouse_resource import WarehouseResource
from invivo_pipeline.marts import scope as marts_scope
from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import TableLoad, Warehouse
from invivo_pipeline.warehouse.catalog import registered
from invivo_pipeline_tests.support.dbt import Batch
from invivo_pipeline_tests.support.reports import copy_of

pytestmark = pytest.mark.slow

BUILT_SCHEMAS = ("staging", "intermediate", "marts")


def _materialize(db: Path, *, full_refresh: bool = False) -> dg.ExecuteInProcessResult:
    """The Dagster dbt asset, as a run builds it, against ``db``."""
    return dg.materialize(
        [invivo_dbt],
        resources={
            "dbt": dbt_cli(dbt_project),
            "warehouse": WarehouseResource(path=str(db)),
        },
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"ops": {"invivo_dbt": {"config": {"full_refresh": full_refresh}}}},
        raise_on_error=False,
    )


def _build(db: Path, *, full_refresh: bool = False) -> dg.ExecuteInProcessResult:
    result = _materialize(db, full_refresh=full_refresh)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def _plan(db: Path) -> marts_scope.MartsScope:
    with duckdb.connect(str(db)) as con:
        return marts_scope.plan(
            con, project=PROJECT_KEY, partitioned=PARTITIONED_RELATIONS, built=BUILT_RELATIONS
        )


def _tables(db: Path) -> dict[str, pd.DataFrame]:
    """Every table dbt built, its rows in one order, its columns by name."""
    with duckdb.connect(str(db), read_only=True) as con:
        names = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() "
            "where schema_name in (select unnest(?::varchar[])) order by 1",
            [list(BUILT_SCHEMAS)],
        ).fetchall()
        frames = {}
        for (name,) in names:
            frame = con.execute(f"select * from {name}").df()
            frame = frame[sorted(frame.columns)]
            frames[name] = frame.sort_values(
                list(frame.columns), ignore_index=True, key=lambda c: c.astype(str)
            )
        return frames


def _change_one_study(db: Path) -> str:
    """Reload one study's measurements as the API might send them a day later: one tumour
    measured again with another value, one measurement deleted."""
    with duckdb.connect(str(db), read_only=True) as con:
        (study_id,) = con.execute(
            "select study_id from marts.rpt_growth_model group by all order by count(*) desc, 1 "
            "limit 1"
        ).fetchone()
        records = [
            json.loads(r[0])
            for r in con.execute(
                "select _record from invivo_raw.measurements where study_id = ? order by id",
                [study_id],
            ).fetchall()
        ]
    remeasured = next(
        c
        for r in records
        for c in r["calculations"]
        if c["key"] in ("tumour_volume", "tumor_volume") and float(c["value"]) > 50
    )
    remeasured["value"] = str(round(float(remeasured["value"]) * 1.7, 2))
    del records[len(records) // 2]
    warehouse = Warehouse(db, resources=RESOURCES, ensure_also=registered())
    result = warehouse.load(
        "measurements",
        [Batch("measurements", {"study_id": study_id}, records)],
        partition_key=study_id,
    )
    assert not result.unchanged
    return study_id


def _assert_a_full_rebuild_leaves_the_same(
    db: Path, incremental: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    full_db = copy_of(db, tmp_path / "full")
    _build(full_db, full_refresh=True)
    full = _tables(full_db)
    assert set(incremental) == set(full)
    for name, frame in full.items():
        pd.testing.assert_frame_equal(incremental[name], frame, check_exact=False, rtol=1e-9)


def test_one_changed_study_is_rebuilt_and_the_marts_equal_a_full_rebuild(materialized, tmp_path):
    db = copy_of(materialized.db, tmp_path / "incremental")
    # The sync recorded what it built from: nothing has changed since.
    nothing = _plan(db)
    assert nothing.studies == (), nothing.describe()
    studies = len(nothing.inputs.studies)
    assert studies >= 5

    changed = _change_one_study(db)
    scope = _plan(db)
    assert scope.studies == (changed,), scope.describe()
    before = _tables(db)
    _build(db)
    assert _plan(db).studies == (), "a build that succeeded is recorded"
    incremental = _tables(db)
    assert any(not frame.equals(before[name]) for name, frame in incremental.items()), (
        "the build changed the changed study's rows"
    )

    _assert_a_full_rebuild_leaves_the_same(db, incremental, tmp_path)
    assert len(PARTITIONED_RELATIONS) >= 30


def test_with_no_input_changed_dbt_does_not_run_and_the_marts_are_recorded_as_they_are(
    materialized, tmp_path
):
    db = copy_of(materialized.db, tmp_path / "warehouse")
    assert _plan(db).up_to_date
    before = _tables(db)
    result = _build(db)
    assert not build_target(db).exists(), "dbt ran: it writes its artifacts there"
    assert not [e for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    materialized_now = {
        e.asset_key: e.materialization.metadata for e in result.get_asset_materialization_events()
    }
    assert set(materialized_now) == set(BUILT_NODES), "every table is checked current"
    assert all(UP_TO_DATE_KEY in metadata for metadata in materialized_now.values())
    overview = materialized_now[dg.AssetKey(["marts", "rpt_study_overview"])]
    assert overview["dagster/row_count"].value == len(before["marts.rpt_study_overview"])
    after = _tables(db)
    assert set(after) == set(before)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame)

    # A table a build makes that is not there (here a tenant-wide one) is built again.
    tenant_wide = sorted(BUILT_RELATIONS - PARTITIONED_RELATIONS)[0]
    with duckdb.connect(str(db)) as con:
        con.execute(f"drop table {tenant_wide[0]}.{tenant_wide[1]}")
    assert not _plan(db).up_to_date
    _build(db)
    assert build_target(db).exists()
    assert _plan(db).up_to_date


def test_a_tenant_wide_change_or_a_missing_table_rebuilds_every_study(materialized, tmp_path):
    db = copy_of(materialized.db, tmp_path / "warehouse")
    with duckdb.connect(str(db)) as con:
        con.execute("drop table marts.rpt_km_curve")
    assert _plan(db).describe() == "dbt builds every study (marts.rpt_km_curve is missing)"
    _build(db)
    assert _plan(db).studies == ()
    with duckdb.connect(str(db)) as con:
        assert con.execute("select count(*) from marts.rpt_km_curve").fetchall()[0][0] > 0
        con.execute(
            "update invivo_raw._load_state set fingerprint = 'other' where table_name = 'users'"
        )
        assert (
            marts_scope.plan(con, project="another", partitioned=PARTITIONED_RELATIONS).reason
            == "the dbt project or the statistics code changed"
        )
    assert _plan(db).reason == "a tenant-wide table changed"


def test_a_failed_build_leaves_its_studies_for_the_next(materialized, tmp_path):
    db = copy_of(materialized.db, tmp_path / "warehouse")
    changed = _change_one_study(db)
    with duckdb.connect(str(db)) as con:
        # A model the build cannot write into: the build fails, and records nothing.
        con.execute("alter table marts.rpt_study_overview rename column study_name to other")
    assert not _materialize(db).success
    with duckdb.connect(str(db)) as con:
        assert not marts_scope._exists(con, marts_scope.SCOPE_TABLE), "the scope is dropped"
    assert changed in (_plan(db).studies or ())


def test_a_study_the_api_no_longer_lists_leaves_the_marts(materialized, tmp_path):
    db = copy_of(materialized.db, tmp_path / "incremental")
    with duckdb.connect(str(db), read_only=True) as con:
        (gone,) = con.execute(
            "select study_id from marts.fct_animal_day group by all order by count(*) desc limit 1"
        ).fetchone()
        studies = [json.loads(r[0]) for r in con.execute(
            "select _record from invivo_raw.studies where id <> ? order by id", [gone]
        ).fetchall()]  # fmt: skip
    # What a sync does when the list of studies no longer holds one: one transaction.
    warehouse = Warehouse(db, resources=RESOURCES, ensure_also=registered())
    with warehouse.session() as session:
        session.purge_partitions_except([s["id"] for s in studies])
        session.load_many([TableLoad("studies", [Batch("studies", {}, studies)])])
    assert _plan(db).studies == (gone,)
    before = _tables(db)
    _build(db)
    incremental = _tables(db)
    for name in ("marts.dim_animal", "marts.fct_animal_day", "marts.rpt_group_efficacy_summary"):
        assert gone in set(before[name]["study_id"]) and gone not in set(
            incremental[name]["study_id"]
        )
    _assert_a_full_rebuild_leaves_the_same(db, incremental, tmp_path)
