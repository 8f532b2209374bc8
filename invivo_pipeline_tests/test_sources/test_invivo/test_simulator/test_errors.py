"""404 for ids that do not exist or do not belong together; 422 for invalid query parameters."""

from __future__ import annotations

import httpx
import pytest

from invivo_pipeline.sources.invivo.simulator.generate.world import World


@pytest.fixture(scope="module")
def ids(world: World) -> dict[str, str]:
    animals = world.records("animals")
    first, other = (
        animals[0].keys,
        next(a.keys for a in animals if a.keys["study_id"] != animals[0].keys["study_id"]),
    )
    measurement = world.index("measurements", "animal_id")[first["id"]][0].keys
    return {
        "study": first["study_id"],
        "animal": first["id"],
        "other_animal": other["id"],
        "measurement": measurement["id"],
        "group": world.index("study_groups", "study_id")[first["study_id"]][0].keys["id"],
        "other_group": world.index("study_groups", "study_id")[other["study_id"]][0].keys["id"],
    }


@pytest.mark.parametrize(
    "path",
    [
        "/studies/sdy_doesnotexist",
        "/studies/sdy_doesnotexist/animals",
        "/studies/sdy_doesnotexist/preset",
        "/studies/sdy_doesnotexist/animals/{animal}/measurements",
        "/studies/{study}/animals/{other_animal}/measurements",
        "/studies/{study}/animals/{other_animal}",
        "/studies/{study}/groups/{other_group}/treatments",
        "/studies/{study}/measurements/mst_doesnotexist",
        "/animals/aml_doesnotexist",
        "/animals/aml_doesnotexist/dosages",
        "/animals/{other_animal}/measurements/{measurement}",
        "/metadata/mgl_doesnotexist/options",
        "/projects/pjt_doesnotexist/roles",
        "/samples/spl_doesnotexist",
        "/glossary/gly_doesnotexist",
        "/no-such-route",
    ],
)
def test_unknown_ids_are_404_json(api: httpx.Client, ids: dict[str, str], path: str):
    response = api.get(path.format(**ids))
    assert response.status_code == 404
    assert isinstance(response.json()["message"], str)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/studies", {"page": "abc"}, "page"),
        ("/studies", {"page": "0"}, "page"),
        ("/studies", {"perPage": "0"}, "perPage"),
        ("/studies", {"perPage": "-5"}, "perPage"),
        ("/studies", {"perPage": "ten"}, "perPage"),
        ("/animals", {"sex": "x"}, "sex"),
        ("/studies/{study}/measurements", {"measured_at": "2026-13-01"}, "measured_at"),
        ("/studies/{study}/measurements", {"measured_at": "yesterday"}, "measured_at"),
        ("/samples", {"order": "up"}, "order"),
        ("/samples", {"sort": "colour"}, "sort"),
        ("/metadata", {"include_inactive": "maybe"}, "include_inactive"),
    ],
)
def test_bad_parameters_are_422_json(
    api: httpx.Client, ids: dict[str, str], path: str, params: dict[str, str], field: str
):
    response = api.get(path.format(**ids), params=params)
    assert response.status_code == 422
    body = response.json()
    assert isinstance(body["message"], str)
    assert list(body["errors"]) == [field]


def test_all_bad_parameters_are_reported_together(api: httpx.Client):
    response = api.get("/animals", params={"page": "x", "sex": "q"})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"page", "sex"}
    assert "more error" in response.json()["message"]
