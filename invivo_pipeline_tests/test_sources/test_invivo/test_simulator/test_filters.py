"""One test per kind of documented filter (and the metadata filters)."""

from __future__ import annotations

import httpx
import pytest

from invivo_pipeline.sources.invivo.simulator.generate.entities import Study
from invivo_pipeline.sources.invivo.simulator.generate.world import World
from invivo_pipeline_tests.support.simulator_api import fetch_all


@pytest.fixture(scope="module")
def oncology(world: World) -> Study:
    return next(s for s in world.studies if s.status == "in_progress" and s.kind == "oncology")


@pytest.fixture(scope="module")
def tox(world: World) -> Study:
    return next(s for s in world.studies if s.kind == "tox")


def test_code(api: httpx.Client, oncology: Study):
    data = api.get("/studies", params={"code": oncology.code}).json()["data"]
    assert [s["id"] for s in data] == [oncology.id]


def test_name_matches_a_substring_ignoring_case(api: httpx.Client):
    data = api.get("/users", params={"name": "PATEL"}).json()["data"]
    assert [u["name"] for u in data] == ["Maya Patel"]


def test_sex(api: httpx.Client, world: World, tox: Study):
    males = fetch_all(api, "/animals", sex="m")
    assert males and all(a["sex"] == "m" for a in males)
    assert len(males) == sum(1 for r in world.records("animals") if r.keys["sex"] == "m")
    in_study = fetch_all(api, f"/studies/{tox.id}/animals", sex="f")
    assert in_study and all(a["sex"] == "f" and a["study"]["id"] == tox.id for a in in_study)


def test_measured_at(api: httpx.Client, oncology: Study):
    day = oncology.measurements[len(oncology.measurements) // 2].measured_at
    data = fetch_all(api, f"/studies/{oncology.id}/measurements", measured_at=day.isoformat())
    assert data and {m["measured_at"] for m in data} == {day.isoformat()}
    assert len(data) == sum(1 for m in oncology.measurements if m.measured_at == day)
    animal = oncology.animals[0]
    per_animal = api.get(
        f"/animals/{animal.id}/measurements", params={"measured_at": day.isoformat()}
    ).json()["data"]
    assert len(per_animal) <= 1  # a preset measurement is recorded at most once per day


def test_treatment_id_finds_the_groups_that_receive_it(api: httpx.Client, oncology: Study):
    group = oncology.groups[2]
    treatment = group.treatments[0]
    data = api.get(f"/studies/{oncology.id}/groups", params={"treatment_id": treatment.id}).json()[
        "data"
    ]
    assert [g["id"] for g in data] == [group.id]
    assigned = api.get(f"/studies/{oncology.id}/groups/{group.id}/treatments").json()["data"]
    assert [t["id"] for t in assigned] == [treatment.id]


def test_metadata_term_matches_any_metadata_value(api: httpx.Client, oncology: Study):
    animal = oncology.animals[3]
    term = animal.metadata["animal-internal-id"]
    data = api.get("/animals", params={"metadata": term}).json()["data"]
    assert [a["id"] for a in data] == [animal.id]


def test_metadata_key_value_pairs(api: httpx.Client, world: World, tox: Study):
    data = api.get("/studies", params={"therapeutic-area": "Toxicology"}).json()["data"]
    assert [s["id"] for s in data] == [s.id for s in world.studies if s.kind == "tox"]
    cages = fetch_all(api, "/cages", **{"housing-room": "Room 214"})
    expected = [
        c.id for s in world.studies for c in s.cages if c.metadata["housing-room"] == "Room 214"
    ]
    assert [c["id"] for c in cages] == expected and expected
    assert api.get("/studies", params={"therapeutic-area": "Cardiology"}).json()["data"] == []


def test_unknown_parameters_are_ignored_where_there_is_no_metadata(api: httpx.Client, world: World):
    data = api.get("/species", params={"colour": "blue"}).json()["data"]
    assert len(data) == len(world.records("species"))


def test_study_id_on_cages(api: httpx.Client, tox: Study):
    cages = fetch_all(api, "/cages", study_id=tox.id)
    assert [c["id"] for c in cages] == [c.id for c in tox.cages]
    assert all(c["study"]["id"] == tox.id for c in cages)


def test_cage_id_and_catalog_on_animals(api: httpx.Client, tox: Study):
    cage = tox.cages[1]
    data = api.get(f"/studies/{tox.id}/animals", params={"cage_id": cage.id}).json()["data"]
    assert data and all(a["cage"]["id"] == cage.id for a in data)
    animal = tox.animals[5]
    data = api.get("/animals", params={"catalog": animal.catalog}).json()["data"]
    assert [a["id"] for a in data] == [animal.id]


def test_type(api: httpx.Client, world: World):
    samples = api.get("/glossary", params={"type": "samples"}).json()["data"]
    assert samples and {g["group"] for g in samples} == {"samples"}
    tumours = fetch_all(api, "/samples", type="Tumour")
    assert tumours and {s["type"] for s in tumours} == {"Tumour"}
    scores = api.get("/team-glossary", params={"type": "observations"}).json()["data"]
    assert len(scores) == len(world.records("team_glossary"))
    globals_ = api.get("/metadata", params={"type": "animal"}).json()["data"]
    assert globals_ and {m["type"] for m in globals_} == {"animal"}


def test_include_inactive_metadata(api: httpx.Client, world: World):
    active = fetch_all(api, "/metadata")
    everything = fetch_all(api, "/metadata", include_inactive="true")
    assert len(everything) == len(world.records("metadata_glossary"))
    assert all(m["active"] for m in active)
    assert len(active) < len(everything)


def test_metadata_options_query(api: httpx.Client, world: World):
    field = next(r for r in world.records("metadata_glossary") if r.keys["title"] == "Vendor")
    data = api.get(f"/metadata/{field.keys['id']}/options", params={"query": "river"}).json()[
        "data"
    ]
    assert data == [{"value": "Charles River"}]


def test_project_user_role_filters(api: httpx.Client, world: World):
    project = world.records("projects")[0].keys["id"]
    technicians = api.get(f"/projects/{project}/roles", params={"role_name": "technician"}).json()
    assert technicians["data"] and {r["role"]["name"] for r in technicians["data"]} == {
        "Technician"
    }
    by_email = api.get(f"/projects/{project}/roles", params={"user_email": "m.patel@"}).json()
    assert [r["user"]["name"] for r in by_email["data"]] == ["Maya Patel"]


def test_samples_sort_and_order(api: httpx.Client):
    ascending = fetch_all(api, "/samples", sort="date", order="asc")
    descending = fetch_all(api, "/samples", sort="date", order="desc")
    dates = [s["collected_at"] for s in ascending]
    assert dates == sorted(dates)
    assert [s["collected_at"] for s in descending] == sorted(dates, reverse=True)
