"""Row counts and column schemas on every dbt model's materialization, read in one go.

dagster-dbt's ``fetch_row_counts()`` / ``fetch_column_metadata()`` work with dbt-duckdb (they wait
for dbt to exit, then query through dbt's adapter), but they reopen the DuckDB file through the
adapter for every model, which cost CPU worth over half the build's own time (docs/performance.md),
and leave the file open read-only in this process, so the next writer in it is refused. Here, once
dbt has exited, one read-only connection reads every built table's row count and column types
(``information_schema``) in two queries, and the column descriptions come from the model docs in
the manifest. The metadata keys are Dagster's standard ones (``dagster/row_count``,
``dagster/column_schema``), so the UI shows them as it does for the raw tables.
"""

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import duckdb

from invivo_pipeline.warehouse.duckdb_file import open_reader
from invivo_pipeline.warehouse.schema import quote

Relation = tuple[str, str]
Event = TypeVar("Event")
UP_TO_DATE_KEY = "dbt_build"
"""The metadata key of a model's materialization when no build ran (``unchanged_results``)."""


def relation_stats(
    con: duckdb.DuckDBPyConnection, relations: Iterable[Relation]
) -> dict[Relation, tuple[int, list[tuple[str, str]]]]:
    """(schema, table) → (row count, [(column, type)]) for the relations that exist."""
    wanted = sorted(set(relations))
    if not wanted:
        return {}
    columns: dict[Relation, list[tuple[str, str]]] = {}
    for schema, table, column, data_type in con.execute(
        """
        select table_schema, table_name, column_name, data_type
        from information_schema.columns
        where list_contains(?, table_schema || '.' || table_name)
        order by table_schema, table_name, ordinal_position
        """,
        [[f"{s}.{t}" for s, t in wanted]],
    ).fetchall():
        columns.setdefault((schema, table), []).append((column, data_type))
    present = [r for r in wanted if r in columns]
    if not present:
        return {}
    counts = " union all ".join(
        f"select {i} as i, count(*) as n from {quote(s)}.{quote(t)}"
        for i, (s, t) in enumerate(present)
    )
    rows = dict(con.execute(counts).fetchall())
    return {r: (int(rows[i]), columns[r]) for i, r in enumerate(present)}


def _relation(node: Mapping[str, Any]) -> Relation:
    return node["schema"], node.get("alias") or node["name"]


def table_metadata(
    node: Mapping[str, Any], rows: int, columns: list[tuple[str, str]]
) -> dict[str, Any]:
    docs = node.get("columns") or {}
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(name, data_type, description=(docs.get(name) or {}).get("description"))
            for name, data_type in columns
        ]
    )
    return {"dagster/row_count": rows, "dagster/column_schema": schema}


def with_table_metadata(
    events: Iterable[Event], db_path: Path, manifest: Mapping[str, Any], busy_timeout: float
) -> Iterator[Event]:
    """``events`` (dbt's stream), each model's and seed's output with its row count and columns.

    The stream is drained first: DuckDB lets no reader in while dbt writes.
    """
    drained = list(events)
    built: dict[str, Mapping[str, Any]] = {}
    for event in drained:
        if isinstance(event, dg.Output | dg.AssetMaterialization):
            uid = _text(event.metadata.get("unique_id"))
            node = manifest["nodes"].get(uid) if uid else None
            if node is not None and node["resource_type"] in ("model", "seed"):
                built[uid] = node  # type: ignore[index]
    stats: dict[Relation, tuple[int, list[tuple[str, str]]]] = {}
    if built and db_path.exists():
        with open_reader(db_path, busy_timeout=busy_timeout) as con:
            stats = relation_stats(con, (_relation(n) for n in built.values()))
    for event in drained:
        uid = _text(getattr(event, "metadata", {}).get("unique_id"))
        node = built.get(uid) if uid else None
        found = stats.get(_relation(node)) if node else None
        if found is not None and isinstance(event, dg.Output | dg.AssetMaterialization):
            event = event.with_metadata({**event.metadata, **table_metadata(node, *found)})  # type: ignore[assignment]
        yield event


def _text(value: Any) -> str | None:
    """A metadata value as its plain string (dagster-dbt stores ``unique_id`` as text)."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def unchanged_results(
    built: Mapping[dg.AssetKey, Mapping[str, Any]], db_path: Path, busy_timeout: float
) -> Iterator[dg.MaterializeResult]:
    """A materialization of each model or seed in ``built`` (asset key → manifest node) with its
    row count and columns as they are, for a build not run because no input changed: the tables
    are checked current (the freshness policies see them so) and say why nothing was rebuilt."""
    with open_reader(db_path, busy_timeout=busy_timeout) as con:
        stats = relation_stats(con, (_relation(node) for node in built.values()))
    for key, node in built.items():
        found = stats.get(_relation(node))
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                **(table_metadata(node, *found) if found else {}),
                "unique_id": node["unique_id"],
                UP_TO_DATE_KEY: "not run: no input changed since the last build",
            },
        )
