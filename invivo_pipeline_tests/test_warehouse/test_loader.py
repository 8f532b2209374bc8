"""Loads replace partitions in one transaction, round-trip every value and never duplicate."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import (
    TableLoad,
    Warehouse,
    WarehouseError,
    WarehouseLoadError,
    default_duckdb_path,
)
from invivo_pipeline_tests.support.warehouse import (
    Batch,
    animals,
    measurements,
    reference_batches,
    reference_loads,
    reference_record,
    species,
)

ALL_TABLES = {r.name for r in RESOURCES}


def _load_reference(wh: Warehouse) -> None:
    global_loads, study_loads = reference_loads()
    wh.load_many(global_loads)
    wh.load_many(study_loads)


def _snapshot(wh: Warehouse, tables=ALL_TABLES) -> dict[str, list[dict]]:
    return {t: wh.fetch_table(t) for t in sorted(tables)}


def test_every_reference_example_loads_into_its_table(wh):
    _load_reference(wh)
    counts = wh.row_counts()
    assert {t for t, n in counts.items() if n} == ALL_TABLES

    expected: dict[str, list[dict]] = {}
    for batch, _ in reference_batches():
        expected.setdefault(batch.resource, []).extend(batch.records)
    for table in ALL_TABLES:
        rows = wh.fetch_table(table)
        assert len(rows) == len(expected[table]), table
        # _record is the record exactly as received.
        assert _same_records(rows, expected[table]), table
        keys = [tuple(r[k] for k in wh.primary_key(table)) for r in rows]
        assert len(set(keys)) == len(keys), f"{table}: duplicate primary keys"
        assert all(None not in key for key in keys)


def _same_records(rows: list[dict], records: list[dict]) -> bool:
    canonical = sorted(json.dumps(r, sort_keys=True) for r in records)
    return sorted(json.dumps(json.loads(r["_record"]), sort_keys=True) for r in rows) == canonical


def test_values_round_trip_with_their_types(wh):
    _load_reference(wh)
    dosage = reference_record("dosages")
    dosage["id"] = "dsg_exact"
    dosage["weight_at_dosing"] = "1.60"
    study = dosage["study"]["id"]
    wh.load("dosages", [Batch("dosages", {"study_id": study}, [dosage])], partition_key=study)
    [row] = wh.fetch_table("dosages", partition_key=study)
    assert row["weight_at_dosing"] == "1.60"
    assert json.loads(row["dose"]) == dosage["dose"]
    assert json.loads(row["_record"]) == dosage
    assert '"weight_at_dosing":"1.60"' in row["_record"]
    assert row["dosed_at"] == datetime.fromisoformat(dosage["dosed_at"])
    assert row["dosed_at"].tzinfo is not None

    [measurement] = [
        r
        for r in wh.fetch_table("measurements")
        if r["id"] == reference_record("measurements")["id"]
    ]
    assert measurement["measured_at"] == date(2024, 11, 22)
    assert json.loads(measurement["calculations"])[0]["value"] == "75"

    animal = wh.fetch_table("animals")[0]
    assert isinstance(animal["number"], int) and isinstance(animal["disease_survivor"], bool)
    assert json.loads(animal["terminated_reason"])["title"] == "Found dead"

    options = wh.fetch_table("metadata_options")
    assert {r["metadata_id"] for r in options} == {"mgl_27uTh0lZBfZ3skRsIkEusb"}
    [preset] = wh.fetch_table("study_presets")
    assert preset["study_id"] == json.loads(preset["_record"])["study"]["id"]


def test_a_study_load_replaces_only_that_study(wh):
    wh.load("measurements", [measurements("sdy_A", 5)], partition_key="sdy_A")
    wh.load("measurements", [measurements("sdy_B", 4)], partition_key="sdy_B")
    before_b = wh.fetch_table("measurements", partition_key="sdy_B")

    result = wh.load("measurements", [measurements("sdy_A", 2)], partition_key="sdy_A")
    assert (result.table, result.partition_key) == ("measurements", "sdy_A")
    assert (result.rows_written, result.rows_deleted) == (2, 5)
    assert result.seconds > 0
    assert [r["id"] for r in wh.fetch_table("measurements", partition_key="sdy_A")] == [
        "mst_sdy_A_0",
        "mst_sdy_A_1",
    ]
    assert wh.fetch_table("measurements", partition_key="sdy_B") == before_b

    # The same data again: not duplicated (and, being unchanged, not even rewritten).
    again = wh.load("measurements", [measurements("sdy_A", 2)], partition_key="sdy_A")
    assert again.unchanged
    assert wh.row_counts()["measurements"] == 6

    # A study that lost all its rows is emptied.
    wh.load("measurements", [], partition_key="sdy_A")
    assert wh.fetch_table("measurements", partition_key="sdy_A") == []
    assert wh.row_counts()["measurements"] == 4


def test_a_global_load_replaces_the_whole_table(wh):
    wh.load("species", [species(["mouse", "rat", "dog"])])
    result = wh.load("species", [species(["mouse"]), species(["pig"])])
    assert (result.rows_written, result.rows_deleted, result.partition_key) == (2, 3, None)
    assert [r["name"] for r in wh.fetch_table("species")] == ["mouse", "pig"]


def test_one_loaded_at_per_load(wh):
    first = wh.load_many(
        [
            TableLoad("measurements", [measurements("sdy_A", 3)], "sdy_A"),
            TableLoad("animals", [animals("sdy_A", 3)], "sdy_A"),
        ]
    )
    assert first[0].loaded_at == first[1].loaded_at
    stamps = {r["_loaded_at"] for t in ("measurements", "animals") for r in wh.fetch_table(t)}
    assert stamps == {first[0].loaded_at}
    second = wh.load("animals", [animals("sdy_A", 4)], partition_key="sdy_A")
    assert second.loaded_at > first[0].loaded_at
    assert {r["_loaded_at"] for r in wh.fetch_table("measurements")} == {first[0].loaded_at}


def test_a_failed_load_many_changes_nothing(wh):
    _load_reference(wh)
    wh.load_many(
        [
            TableLoad("animals", [animals("sdy_A", 5)], "sdy_A"),
            TableLoad("measurements", [measurements("sdy_A", 5)], "sdy_A"),
        ]
    )
    before = _snapshot(wh)

    # A batch read for another study: the caller's mistake, not a record's, so the load fails.
    stray = Batch("measurements", {"study_id": "sdy_B"}, measurements("sdy_B", 3).records)
    with pytest.raises(WarehouseLoadError) as err:
        wh.load_many(
            [
                TableLoad("animals", [animals("sdy_A", 2)], "sdy_A"),
                TableLoad("measurements", [stray], "sdy_A"),
            ]
        )
    message = str(err.value)
    assert "invivo_raw.measurements" in message and "'sdy_B'" in message
    assert "\n" not in message
    assert _snapshot(wh) == before


@pytest.mark.parametrize(
    ("table", "field", "value"),
    [
        ("dosages", "dosed_at", "yesterday"),
        ("studies", "started_on", "2024-13-45"),
        ("animals", "dob", "2024-11-21T10:00:00Z-bad"),
    ],
)
def test_any_uncastable_value_is_quarantined_naming_field_and_value(wh, table, field, value):
    record = reference_record(table)
    good = {**reference_record(table), "id": "good_1"}
    record[field] = value
    study = record["study"]["id"] if table != "studies" else None
    result = wh.load(table, [Batch(table, {}, [record, good])], partition_key=study)
    assert (result.rows_written, result.rejected) == (1, 1)
    assert [r["id"] for r in wh.fetch_table(table)] == ["good_1"]
    with wh.reader() as con:
        rejected = con.execute(
            "SELECT table_name, partition_key, record_id, reason FROM invivo_raw._rejected"
        ).fetchall()
    assert rejected == [
        (
            table,
            study,
            record["id"],
            f"{field}: cannot read {value!r} as "
            + ("TIMESTAMPTZ" if field == "dosed_at" else "DATE"),
        )
    ]


def test_a_record_of_another_study_is_quarantined_and_the_rest_loads(wh):
    wh.load("measurements", [measurements("sdy_A", 2)], partition_key="sdy_A")
    stray = measurements("sdy_B", 1)
    result = wh.load(
        "measurements",
        [measurements("sdy_A", 3), Batch("measurements", {}, stray.records)],
        partition_key="sdy_A",
    )
    assert (result.rows_written, result.rejected) == (3, 1)
    assert {r["study_id"] for r in wh.fetch_table("measurements")} == {"sdy_A"}
    with wh.reader() as con:
        [(reason,)] = con.execute("SELECT reason FROM invivo_raw._rejected").fetchall()
    assert "'sdy_B'" in reason


def test_loads_must_match_the_table_scope(wh):
    with pytest.raises(ValueError, match="per study"):
        wh.load("measurements", [measurements("sdy_A", 1)])
    with pytest.raises(ValueError, match="global"):
        wh.load("species", [species(["mouse"])], partition_key="sdy_A")
    with pytest.raises(KeyError, match="unknown table"):
        wh.load("nope", [])
    with pytest.raises(ValueError, match="twice"):
        wh.load_many([TableLoad("species", []), TableLoad("species", [])])


def test_reads_of_a_warehouse_not_created_yet(wh, db_path):
    assert wh.row_counts() == dict.fromkeys(ALL_TABLES, 0)
    assert wh.schema_version() == 0
    with pytest.raises(WarehouseError, match="nothing has been loaded"):
        wh.fetch_table("species")
    assert not db_path.exists()


def test_arrow_reads(wh):
    wh.load("species", [species(["mouse", "rat"])])
    table = wh.fetch_arrow("species")
    assert table.column("name").to_pylist() == ["mouse", "rat"]
    assert table.schema.names[-2:] == ["_record", "_loaded_at"]


def test_the_file_is_where_the_environment_says(tmp_path, monkeypatch):
    assert default_duckdb_path({}) == Path("data/invivo.duckdb")
    assert default_duckdb_path({"INVIVO_DUCKDB_PATH": ""}) == Path("data/invivo.duckdb")
    target = tmp_path / "elsewhere" / "w.duckdb"
    assert default_duckdb_path({"INVIVO_DUCKDB_PATH": str(target)}) == target

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INVIVO_DUCKDB_PATH", raising=False)
    assert Warehouse(resources=RESOURCES).path == tmp_path / "data" / "invivo.duckdb"
    monkeypatch.setenv("INVIVO_DUCKDB_PATH", str(target))
    Warehouse(resources=RESOURCES).load("species", [species(["mouse"])])
    assert target.exists()


def test_loaded_at_is_timezone_aware_utc(wh):
    result = wh.load("species", [species(["mouse"])])
    assert result.loaded_at.tzinfo is UTC
    assert wh.fetch_table("species")[0]["_loaded_at"] == result.loaded_at


def test_an_unchanged_partition_is_left_exactly_as_it_was(wh):
    wh.load_many(
        [
            TableLoad("measurements", [measurements("sdy_A", 3)], "sdy_A"),
            TableLoad("animals", [animals("sdy_A", 3)], "sdy_A"),
        ]
    )
    before = _snapshot(wh, {"measurements", "animals"})

    results = wh.load_many(
        [
            TableLoad("measurements", [measurements("sdy_A", 3)], "sdy_A"),
            TableLoad("animals", [animals("sdy_A", 4)], "sdy_A"),
        ]
    )

    by_table = {r.table: r for r in results}
    assert by_table["measurements"].unchanged
    assert (by_table["measurements"].rows_written, by_table["measurements"].rows_deleted) == (0, 0)
    assert not by_table["animals"].unchanged
    assert by_table["animals"].rows_written == 4
    after = _snapshot(wh, {"measurements", "animals"})
    assert after["measurements"] == before["measurements"]  # _loaded_at included
    assert after["animals"] != before["animals"]


def test_a_changed_context_is_not_mistaken_for_unchanged_content(wh):
    record = {"value": "A"}
    wh.load("metadata_options", [Batch("metadata_options", {"metadata_id": "mgl_1"}, [record])])
    result = wh.load(
        "metadata_options", [Batch("metadata_options", {"metadata_id": "mgl_2"}, [record])]
    )
    assert not result.unchanged
    assert [r["metadata_id"] for r in wh.fetch_table("metadata_options")] == ["mgl_2"]


def test_a_session_commits_every_load_or_none(wh):
    wh.load("animals", [animals("sdy_A", 2)], partition_key="sdy_A")
    before = _snapshot(wh, {"animals", "measurements"})

    with pytest.raises(WarehouseLoadError), wh.session() as session:
        session.load_many([TableLoad("animals", [animals("sdy_A", 5)], "sdy_A")])
        session.load_many([TableLoad("measurements", [measurements("sdy_B", 3)], "sdy_B")])
        stray = Batch("measurements", {"study_id": "sdy_D"}, measurements("sdy_D", 1).records)
        session.load_many([TableLoad("measurements", [stray], "sdy_C")])

    assert _snapshot(wh, {"animals", "measurements"}) == before

    with wh.session() as session:
        session.load_many([TableLoad("animals", [animals("sdy_A", 5)], "sdy_A")])
        assert session.query("SELECT count(*) FROM invivo_raw.animals") == [(5,)]
        session.load_many([TableLoad("measurements", [measurements("sdy_B", 3)], "sdy_B")])
    assert wh.row_counts()["animals"] == 5
    assert wh.row_counts()["measurements"] == 3


def test_studies_the_api_no_longer_lists_are_purged_in_the_same_transaction(wh):
    for study in ("sdy_A", "sdy_B", "sdy_C"):
        wh.load_many(
            [
                TableLoad("animals", [animals(study, 2)], study),
                TableLoad("measurements", [measurements(study, 3)], study),
            ]
        )
    with wh.session() as session:
        purged = session.purge_partitions_except(["sdy_A", "sdy_C"])
    assert purged == {"animals": 2, "measurements": 3}
    assert {r["study_id"] for r in wh.fetch_table("animals")} == {"sdy_A", "sdy_C"}
    # Its load state went too: the study coming back is loaded again, not skipped as unchanged.
    again = wh.load("animals", [animals("sdy_B", 2)], partition_key="sdy_B")
    assert not again.unchanged and again.rows_written == 2
