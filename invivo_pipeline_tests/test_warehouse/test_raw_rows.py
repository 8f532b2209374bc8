"""Pages read from their JSON bytes give the rows dicts give, without falling back to dicts."""

from __future__ import annotations

import orjson
import pyarrow as pa
import pytest

from invivo_pipeline.sources.invivo import table as resource_table
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig, build_world
from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import raw_rows, table_spec
from invivo_pipeline.warehouse.flatten import arrow_schema, flatten
from invivo_pipeline.warehouse.schema import Source
from invivo_pipeline_tests.support.warehouse import (
    Batch,
    as_raw,
    normalised,
    reference_batches,
    reference_record,
)


@pytest.fixture(scope="module")
def world():
    return build_world(WorldConfig(studies=3, animals_per_study=8, days=6))


def _columns(spec):
    return [c for c in spec.columns if c.source is not Source.LOADED_AT]


def _text(array: pa.Array) -> pa.Array:
    """Binary (text not checked yet), string views and strings compared as strings."""
    text = (pa.binary(), pa.string_view())
    return array.cast(pa.string()) if array.type in text else array


def _both_ways(spec, batch: Batch, study_id: str | None):
    """Rows from dicts, and from bytes by the fast path alone (``GiveUp`` fails the test)."""
    from invivo_pipeline.warehouse.flatten import _context

    raw = as_raw(batch)
    context = _context(spec, raw, study_id)
    arrays = raw_rows.arrays(spec, _columns(spec), raw.raw, context)
    # Read from the page's JSON array in one call (as the client hands pages on), the same.
    page = b"[" + b",".join(raw.raw) + b"]"
    from_page = raw_rows.arrays(spec, _columns(spec), raw.raw, context, data=page)
    assert [_text(a) for a in from_page] == [_text(a) for a in arrays]
    fast = dict(zip([c.name for c in _columns(spec)], arrays, strict=True))
    slow = flatten(spec, [batch], partition_key=study_id)
    fast_rows = [{name: fast[name][i].as_py() for name in fast} for i in range(slow.num_rows)]
    return normalised(spec, slow.to_pylist()), normalised(spec, fast_rows)


@pytest.mark.parametrize("resource", [r.name for r in RESOURCES if not r.single])
def test_every_simulated_record_takes_the_fast_path_and_gives_the_same_rows(world, resource):
    res = resource_table.get(resource)
    spec = table_spec(res)
    by_context: dict[tuple, list[dict]] = {}
    for record in world.records(resource):
        context = tuple((k, record.keys[k]) for k in res.context_keys if k in record.keys)
        by_context.setdefault(context, []).append(record.body)
    assert by_context, f"the simulator made no {resource}"
    for context, records in by_context.items():
        ctx = dict(context)
        study_id = ctx.get(spec.partition_column) if spec.partition_column else None
        slow, fast = _both_ways(spec, Batch(resource, ctx, records), study_id)
        assert fast == slow


def test_every_reference_example_takes_the_fast_path():
    for batch, study_id in reference_batches():
        spec = table_spec(resource_table.get(batch.resource))
        slow, fast = _both_ways(spec, batch, study_id)
        assert fast == slow, batch.resource


def test_the_record_column_holds_the_bytes_the_api_sent():
    record = reference_record("species")
    sent = b'{"id": "spc_1",  "name": "M\\u00fcs", "extra": [1, 2.50]}'
    spec = table_spec(resource_table.get("species"))
    from invivo_pipeline.core.batches import Batch as ClientBatch

    [row] = flatten(spec, [ClientBatch("species", {}, raw=[sent])]).to_pylist()
    assert row["_record"] == sent.decode()  # spacing, escapes and 2.50 kept as sent
    assert row["id"] == "spc_1" and row["name"] == "Müs"
    assert orjson.loads(row["_record"])["name"] == "Müs"
    assert set(record) >= {"id", "name"}


def test_a_json_null_is_sql_null_and_lax_values_still_convert():
    spec = table_spec(resource_table.get("study_groups"))
    record = reference_record("study_groups")
    study = record["study"]["id"]
    record.update(no="7", max_animals=10.0, control="true")  # only the record path converts
    from invivo_pipeline.core.batches import Batch as ClientBatch

    batch = ClientBatch("study_groups", {}, raw=[orjson.dumps(record)])
    with pytest.raises(raw_rows.GiveUp):
        raw_rows.arrays(spec, _columns(spec), batch.raw, {"study_id": study})
    [row] = flatten(spec, [batch], partition_key=study).to_pylist()
    assert (row["no"], row["max_animals"], row["control"]) == (7, 10, True)

    glossary = table_spec(resource_table.get("metadata_glossary"))
    raw = ClientBatch("metadata_glossary", {}, raw=[b'{"id":"mgl_1","options":null}'])
    table = flatten(glossary, [raw])
    assert table.schema == arrow_schema(glossary)
    assert table.to_pylist()[0]["options"] is None


def test_json_nulls_among_values_stay_null_row_by_row():
    from invivo_pipeline.core.batches import Batch as ClientBatch

    spec = table_spec(resource_table.get("metadata_glossary"))
    sent = [
        b'{"id":"mgl_1","options":["a"]}',
        b'{"id":"mgl_2","options":null}',
        b'{"id":"mgl_3"}',
        b'{"id":"mgl_4","options":{"k": 1}}',
    ]
    columns = _columns(spec)
    arrays = raw_rows.arrays(spec, columns, sent, {})
    options = arrays[[c.name for c in columns].index("options")].to_pylist()
    assert options == [b'["a"]', None, None, b'{"k": 1}']  # bytes until flatten checks UTF-8
    rows = flatten(spec, [ClientBatch("metadata_glossary", {}, raw=sent)]).to_pylist()
    assert [r["options"] for r in rows] == ['["a"]', None, None, '{"k": 1}']
    assert [r["_record"] for r in rows] == [s.decode() for s in sent]
    # With the page they came in, its text is checked once: strings straight away, same rows.
    page = b"[" + b",".join(sent) + b"]"
    arrays = raw_rows.arrays(spec, columns, sent, {}, data=page)
    assert arrays[[c.name for c in columns].index("options")].to_pylist() == [
        '["a"]',
        None,
        None,
        '{"k": 1}',
    ]
    batch = ClientBatch("metadata_glossary", {}, raw=sent, data=page)
    assert flatten(spec, [batch]).to_pylist() == rows


def test_text_that_is_not_utf8_is_a_clear_error_before_anything_is_written():
    from invivo_pipeline.core.batches import Batch as ClientBatch
    from invivo_pipeline.warehouse import WarehouseLoadError
    from invivo_pipeline.warehouse.partition_rows import PartitionBuilder

    spec = table_spec(resource_table.get("species"))
    sent = [b'{"id":"spc_1","extra":"\xff\xfe"}']
    with pytest.raises(WarehouseLoadError, match="not UTF-8"):
        flatten(spec, [ClientBatch("species", {}, raw=sent)])
    with pytest.raises(WarehouseLoadError, match=r"invivo_raw\.species: .*not UTF-8"):
        PartitionBuilder(spec, None).add(ClientBatch("species", {}, raw=sent))
    # Read with its page (the page-wide check fails): the same error.
    page = ClientBatch("species", {}, raw=sent, data=b"[" + sent[0] + b"]")
    with pytest.raises(WarehouseLoadError, match=r"invivo_raw\.species: .*not UTF-8"):
        PartitionBuilder(spec, None).add(page)


@pytest.mark.parametrize("sent", [b'{"id":"spc_1","extra":"\\q"}', b'{"id":"spc_1","extra":[1,]}'])
def test_bytes_that_are_not_json_never_reach_duckdb(sent):
    """DuckDB takes JSON columns without parsing them again: what is not JSON must stop here."""
    from invivo_pipeline.core.batches import Batch as ClientBatch
    from invivo_pipeline.warehouse import WarehouseLoadError

    spec = table_spec(resource_table.get("species"))
    with pytest.raises(
        WarehouseLoadError, match=r"invivo_raw\.species: a record is not valid JSON"
    ):
        flatten(spec, [ClientBatch("species", {}, raw=[sent])])
