"""``invivo sync`` against a hostile-but-plausible tenant (not the simulator): one bad record is
quarantined, never the whole sync; a dose that breaks the dose identity is a data-quality finding
(``marts.dq_findings``, the study page), never a failure; ``--strict`` turns any quarantine into
one clear failure. The same through a Dagster run of the whole job.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline_tests.support.cli import ROOT, Cli
from invivo_pipeline_tests.support.hostile_tenant import (
    BAD_DATE,
    BAD_DOSE,
    BAD_MEASUREMENT,
    STUDY,
    VANISHING_OBSERVATION,
    HostileTenant,
    credentials,
    hostile_tenant,
    reason_matches,
)
from invivo_pipeline_tests.support.stub_api import StubServer

pytestmark = pytest.mark.slow  # end to end: see docs/development.md

KEY = {"metadata_options": "value", "study_presets": "study_id"}


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    stub = StubServer().start()
    yield stub
    stub.stop()


def hostile_tenant_on(server: StubServer) -> HostileTenant:
    tenant = hostile_tenant()
    tenant.serve_on(server)
    return tenant


def sync(cli: Cli, server: StubServer, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        cli.command("sync", "--quiet", *args),
        cwd=ROOT,
        env={**cli.env, **credentials(server), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def stored(db: Path) -> dict[str, dict[str, dict]]:
    """Table → key → ``_record``, read from the file."""
    out: dict[str, dict[str, dict]] = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for resource in RESOURCES:
            key = KEY.get(resource.name, "id")
            rows = con.execute(
                f"SELECT {key}, CAST(_record AS VARCHAR) FROM invivo_raw.{resource.name}"
            ).fetchall()
            out[resource.name] = {k: json.loads(r) for k, r in rows}
    return out


def rejected(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT table_name, partition_key, record_id, record, reason, run_id, first_seen, "
            "last_seen FROM invivo_raw._rejected ORDER BY table_name, record_id"
        ).fetchall()


def dq_findings(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT test_name, study_id, record_id, detail FROM marts.dq_findings"
        ).fetchall()


def assert_the_dose_finding_is_reported(db: Path) -> list[tuple]:
    """The dose that breaks the dose identity is a finding in ``marts.dq_findings`` and on the
    study's page: reported, loaded, never a failure."""
    findings = dq_findings(db)
    dose = [f for f in findings if f[2] == BAD_DOSE]
    assert [f[:3] for f in dose] == [
        ("assert_dose_matches_stock_times_dose_volume", STUDY, BAD_DOSE)
    ], findings
    [page] = [p for p in (db.parent / "reports").glob("*.html") if p.name != "index.html"]
    html = page.read_text()
    section = html[html.index("Data quality") :]
    assert BAD_DOSE in section and f"{len(findings)} finding" in section
    return findings


def assert_loaded(db: Path, tenant: HostileTenant) -> dict[str, dict[str, dict]]:
    tables = stored(db)
    for table, ids in tenant.expected().items():
        assert set(tables[table]) == ids, table
    return tables


def test_bad_records_are_quarantined_the_rest_loads_and_a_fix_clears_them(cli, server):
    tenant = hostile_tenant_on(server)

    first = sync(cli, server)

    assert first.returncode == 0, first.stderr
    assert "quarantined 1 record in 1 table (see invivo_raw._rejected)" in first.stdout
    tables = assert_loaded(cli.db, tenant)
    findings = assert_the_dose_finding_is_reported(cli.db)
    assert f"data quality: {len(findings)} finding" in first.stdout
    doses = {d["id"]: d for d in tables["dosages"].values()}
    assert doses["dsg_hostile0001"]["measurement"]["id"] is None  # as sent
    assert doses["dsg_hostile0003"]["weight_at_dosing"] == 20.5
    assert tables["users"]["usr_hostile0002"]["favourite_colour"] == "teal"
    with duckdb.connect(str(cli.db), read_only=True) as con:
        links = dict(con.execute("SELECT id, measurement_id FROM invivo_raw.dosages").fetchall())
        weight = con.execute(
            "SELECT weight_at_dosing FROM invivo_raw.dosages WHERE id = 'dsg_hostile0003'"
        ).fetchall()
    assert links["dsg_hostile0001"] is None and links["dsg_hostile0002"] is None
    assert links["dsg_hostile0003"] == "mst_hostile_aml_hostile0006_0"
    assert weight == [("20.5",)]
    [row] = rejected(cli.db)
    table, partition, record_id, record, reason, run_id, first_seen, last_seen = row
    assert (table, partition, record_id) == ("measurements", STUDY, BAD_MEASUREMENT)
    assert json.loads(record)["measured_at"] == BAD_DATE
    assert reason_matches(tenant.rejected[(table, record_id)], reason), reason
    assert run_id and first_seen == last_seen

    # Unchanged at the source: the reject is seen again, first_seen kept.
    again = sync(cli, server)
    assert again.returncode == 0, again.stderr
    [row_again] = rejected(cli.db)
    assert row_again[6] == first_seen and row_again[7] > last_seen and row_again[5] != run_id

    # The date is corrected and an observation deleted at the source.
    tenant.next_sync()
    fixed = sync(cli, server)
    assert fixed.returncode == 0, fixed.stderr
    assert "quarantined" not in fixed.stdout
    tables = assert_loaded(cli.db, tenant)
    assert BAD_MEASUREMENT in tables["measurements"]
    assert VANISHING_OBSERVATION not in tables["observations"]
    assert rejected(cli.db) == []


@pytest.mark.parametrize("how", ["--strict", "INVIVO_STRICT=1"])
def test_strict_makes_a_quarantine_one_clear_failure_and_loads_nothing(cli, server, how):
    hostile_tenant_on(server)
    args, env = (("--strict",), {}) if how == "--strict" else ((), {"INVIVO_STRICT": "1"})

    result = sync(cli, server, *args, **env)

    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: strict mode: would quarantine 1 record in 1 table")
    assert BAD_MEASUREMENT in lines[0] and BAD_DATE in lines[0]
    with duckdb.connect(str(cli.db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM invivo_raw.measurements").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM invivo_raw._rejected").fetchall() == [(0,)]


# --- the same through a Dagster run of the job ----------------------------------------------------


def _run_job(tmp_path: Path, *, ingestion_only: bool = False) -> dg.ExecuteInProcessResult:
    """The ``invivo_sync`` job for the tenant's study: every asset (ingestion, dbt, reports), or
    only the ingestion assets."""
    from invivo_pipeline.cli.sync_run import run_config
    from invivo_pipeline.definitions import defs
    from invivo_pipeline.sources.invivo.assets import asset_key
    from invivo_pipeline.sources.invivo.partitions import STUDY_PARTITIONS_NAME
    from invivo_pipeline.warehouse import Warehouse

    inst = dg.DagsterInstance.ephemeral()
    inst.add_dynamic_partitions(STUDY_PARTITIONS_NAME, [STUDY])
    job = defs.resolve_job_def("invivo_sync")
    return job.execute_in_process(
        instance=inst,
        partition_key=STUDY,
        asset_selection=[asset_key(r.name) for r in RESOURCES] if ingestion_only else None,
        raise_on_error=False,
        run_config=run_config(Warehouse(tmp_path / "invivo.duckdb", resources=RESOURCES)),
    )


def test_a_dagster_run_loads_the_good_records_and_warns_on_the_table_with_rejects(
    server, tmp_path, monkeypatch
):
    tenant = hostile_tenant_on(server)
    for name, value in credentials(server).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("INVIVO_STRICT", raising=False)

    result = _run_job(tmp_path)

    assert result.success
    assert_loaded(tmp_path / "invivo.duckdb", tenant)
    assert_the_dose_finding_is_reported(tmp_path / "invivo.duckdb")
    checks = {
        (e.asset_key.path[-1], e.check_name): e
        for e in (
            event.asset_check_evaluation_data
            for event in result.all_events
            if event.event_type_value == "ASSET_CHECK_EVALUATION"
        )
    }
    warned = checks[("measurements", "no_rejected_records")]
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert warned.description.startswith("1 records set aside in invivo_raw._rejected")
    assert warned.metadata["failures"].value == 1
    [dose_identity] = [
        check
        for (_, name), check in checks.items()
        if name == "assert_dose_matches_stock_times_dose_volume"
    ]
    assert not dose_identity.passed and dose_identity.severity == dg.AssetCheckSeverity.WARN
    failed = {key for key, check in checks.items() if not check.passed}
    assert all(checks[key].severity == dg.AssetCheckSeverity.WARN for key in failed), failed


def test_a_strict_dagster_run_fails_in_one_line_and_loads_nothing(server, tmp_path, monkeypatch):
    from invivo_pipeline.cli.sync_run import _failure_line

    hostile_tenant_on(server)
    for name, value in credentials(server).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("INVIVO_STRICT", "1")

    result = _run_job(tmp_path, ingestion_only=True)

    assert not result.success
    line = _failure_line(result)
    assert line.startswith("strict mode: would quarantine 1 record in 1 table")
    assert BAD_MEASUREMENT in line and "\n" not in line
    with duckdb.connect(str(tmp_path / "invivo.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM invivo_raw.animals").fetchall() == [(0,)]
