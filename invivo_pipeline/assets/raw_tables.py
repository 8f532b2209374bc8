"""What every raw-table asset shows in the UI, whichever source loads it: its key, column schema,
materialization metadata and check results. One place, so In Vivo and Cytobank tables read alike.
"""

from __future__ import annotations

import dagster as dg

from invivo_pipeline.resource_table import Resource
from invivo_pipeline.sync.ingest import IngestRun
from invivo_pipeline.warehouse import table_spec
from invivo_pipeline.warehouse.quality import CheckOutcome

OWNERS = ["team:preclinical-data"]


def raw_asset_key(schema: str, table: str) -> dg.AssetKey:
    """``<schema>/<table>``: the asset key is the table's DuckDB name."""
    return dg.AssetKey([schema, table])


def column_schema(resource: Resource) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(c.name, str(c.type.value)) for c in table_spec(resource).columns]
    )


def materialization(resource: Resource, run: IngestRun, table_rows: int) -> dg.MaterializeResult:
    """Rows in the table and written by this run, and what the API cost (against its minimum)."""
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
            "dagster/column_schema": column_schema(resource),
        },
    )


def check_result(schema: str, outcome: CheckOutcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=outcome.check.name,
        asset_key=raw_asset_key(schema, outcome.check.table),
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"failures": outcome.failures, "sample": dg.MetadataValue.json(outcome.sample)},
        description=outcome.check.description,
    )
