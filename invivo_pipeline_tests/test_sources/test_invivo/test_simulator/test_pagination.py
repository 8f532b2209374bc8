"""The list envelope: page sizes, page arithmetic, links that drop perPage, complete coverage."""

from __future__ import annotations

import math
from collections import Counter

import httpx
import pytest

from invivo_pipeline.sources.invivo.simulator.generate.world import World
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer


@pytest.fixture(scope="module")
def study(world: World) -> str:
    """The in-progress oncology study: it has the most measurements."""
    return next(s.id for s in world.studies if s.status == "in_progress" and s.kind == "oncology")


def test_default_page_size_is_10(api: httpx.Client):
    meta = api.get("/animals").json()["meta"]
    assert meta["per_page"] == 10
    assert meta["to"] - meta["from"] + 1 == 10


def test_per_page_is_capped_and_the_granted_size_reported(api: httpx.Client, study: str):
    body = api.get(f"/studies/{study}/measurements", params={"perPage": 1000}).json()
    assert body["meta"]["per_page"] == 100
    assert len(body["data"]) == 100


def test_last_page_arithmetic(api: httpx.Client, world: World, study: str):
    total = len(world.index("measurements", "study_id")[study])
    for per_page in (7, 37, 100):
        meta = api.get(f"/studies/{study}/measurements", params={"perPage": per_page}).json()[
            "meta"
        ]
        assert meta["total"] == total
        assert meta["last_page"] == math.ceil(total / per_page)
        last = api.get(
            f"/studies/{study}/measurements",
            params={"perPage": per_page, "page": meta["last_page"]},
        ).json()
        assert last["meta"]["to"] == total
        assert len(last["data"]) == total - (meta["last_page"] - 1) * per_page
        assert last["links"]["next"] is None


def test_links_carry_only_the_page_number(server: SimulatorServer, api: httpx.Client, study: str):
    body = api.get(
        f"/studies/{study}/measurements", params={"perPage": 25, "page": 2, "measured_at": ""}
    ).json()
    url = f"{server.base_url}/api/public/v1/studies/{study}/measurements"
    assert body["meta"]["path"] == url
    assert body["links"]["first"] == f"{url}?page=1"
    assert body["links"]["prev"] == f"{url}?page=1"
    assert body["links"]["next"] == f"{url}?page=3"
    assert body["links"]["last"] == f"{url}?page={body['meta']['last_page']}"
    assert "perPage" not in body["links"]["next"]


def test_a_page_past_the_end_is_empty(api: httpx.Client):
    body = api.get("/studies", params={"page": 99}).json()
    assert body["data"] == []
    assert body["meta"]["from"] is None and body["meta"]["to"] is None
    assert body["meta"]["current_page"] == 99
    assert body["links"]["next"] is None


def test_an_empty_list_has_one_page(api: httpx.Client, world: World):
    draft = next(s.id for s in world.studies if s.status == "draft")
    body = api.get(f"/studies/{draft}/animals").json()
    assert body["data"] == []
    assert body["meta"]["total"] == 0
    assert body["meta"]["last_page"] == 1
    assert body["links"]["prev"] is None and body["links"]["next"] is None


def _walk(api: httpx.Client, path: str, per_page: int) -> tuple[list[str], int]:
    """Ids of every page in order, and the number of pages, by page number."""
    ids: list[str] = []
    page = last_page = 1
    while page <= last_page:
        body = api.get(path, params={"perPage": per_page, "page": page}).json()
        ids.extend(item["id"] for item in body["data"])
        last_page = body["meta"]["last_page"]
        page += 1
    return ids, last_page


@pytest.mark.parametrize("per_page", [9, 64, 100])
def test_all_pages_together_hold_every_record_once(
    api: httpx.Client, world: World, study: str, per_page: int
):
    expected = [r.keys["id"] for r in world.index("measurements", "study_id")[study]]
    seen, pages = _walk(api, f"/studies/{study}/measurements", per_page)
    assert seen == expected
    assert max(Counter(seen).values()) == 1
    assert pages == math.ceil(len(expected) / per_page)


def test_one_record_per_page(api: httpx.Client, world: World):
    expected = [r.keys["id"] for r in world.records("studies")]
    seen, pages = _walk(api, "/studies", 1)
    assert seen == expected
    assert pages == len(expected)
