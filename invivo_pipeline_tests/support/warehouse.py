"""Records and batches the warehouse tests load: the API reference's examples and compact
synthetic records for volume."""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson

from invivo_pipeline.core.batches import Batch as ClientBatch
from invivo_pipeline.sources.invivo import table as resource_table
from invivo_pipeline.sources.invivo.table import STUDY
from invivo_pipeline.warehouse import TableLoad
from invivo_pipeline.warehouse.schema import SqlType, TableSpec
from invivo_pipeline_tests.support.reference import endpoint_examples


@dataclass(frozen=True)
class Batch:
    """Shaped like the API client's ``Batch``; the warehouse accepts anything of this shape."""

    resource: str
    context: dict[str, str]
    records: list[dict[str, Any]] = field(default_factory=list)


def as_raw(batch: Batch) -> ClientBatch:
    """The batch as the API client hands a page on: each record as JSON bytes, not a dict."""
    return ClientBatch(
        batch.resource, dict(batch.context), raw=[orjson.dumps(r) for r in batch.records]
    )


def normalised(spec: TableSpec, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with their JSON columns parsed: the same JSON may be spelled differently."""
    json_columns = {c.name for c in spec.columns if c.type is SqlType.JSON}
    return [
        {k: (orjson.loads(v) if k in json_columns and v is not None else v) for k, v in r.items()}
        for r in rows
    ]


def reference_batches() -> list[tuple[Batch, str | None]]:
    """Every record of every GET response example, as a batch with its study (if per-study)."""
    out: list[tuple[Batch, str | None]] = []
    for example in endpoint_examples():
        if example["method"] != "GET" or example["kind"] != "response":
            continue
        match = resource_table.match_path(example["path"])
        if match is None:
            continue
        resource = match.resource
        body = example["body"]
        records = body.get("data", [body])
        context = {k: v for k, v in match.params.items() if k in resource.context_keys}
        for record in records:
            study_id = None
            if resource.scope is STUDY:
                study_id = context.get("study_id") or record["study"]["id"]
            out.append((Batch(resource.name, context, [copy.deepcopy(record)]), study_id))
    return out


def reference_loads() -> tuple[list[TableLoad], list[TableLoad]]:
    """(global loads, per-study loads) covering every reference example record."""
    global_batches: dict[str, list[Batch]] = defaultdict(list)
    study_batches: dict[tuple[str, str], list[Batch]] = defaultdict(list)
    for batch, study_id in reference_batches():
        if study_id is None:
            global_batches[batch.resource].append(batch)
        else:
            study_batches[(batch.resource, study_id)].append(batch)
    return (
        [TableLoad(name, batches) for name, batches in global_batches.items()],
        [TableLoad(name, batches, study) for (name, study), batches in study_batches.items()],
    )


def reference_record(resource: str) -> dict[str, Any]:
    """The first reference example record of ``resource`` (a fresh copy)."""
    for batch, _ in reference_batches():
        if batch.resource == resource:
            return copy.deepcopy(batch.records[0])
    raise LookupError(resource)


def measurements(study_id: str, n: int, *, prefix: str = "mst") -> Batch:
    """Compact measurement records (no embedded study/animal details) for volume tests."""
    calculations = [
        {"key": "weight", "name": "Weight", "unit": "g", "value": "21.60", "variables": []}
    ]
    records = [
        {
            "id": f"{prefix}_{study_id}_{i}",
            "measured_at": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "calculations": calculations,
            "study": {"id": study_id},
            "animal": {"id": f"aml_{study_id}_{i % 40}"},
            "user": {"id": "usr_1"},
            "created_at": "2024-11-22T09:41:50.937249Z",
            "updated_at": "2024-11-22T09:41:50.937249Z",
        }
        for i in range(n)
    ]
    return Batch("measurements", {"study_id": study_id}, records)


def animals(study_id: str, n: int) -> Batch:
    records = [
        {
            "id": f"aml_{study_id}_{i}",
            "name": f"A{i}",
            "number": i + 1,
            "sex": "f" if i % 2 else "m",
            "dob": "2024-10-01",
            "disease_survivor": False,
            "metadata": {"animal-internal-id": f"ANIMAL-{i}"},
            "study": {"id": study_id},
            "study_group": {"id": f"grp_{study_id}_{i % 4}"},
            "cage": {"id": f"cge_{i // 5}"},
        }
        for i in range(n)
    ]
    return Batch("animals", {"study_id": study_id}, records)


def species(names: list[str]) -> Batch:
    return Batch(
        "species",
        {},
        [{"id": f"spc_{name}", "name": name, "active": True} for name in names],
    )
