"""Records keep shared embedded objects by reference: the served bytes are exact JSON, and a shared
object updated in place (an animal gets terminated) shows in every record that embeds it."""

from __future__ import annotations

import orjson

from invivo_pipeline.sources.invivo.simulator.generate.ids import IdSource, stable_id
from invivo_pipeline.sources.invivo.simulator.generate.numbers import fmt_fixed, tumour_volume
from invivo_pipeline.sources.invivo.simulator.generate.records import Record, Shared


def test_bodies_round_trip_with_shared_parts_in_any_position():
    animal = Shared({"id": "aml_1", "terminated_at": None})
    bodies = [
        {"id": "x", "animal": animal, "value": "1.5"},
        {"animal": animal},
        {"animal": animal, "again": animal, "tail": [1, {"nested": animal}]},
        {"id": "plain", "n": 1},
        {},
    ]
    for body in bodies:
        record = Record(body, {"id": "x"})
        expected = orjson.loads(orjson.dumps(body, default=lambda s: orjson.Fragment(s.raw)))
        assert record.body == expected
        assert list(record.body) == list(body)


def test_updating_a_shared_object_updates_every_record():
    animal = Shared({"id": "aml_1", "terminated_at": None})
    records = [Record({"id": f"mst_{i}", "animal": animal}, {}) for i in range(3)]
    animal.set({"id": "aml_1", "terminated_at": "2026-10-27"})
    assert {r.body["animal"]["terminated_at"] for r in records} == {"2026-10-27"}


def test_ids_look_like_the_api_and_are_stable():
    ids = IdSource("test")
    first = [ids.new("aml") for _ in range(100)]
    assert all(i.startswith("aml_") and len(i) == 26 and i[4:].isalnum() for i in first)
    assert len(set(first)) == 100
    again = IdSource("test")
    assert [again.new("aml") for _ in range(100)] == first
    assert stable_id("usr", 7, "Maya Patel") == stable_id("usr", 7, "Maya Patel")
    assert stable_id("usr", 7, "Maya Patel") != stable_id("usr", 8, "Maya Patel")


def test_fixed_point_numbers():
    assert [fmt_fixed(v, 2) for v in (7500, 8247, 8250, 5, 0, -150)] == [
        "75",
        "82.47",
        "82.5",
        "0.05",
        "0",
        "-1.5",
    ]
    assert tumour_volume(500, 600) == 7500  # 5 mm x 5 mm x 6 mm / 2 = 75 mm³
    assert tumour_volume(733, 1021) == 27429  # 274.2860345 mm³ rounds to 274.29
    assert tumour_volume(100, 101) == 51  # 0.505 mm³ rounds half up to 0.51
