"""Data checks on the raw schemas (``invivo_raw``, ``cytobank_raw``), generated from the resource table and the record models.

Each check is one SQL query answering ``(failures, sample)``: how many rows break the rule and a
few of them to look at. The Dagster layer turns them into asset checks; they are plain SQL so that
an analyst can run the same query by hand.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import AfterValidator, BaseModel

from invivo_pipeline.core.model_fields import parses_as_decimal
from invivo_pipeline.core.resource_spec import Resource
from invivo_pipeline.warehouse.schema import REJECTED_TABLE, quote

SAMPLE_SIZE = 5
REJECTED_CHECK = "no_rejected_records"


@dataclass(frozen=True)
class Check:
    name: str
    table: str
    description: str
    sql: str
    """Returns one row: (failures, sample), sample being a list of offending keys or values."""
    severity: Literal["error", "warn"] = "error"
    """``warn`` for what the source's data holds (the pipeline did its job), ``error`` for what
    means the pipeline itself is wrong."""


@dataclass(frozen=True)
class CheckOutcome:
    check: Check
    failures: int
    sample: list[Any]

    @property
    def passed(self) -> bool:
        return self.failures == 0


def _qualified(table: str, schema: str) -> str:
    return f"{quote(schema)}.{quote(table)}"


def primary_key_check(resource: Resource) -> Check:
    keys = ", ".join(quote(k) for k in resource.primary_key)
    key_text = " || '/' || ".join(
        f"coalesce(CAST({quote(k)} AS VARCHAR), '∅')" for k in resource.primary_key
    )
    nulls = " OR ".join(f"{quote(k)} IS NULL" for k in resource.primary_key)
    sql = (
        f"SELECT coalesce(sum(n), 0), list(k ORDER BY k)[1:{SAMPLE_SIZE}] FROM ("
        f"SELECT {key_text} AS k, count(*) - CASE WHEN bool_or({nulls}) THEN 0 ELSE 1 END AS n "
        f"FROM {_qualified(resource.name, resource.schema)} GROUP BY {keys} "
        f"HAVING count(*) > 1 OR bool_or({nulls}))"
    )
    return Check(
        "primary_key_unique",
        resource.name,
        f"({', '.join(resource.primary_key)}) is unique and never null in {resource.schema}.{resource.name}",
        sql,
    )


def reference_check(resource: Resource, column: str, target: str) -> Check:
    sql = (
        f"SELECT count(*), list(DISTINCT t.{quote(column)})[1:{SAMPLE_SIZE}] "
        f"FROM {_qualified(resource.name, resource.schema)} t "
        f"WHERE t.{quote(column)} IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {_qualified(target, resource.schema)} p WHERE p.id = t.{quote(column)}) "
        f"AND NOT EXISTS (SELECT 1 FROM {_qualified(REJECTED_TABLE, resource.schema)} r "
        f"WHERE r.table_name = '{target}' AND r.record_id = t.{quote(column)})"
    )
    return Check(
        f"{column}_references_{target}",
        resource.name,
        f"every {resource.name}.{column} is the id of a row in {resource.schema}.{target} "
        f"(or of a {target} record set aside in {resource.schema}.{REJECTED_TABLE})",
        sql,
    )


def rejected_check(resource: Resource) -> Check:
    """Warns while any record of the table is set aside in ``_rejected``: the rest loaded."""
    sql = (
        f"SELECT count(*), list(coalesce(record_id, '∅') || ': ' || reason "
        f"ORDER BY partition_key, record_id)[1:{SAMPLE_SIZE}] "
        f"FROM {_qualified(REJECTED_TABLE, resource.schema)} WHERE table_name = '{resource.name}'"
    )
    return Check(
        REJECTED_CHECK,
        resource.name,
        f"no record of {resource.schema}.{resource.name} is set aside in "
        f"{resource.schema}.{REJECTED_TABLE} (each failed validation or conversion; the rest "
        "of its page loaded)",
        sql,
        severity="warn",
    )


def _is_numeric_string(annotation: Any, metadata: Sequence[Any]) -> bool:
    validators = [*metadata, *getattr(annotation, "__metadata__", ())]
    return any(isinstance(v, AfterValidator) and v.func is parses_as_decimal for v in validators)


def _members(annotation: Any) -> Iterator[Any]:
    """The types inside ``X | None`` and ``list[X]``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _members(arg)
    elif origin is list:
        for arg in typing.get_args(annotation):
            yield from (("list", m) for m in _members(arg))
    elif annotation is not type(None):
        yield annotation


def numeric_paths(model: type[BaseModel], prefix: str = "$") -> Iterator[tuple[str, str]]:
    """``(top-level field, JSON path)`` of every numeric string in a model, nested ones included.

    A top-level numeric string has the path ``""`` (its column holds the string itself).
    """
    for name, info in model.model_fields.items():
        yield from _paths_of(name, info.annotation, info.metadata, prefix if prefix != "$" else "")


def _paths_of(
    name: str, annotation: Any, metadata: Sequence[Any], prefix: str
) -> Iterator[tuple[str, str]]:
    for member in _members(annotation):
        in_list = isinstance(member, tuple)
        kind = member[1] if in_list else member
        here = f"{prefix}{'[*]' if in_list else ''}"
        if _is_numeric_string(kind, metadata) or (
            typing.get_origin(kind) is typing.Annotated and _is_numeric_string(kind, ())
        ):
            yield name, here
        elif isinstance(kind, type) and issubclass(kind, BaseModel):
            for field, info in kind.model_fields.items():
                for _, path in _paths_of(field, info.annotation, info.metadata, f"{here}.{field}"):
                    yield name, path


def numeric_check(resource: Resource) -> Check | None:
    paths: dict[str, list[str]] = {}
    for column, path in numeric_paths(resource.model):
        paths.setdefault(column, []).append(path)
    if not paths:
        return None
    values = []
    for column, column_paths in paths.items():
        for path in column_paths:
            if path == "":
                values.append(
                    f"SELECT {quote(column)} AS v FROM {_qualified(resource.name, resource.schema)}"
                )
            elif "[*]" in path:
                values.append(
                    f"SELECT unnest(json_extract_string({quote(column)}, '${path}')) AS v "
                    f"FROM {_qualified(resource.name, resource.schema)}"
                )
            else:
                values.append(
                    f"SELECT json_extract_string({quote(column)}, '${path}') AS v "
                    f"FROM {_qualified(resource.name, resource.schema)}"
                )
    sql = (
        f"SELECT count(*), list(DISTINCT v)[1:{SAMPLE_SIZE}] FROM ({' UNION ALL '.join(values)}) "
        "WHERE v IS NOT NULL AND (TRY_CAST(v AS DOUBLE) IS NULL OR NOT isfinite(TRY_CAST(v AS DOUBLE)))"
    )
    where = ", ".join(
        sorted({f"{c}{p.replace('[*]', '[]')}" for c, ps in paths.items() for p in ps})
    )
    return Check(
        "numeric_strings_parse",
        resource.name,
        f"every numeric string of {resource.schema}.{resource.name} parses as a number ({where})",
        sql,
    )


def checks_for(resource: Resource) -> list[Check]:
    checks = [primary_key_check(resource)]
    checks += [reference_check(resource, column, target) for column, target in resource.references]
    if numeric := numeric_check(resource):
        checks.append(numeric)
    checks.append(rejected_check(resource))
    return checks


def all_checks(resources: Sequence[Resource]) -> list[Check]:
    return [check for resource in resources for check in checks_for(resource)]


def run_check(check: Check, query: Callable[[str], list[tuple[Any, ...]]]) -> CheckOutcome:
    failures, sample = query(check.sql)[0]
    return CheckOutcome(check, int(failures or 0), list(sample or []))
