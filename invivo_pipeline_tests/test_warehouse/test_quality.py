"""The generated data checks find what they promise to find, on a real DuckDB file."""

from __future__ import annotations

import pytest

from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import TableLoad
from invivo_pipeline.warehouse.quality import all_checks, checks_for, run_check
from invivo_pipeline_tests.support.warehouse import Batch

STUDY = "sdy_1"


def _quantity(value: str) -> dict:
    return {"unit": "mg/kg", "value": value, "display_unit": "mg/kg", "display_value": value}


def _load(wh, *, dosage_value="5", animal_of_dosage="aml_1", dosage_ids=("dsg_1", "dsg_2")):
    study = {"id": STUDY, "name": "S"}
    animal = {"id": "aml_1", "study": {"id": STUDY}}
    treatment = {"id": "tmt_1", "study": {"id": STUDY}, "dose": _quantity("5")}
    dosages = [
        {
            "id": dosage_id,
            "weight_at_dosing": "20.5",
            "dose": _quantity(dosage_value),
            "study": {"id": STUDY},
            "animal": {"id": animal_of_dosage},
            "treatment": {"id": "tmt_1"},
        }
        for dosage_id in dosage_ids
    ]
    wh.load("studies", [Batch("studies", {}, [study])])
    wh.load_many(
        [
            TableLoad("animals", [Batch("animals", {"study_id": STUDY}, [animal])], STUDY),
            TableLoad("treatments", [Batch("treatments", {"study_id": STUDY}, [treatment])], STUDY),
            TableLoad("dosages", [Batch("dosages", {"study_id": STUDY}, dosages)], STUDY),
        ]
    )


def _outcomes(wh, table):
    resource = next(r for r in RESOURCES if r.name == table)
    with wh.reader() as con:
        return {
            check.name: run_check(check, lambda sql: con.execute(sql).fetchall())
            for check in checks_for(resource)
        }


def test_clean_data_passes_every_check(wh):
    _load(wh)
    wh.ensure_schema()
    with wh.reader() as con:
        outcomes = [
            run_check(c, lambda sql: con.execute(sql).fetchall()) for c in all_checks(RESOURCES)
        ]
    assert [o.check.name for o in outcomes if not o.passed] == []


def test_a_duplicated_primary_key_is_found(wh):
    _load(wh, dosage_ids=("dsg_1", "dsg_1", "dsg_2"))
    outcome = _outcomes(wh, "dosages")["primary_key_unique"]
    assert (outcome.failures, outcome.sample) == (1, ["dsg_1"])


def test_an_unknown_parent_is_found(wh):
    _load(wh, animal_of_dosage="aml_404")
    outcomes = _outcomes(wh, "dosages")
    assert outcomes["animal_id_references_animals"].failures == 2
    assert outcomes["animal_id_references_animals"].sample == ["aml_404"]
    assert outcomes["treatment_id_references_treatments"].passed


@pytest.mark.parametrize("value", ["abc", "1,5", "NaN", "Infinity"])
def test_a_numeric_string_that_does_not_parse_is_found(wh, value):
    # The client validates numeric strings; this check proves it for what reached the warehouse
    # by any route (an older loader, a hand edit).
    _load(wh, dosage_value=value)
    outcome = _outcomes(wh, "dosages")["numeric_strings_parse"]
    assert outcome.failures == 2
    assert outcome.sample == [value]


def test_numeric_checks_reach_into_nested_lists(wh):
    record = {
        "id": "mst_1",
        "measured_at": "2024-11-22",
        "study": {"id": STUDY},
        "animal": {"id": "aml_1"},
        "calculations": [
            {"key": "tv", "value": "75", "variables": [{"key": "w", "value": "5"}]},
            {"key": "tv2", "value": "1", "variables": [{"key": "l", "value": "six"}]},
        ],
    }
    wh.load(
        "measurements", [Batch("measurements", {"study_id": STUDY}, [record])], partition_key=STUDY
    )
    outcome = _outcomes(wh, "measurements")["numeric_strings_parse"]
    assert (outcome.failures, outcome.sample) == (1, ["six"])


def test_records_set_aside_make_their_table_warn_with_the_count(wh):
    dosages = [
        {"id": f"dsg_{i}", "dosed_at": "yesterday" if i < 2 else None, "study": {"id": STUDY}}
        for i in range(3)
    ]
    wh.load("dosages", [Batch("dosages", {"study_id": STUDY}, dosages)], partition_key=STUDY)

    outcomes = _outcomes(wh, "dosages")

    warned = outcomes["no_rejected_records"]
    assert warned.check.severity == "warn"
    assert warned.failures == 2
    assert warned.sample == [
        f"dsg_{i}: dosed_at: cannot read 'yesterday' as TIMESTAMPTZ" for i in (0, 1)
    ]
    assert _outcomes(wh, "animals")["no_rejected_records"].passed
    assert {c.severity for c in all_checks(RESOURCES) if c.name != "no_rejected_records"} == {
        "error"
    }


def test_a_reference_to_a_record_set_aside_is_not_an_unknown_parent(wh):
    _load(wh, animal_of_dosage="aml_2")
    animal = {"id": "aml_2", "dob": "2024-02-30", "study": {"id": STUDY}}
    wh.load("animals", [Batch("animals", {"study_id": STUDY}, [animal])], partition_key=STUDY)

    outcomes = _outcomes(wh, "dosages")

    assert outcomes["animal_id_references_animals"].passed
    assert not _outcomes(wh, "animals")["no_rejected_records"].passed
