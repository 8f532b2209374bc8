"""Which partition or global tables each documented event refreshes, from the reference's own
example events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from invivo_pipeline.sources.invivo.table import BY_NAME, STUDY
from invivo_pipeline.sources.invivo.webhooks.targets import resource_of, study_id_in, target_of

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "reference_examples.json"
REFERENCE_EVENTS = json.loads(FIXTURES.read_text())["webhooks"]
GLOBAL_ENTITIES = {"species": "species", "strain": "strains", "user": "users", "cage": "cages"}


def _study_in(body: dict) -> str:
    """The study id as a reader of the example would find it by hand."""
    text = json.dumps(body["payload"])
    ids = {w.strip('",:{}[]') for w in text.split() if w.strip('",:{}[]').startswith("sdy_")}
    assert len(ids) == 1, ids
    return ids.pop()


@pytest.mark.parametrize("example", REFERENCE_EVENTS, ids=lambda e: e["event"])
def test_every_reference_event_has_a_target(example):
    name, payload = example["event"], example["body"]["payload"]
    target = target_of(name, payload)

    assert target.problem is None
    entity = name.split(".")[0]
    if entity in GLOBAL_ENTITIES:
        assert target.global_tables == {GLOBAL_ENTITIES[entity]}
        assert target.study_id is None
    elif name.startswith("study.") and target.resource == "studies":
        assert target.study_id == payload["id"]
        assert target.global_tables == {"studies"}
        assert target.study_created == name.endswith(".created")
        assert target.study_deleted == name.endswith(".deleted")
    else:
        assert BY_NAME[target.resource].scope is STUDY
        assert target.study_id == _study_in(example["body"])
        assert target.global_tables == frozenset()


@pytest.mark.parametrize(
    ("event", "resource"),
    [
        ("animal.measurement.created", "measurements"),
        ("animal.metadata.updated", "animals"),
        ("study.metadata.updated", "studies"),
        ("study.treatment.assigned", "treatments"),
        ("study.group.deleted", "study_groups"),
        ("animal.sample.updated", "samples"),
        ("cage.created", "cages"),
        ("telepathy.created", None),
        ("nonsense", None),
    ],
)
def test_the_longest_known_entity_prefix_names_the_resource(event, resource):
    found = resource_of(event)
    assert (found.name if found else None) == resource


def test_unknown_events_and_payloads_without_a_study_are_flagged_not_guessed():
    assert target_of("telepathy.created", {}).problem == "unknown event type 'telepathy.created'"
    orphan = target_of("animal.measurement.created", {"id": "mst_1"})
    assert orphan.study_id is None and "no study id" in (orphan.problem or "")


def test_the_study_is_found_wherever_the_payload_puts_it():
    assert study_id_in({"study_id": "sdy_a"}) == "sdy_a"
    assert study_id_in({"study": {"id": "sdy_b"}}) == "sdy_b"
    assert study_id_in({"animal": {"study_id": "sdy_c"}}) == "sdy_c"
    assert study_id_in({"treatment": {"study": {"id": "sdy_d"}}}) == "sdy_d"
    assert study_id_in({"study_group": {"study_id": "sdy_e"}}) == "sdy_e"
    assert study_id_in({"study": "sdy_f", "user": {"study_id": "sdy_g"}}) is None
