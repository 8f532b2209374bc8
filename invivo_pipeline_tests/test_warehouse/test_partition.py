"""Partitions built page by page: the fingerprint ignores how rows were paged, sees any change,
and a session writing many of them does not hold their Arrow rows until COMMIT."""

from __future__ import annotations

import pyarrow as pa

from invivo_pipeline.sources.invivo.table import RESOURCES, get
from invivo_pipeline.warehouse import Warehouse
from invivo_pipeline.warehouse.partition_rows import PartitionBuilder
from invivo_pipeline.warehouse.schema import table_spec
from invivo_pipeline_tests.support.warehouse import Batch, measurements


def _built(pages: list[Batch]) -> PartitionBuilder:
    builder = PartitionBuilder(table_spec(get("measurements")), "sdy_1")
    for page in pages:
        builder.add(page)
    return builder


def _paged(batch: Batch, size: int) -> list[Batch]:
    records = batch.records
    return [
        Batch(batch.resource, batch.context, records[i : i + size])
        for i in range(0, len(records), size)
    ]


def test_the_fingerprint_does_not_depend_on_paging_but_on_every_byte():
    whole = measurements("sdy_1", 250)
    one_page = _built([whole])
    assert _built(_paged(whole, 100)).fingerprint() == one_page.fingerprint()
    assert _built([*_paged(whole, 7), Batch("measurements", {}, [])]).fingerprint() == (
        one_page.fingerprint()
    )
    assert _built(_paged(whole, 7)).table().equals(one_page.table())

    changed = measurements("sdy_1", 250)
    changed.records[123]["measured_at"] = "2020-01-02"
    assert _built([changed]).fingerprint() != one_page.fingerprint()
    # Moving a byte from one record to the next changes the lengths, not the bytes.
    shifted = measurements("sdy_1", 2)
    shifted.records[0]["id"] += "x"
    shifted.records[1]["id"] = shifted.records[1]["id"][:-1]
    assert _built([shifted]).fingerprint() != _built([measurements("sdy_1", 2)]).fingerprint()
    assert _built([]).fingerprint() != _built([measurements("sdy_1", 1)]).fingerprint()


def test_a_session_writing_many_partitions_does_not_keep_their_arrow_rows(db_path):
    per_study = 3000
    one_study = _built([measurements("sdy_1", per_study)]).table().nbytes
    peak = 0
    with Warehouse(db_path, resources=RESOURCES).session() as session:
        for k in range(12):
            builder = session.partition("measurements", f"sdy_{k}")
            builder.add(measurements(f"sdy_{k}", per_study))
            session.write_partitions([builder])
            del builder
            peak = max(peak, pa.total_allocated_bytes())
    # Twelve studies written, at most about one study's Arrow rows alive at any time.
    assert peak < 2 * one_study
    assert Warehouse(db_path, resources=RESOURCES).row_counts()["measurements"] == 12 * per_study


def _pages_as_sent(batch: Batch, size: int, separator: bytes = b",") -> list:
    """The client's batches for ``batch``'s records paged by ``size``: each record's bytes and
    the page's JSON array they were split from."""
    import orjson

    from invivo_pipeline.core.batches import Batch as ClientBatch
    from invivo_pipeline.sources.invivo.pagination import parse_envelope

    pages = []
    for page in _paged(batch, size):
        data = b"[" + separator.join(orjson.dumps(r) for r in page.records) + b"]"
        meta = b'{"current_page":1,"per_page":1,"last_page":1,"total":1}'
        _, parsed = parse_envelope(b'{"data":' + data + b',"meta":' + meta + b"}")
        pages.append(ClientBatch("measurements", {}, raw=parsed.records, data=parsed.data))
    return pages


def test_records_read_from_a_page_are_views_of_its_bytes_and_hash_alike_however_paged():
    whole = measurements("sdy_1", 250)
    built = _built(_pages_as_sent(whole, 100))
    records = built.table().column("_record")
    assert records.type == pa.json_(pa.string_view())
    page_bytes = _pages_as_sent(whole, 100)[0].data
    # The page itself, not a copy of its records.
    assert records.chunks[0].storage.buffers()[2].size == len(page_bytes)
    assert records.to_pylist() == [
        bytes(r).decode() for p in _pages_as_sent(whole, 250) for r in p.raw
    ]

    assert _built(_pages_as_sent(whole, 7)).fingerprint() == built.fingerprint()
    # Pages with spaces between records are copied out instead; the rows are the same.
    spaced = _built(_pages_as_sent(whole, 100, b", "))
    assert spaced.table().column("_record").to_pylist() == records.to_pylist()

    changed = measurements("sdy_1", 250)
    changed.records[123]["measured_at"] = "2020-01-02"
    assert _built(_pages_as_sent(changed, 100)).fingerprint() != built.fingerprint()
    shifted = measurements("sdy_1", 2)
    shifted.records[0]["id"] += "x"
    shifted.records[1]["id"] = shifted.records[1]["id"][:-1]
    assert (
        _built(_pages_as_sent(shifted, 2)).fingerprint()
        != _built(_pages_as_sent(measurements("sdy_1", 2), 2)).fingerprint()
    )
