"""What every raw-table asset shows in the UI, whichever source loads it: its key, column schema,
materialization metadata and check results. One place, so In Vivo and Cytobank tables read alike.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from invivo_pipeline.assets import run_observers as observers
from invivo_pipeline.assets.event_log import event_log_kept_open
from invivo_pipeline.core.batches import run_sync
from invivo_pipeline.core.resource_spec import Resource
from invivo_pipeline.warehouse import LoadSession, Warehouse, table_spec
from invivo_pipeline.warehouse.ingest_run import (
    IngestRun,
    OnPartition,
    QuarantineError,
    quarantine_line,
    strict_from_env,
)
from invivo_pipeline.warehouse.quality import (
    REJECTED_CHECK,
    Check,
    CheckOutcome,
    all_checks,
    run_check,
)
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


Fetch = Callable[[Any, LoadSession, "Selection"], Awaitable[IngestRun]]
"""Fetches a run's selection through the source's client and loads it in ``session``."""


@dataclass(frozen=True)
class Selection:
    """What one run of a source's step fetches: global tables, and per-partition tables for each
    partition key of the run."""

    global_names: list[str]
    partition_names: list[str]
    partition_keys: list[str]
    on_partition: OnPartition


@dataclass(frozen=True)
class RawTables:
    """A source's raw tables as Dagster sees them: what ``raw_tables_step`` needs to build one
    subsettable multi-asset over them, whatever the source."""

    name: str
    """The step's name (``invivo_ingestion``) and its asset group's prefix."""
    resources: Sequence[Resource]
    api_resource_key: str
    """The Dagster resource whose value ``fetch`` receives (``invivo_api``)."""
    fetch: Fetch
    partitions_def: dg.PartitionsDefinition | None = None
    group: str | None = None
    """The asset group; default: the tables' schema."""
    api_label: str = ""
    """How the description names a route: ``GET <api_label><path>``."""
    deps: Callable[[Resource], Sequence[str]] = lambda r: [r.parent] if r.parent else []
    """Names of the tables a table's asset depends on (its parent's, by default)."""

    @property
    def schema(self) -> str:
        return self.resources[0].schema

    def key(self, name: str) -> dg.AssetKey:
        return raw_asset_key(self.schema, name)

    def spec(self, resource: Resource) -> dg.AssetSpec:
        route = resource.route.path
        return dg.AssetSpec(
            key=self.key(resource.name),
            description=f"{resource.description}\n\nFrom `GET {self.api_label}{route}` into "
            f"`{self.schema}.{resource.name}` (primary key {', '.join(resource.primary_key)}).",
            group_name=self.group or self.schema,
            kinds={"duckdb", "python"},
            owners=OWNERS,
            deps=[self.key(name) for name in self.deps(resource)],
            partitions_def=self.partitions_def if resource.scope.partitioned else None,
            metadata={
                "dagster/table_name": f"{self.schema}.{resource.name}",
                "dagster/column_schema": column_schema(resource),
                "primary_key": ", ".join(resource.primary_key),
                "api_route": route,
                "scope": str(resource.scope),
            },
        )


def raw_tables_step(source: RawTables) -> dg.AssetsDefinition:
    """One asset per table of ``source``, all computed by one subsettable step in one transaction.

    One step (not one per table) because DuckDB has a single writer and the warehouse promises
    that a run commits everything or nothing: the step fetches what was selected (the global
    tables and, for every partition of the run, the per-partition tables) and loads it in one
    transaction. It also means one token and one connection pool per run. Selecting a single asset
    in the UI fetches and loads only that table."""
    checks = all_checks(source.resources)
    global_names = [r.name for r in source.resources if not r.scope.partitioned]
    partition_names = [r.name for r in source.resources if r.scope.partitioned]

    @dg.multi_asset(
        name=source.name,
        specs=[source.spec(r) for r in source.resources],
        check_specs=check_specs(source.schema, checks),
        can_subset=True,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool="duckdb_writer",
        required_resource_keys={source.api_resource_key, "warehouse"},
    )
    def step(  # context unannotated: a string annotation (PEP 563) is refused by Dagster
        context,
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        api = getattr(context.resources, source.api_resource_key)
        warehouse = context.resources.warehouse
        selected = {key.path[-1] for key in context.selected_asset_keys}
        names = [n for n in partition_names if n in selected]
        selection = Selection(
            global_names=[n for n in global_names if n in selected],
            partition_names=names,
            partition_keys=list(context.partition_keys) if names else [],
            on_partition=lambda key, results: _partition_done(context, key, results),
        )
        wh = warehouse.warehouse(source.resources)
        context.log.info(
            f"fetching {len(selection.global_names)} global tables and {len(names)} tables for "
            f"{len(selection.partition_keys)} partitions into {wh.path}"
        )
        ingested, counts = load_in_one_transaction(
            wh,
            selected,
            selected_checks(context, source.schema, checks),
            lambda session: source.fetch(api, session, selection),
            run_id=context.run.run_id,
        )
        # Dagster records one materialization per table and partition as these are yielded.
        with event_log_kept_open(context.instance, context.run.run_id):
            yield from asset_results(source.resources, ingested, counts)

    return step


def _partition_done(context: dg.AssetExecutionContext, key: str | None, results: list[Any]) -> None:
    written = sum(r.rows_written for r in results)
    context.log.debug(f"{'partition ' + key if key else 'global tables'}: {written} rows")
    observers.partition_done(key, results)
