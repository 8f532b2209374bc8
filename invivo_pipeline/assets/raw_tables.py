"""What every raw-table asset shows in the UI, whichever source loads it: its key, column schema,
materialization metadata and check results. One place, so In Vivo and Cytobank tables read alike.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator, Sequence

import dagster as dg

from invivo_pipeline.client import run_sync
from invivo_pipeline.resource_table import Resource
from invivo_pipeline.sync import observers
from invivo_pipeline.sync.ingest import (
    IngestRun,
    QuarantineError,
    quarantine_line,
    strict_from_env,
)
from invivo_pipeline.warehouse import LoadSession, Warehouse, table_spec
from invivo_pipeline.warehouse.quality import REJECTED_CHECK, Check, CheckOutcome, run_check
from invivo_pipeline.warehouse.schema import REJECTED_TABLE, quote

OWNERS = ["team:preclinical-data"]


def raw_asset_key(schema: str, table: str) -> dg.AssetKey:
    """``<schema>/<table>``: the asset key is the table's DuckDB name."""
    return dg.AssetKey([schema, table])


def column_schema(resource: Resource) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(c.name, str(c.type.value)) for c in table_spec(resource).columns]
    )


def materialization(resource: Resource, run: IngestRun, table_rows: int) -> dg.MaterializeResult:
    """Rows in the table and written by this run, and what the API cost (against its minimum).

    The column schema is not repeated here: it is on the asset's definition, and a run over many
    partitions records this metadata once per partition (a fifth of that event's storage cost).
    """
    api = run.metrics.get("resources", {}).get(resource.name, {})
    loads = run.partitions(resource.name)
    return dg.MaterializeResult(
        asset_key=raw_asset_key(resource.schema, resource.name),
        metadata={
            "dagster/row_count": table_rows,
            "rows_loaded": sum(r.rows_written for r in loads),
            "partitions_loaded": len(loads),
            "partitions_unchanged": sum(r.unchanged for r in loads),
            "requests": api.get("requests", 0),
            "minimum_requests": api.get("minimum_requests", 0),
            "pages": api.get("pages", 0),
            "retries": api.get("retries", 0),
            "api_seconds": dg.MetadataValue.float(round(api.get("seconds", 0.0), 3)),
            "load_seconds": dg.MetadataValue.float(round(sum(r.seconds for r in loads), 3)),
            "run_seconds": dg.MetadataValue.float(round(run.seconds, 3)),
        },
    )


_SEVERITY = {"error": dg.AssetCheckSeverity.ERROR, "warn": dg.AssetCheckSeverity.WARN}


def check_result(schema: str, outcome: CheckOutcome) -> dg.AssetCheckResult:
    check = outcome.check
    description = check.description
    if not outcome.passed and check.name == REJECTED_CHECK:
        description = f"{outcome.failures} records set aside in {schema}._rejected: {description}"
    return dg.AssetCheckResult(
        check_name=check.name,
        asset_key=raw_asset_key(schema, check.table),
        passed=outcome.passed,
        severity=_SEVERITY[check.severity],
        metadata={"failures": outcome.failures, "sample": dg.MetadataValue.json(outcome.sample)},
        description=description,
    )


def check_specs(schema: str, checks: Sequence[Check]) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(c.name, asset=raw_asset_key(schema, c.table), description=c.description)
        for c in checks
    ]


def selected_checks(
    context: dg.AssetExecutionContext, schema: str, checks: Sequence[Check]
) -> list[Check]:
    """The checks of this run's selection (a subset run selects its own)."""
    keys = context.selected_asset_check_keys
    return [c for c in checks if dg.AssetCheckKey(raw_asset_key(schema, c.table), c.name) in keys]


def load_in_one_transaction(
    wh: Warehouse,
    selected: set[str],
    checks: Sequence[Check],
    fetch: Callable[[LoadSession], Awaitable[IngestRun]],
    *,
    run_id: str | None = None,
    strict: bool | None = None,
) -> tuple[IngestRun, dict[str, int]]:
    """Run ``fetch`` in one warehouse session, then the checks and row counts inside the same
    transaction (so they judge exactly what is committed); returns the run and rows per table.

    ``strict`` (default: ``INVIVO_STRICT``) makes any record set aside fail the run before the
    commit, in one line naming the count and the first reason."""
    schema_of = {name: spec.schema for name, spec in wh.specs.items()}
    strict = strict_from_env(os.environ) if strict is None else strict

    async def run() -> tuple[IngestRun, dict[str, int]]:
        with wh.session(run_id) as session:
            ingested = await fetch(session)
            if strict and (line := quarantine_line(ingested, _schema(wh))):
                raise QuarantineError(_strict_failure(session, line, _schema(wh)))
            ingested.checks = [run_check(c, session.query) for c in checks]
            counts = {
                name: int(session.query(f"SELECT count(*) FROM {schema_of[name]}.{name}")[0][0])
                for name in selected
            }
        return ingested, counts

    ingested, counts = run_sync(run())
    observers.run_done(ingested)
    return ingested, counts


def _schema(wh: Warehouse) -> str:
    return next(iter(wh.specs.values())).schema


def _strict_failure(session: LoadSession, line: str, schema: str) -> str:
    table, record_id, reason = session.query(
        f"SELECT table_name, coalesce(record_id, '(no id)'), reason "
        f"FROM {quote(schema)}.{quote(REJECTED_TABLE)} WHERE run_id = ? "
        "ORDER BY table_name, partition_key, record_id LIMIT 1",
        [session.run_id],
    )[0]
    return (
        f"strict mode: {line.replace('quarantined', 'would quarantine', 1)}, e.g. "
        f"{schema}.{table} {record_id}: {reason}; nothing was loaded"
    )


def asset_results(
    resources: Sequence[Resource], ingested: IngestRun, counts: dict[str, int]
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """One materialization per loaded table, then one result per check."""
    for resource in resources:
        if resource.name in counts:
            yield materialization(resource, ingested, counts[resource.name])
    schema_of = {r.name: r.schema for r in resources}
    for outcome in ingested.checks:
        yield check_result(schema_of[outcome.check.table], outcome)
