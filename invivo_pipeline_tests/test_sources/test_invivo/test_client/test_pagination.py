"""Paging by number at the granted page size, concurrently, in order, with no request wasted."""

from __future__ import annotations

import asyncio
import math

import pytest

from invivo_pipeline.core.batches import run_sync
from invivo_pipeline.core.errors import MalformedResponseError
from invivo_pipeline.sources.invivo.client import InVivoClient
from invivo_pipeline_tests.support.client import config_for, records, run_client

ANIMALS = "/studies/sdy_1/animals"


async def _pages(client, resource="animals", context=None, filters=None):
    context = {"study_id": "sdy_1"} if context is None else context
    return [b async for b in client.iter_pages(resource, context, filters)]


def test_pages_by_number_at_granted_size_never_following_links_next(stub):
    stub.state.lists[ANIMALS] = records("aml", 250)
    stub.state.per_page_cap = 40

    batches, client = run_client(stub, _pages, requested_per_page=500)

    assert [r["id"] for b in batches for r in b.records] == [f"aml_{i:05d}" for i in range(250)]
    seen = stub.state.requests_to("/api/public/v1" + ANIMALS)
    assert seen[0].params == {"page": "1", "perPage": "500"}
    assert sorted(int(s.params["page"]) for s in seen) == list(range(1, 8))
    assert all(s.params["perPage"] == "40" for s in seen[1:]), "granted size, not the asked one"
    assert len(seen) == math.ceil(250 / 40) == client.metrics.minimum_requests("animals")
    assert all(b.context == {"study_id": "sdy_1"} for b in batches)
    assert [len(b.records) for b in batches] == [40] * 6 + [10]


def test_filters_are_sent_on_every_page(stub):
    stub.state.lists[ANIMALS] = records("aml", 90, sex="female") + records("x", 30, sex="male")
    stub.state.per_page_cap = 20

    batches, _ = run_client(stub, lambda c: _pages(c, filters={"sex": "female"}))

    seen = stub.state.requests_to("/api/public/v1" + ANIMALS)
    assert len(seen) == 5
    assert all(s.params["sex"] == "female" for s in seen)
    assert sum(len(b.records) for b in batches) == 90


def test_filters_with_characters_a_url_must_escape_reach_the_server_intact(stub):
    """The client encodes the query itself (one URL parse per request): what the server decodes
    must be exactly the filter given."""
    awkward = "in progress & a/b=c+ü%"
    stub.state.lists[ANIMALS] = records("aml", 3, sex=awkward) + records("x", 2, sex="male")

    batches, _ = run_client(stub, lambda c: _pages(c, filters={"sex": awkward}))

    seen = stub.state.requests_to("/api/public/v1" + ANIMALS)
    assert [s.params for s in seen] == [{"sex": awkward, "page": "1", "perPage": "500"}]
    assert sum(len(b.records) for b in batches) == 3


@pytest.mark.parametrize(
    ("total", "cap", "expected"),
    [(0, 50, 1), (1, 50, 1), (50, 50, 1), (51, 50, 2), (100, 50, 2), (101, 50, 3)],
)
def test_request_count_is_exactly_the_minimum(stub, total, cap, expected):
    stub.state.lists[ANIMALS] = records("aml", total)
    stub.state.per_page_cap = cap

    batches, client = run_client(stub, _pages)

    assert len(stub.state.api_requests) == expected
    assert len(stub.state.token_requests) == 1
    assert client.metrics.minimum_requests() == expected
    assert client.metrics["animals"].requests == expected
    assert client.metrics["animals"].pages == len(batches) == expected
    assert client.metrics["animals"].records == total


def test_in_flight_requests_never_exceed_concurrency(stub):
    stub.state.lists[ANIMALS] = records("aml", 400)
    stub.state.per_page_cap = 10
    # Long enough that a client starved of CPU (the suite beside a benchmark) still has its three
    # requests in flight together: at 0.02 s a slow client sometimes only ever had two.
    stub.state.delay_s = 0.1

    batches, _ = run_client(stub, _pages, concurrency=3)

    assert len(batches) == 40
    assert stub.state.max_in_flight == 3, "bounded, and actually concurrent"
    numbers = [int(b.records[0]["id"].split("_")[1]) // 10 + 1 for b in batches]
    assert numbers == list(range(1, 41)), "yielded in page order"


def test_pages_added_while_paging_are_fetched(stub):
    stub.state.lists[ANIMALS] = records("aml", 30)
    stub.state.per_page_cap = 10

    def grow(path, page):
        if page == 2 and len(stub.state.lists[ANIMALS]) == 30:
            stub.state.lists[ANIMALS].extend(records("new", 15))

    stub.state.before_list_page = grow
    batches, client = run_client(stub, _pages, concurrency=1)

    ids = [r["id"] for b in batches for r in b.records]
    assert len(ids) == 45 and len(set(ids)) == 45
    assert len(stub.state.api_requests) == 5
    assert client.metrics.minimum_requests("animals") == 5


def test_records_shifted_onto_the_next_page_come_out_once(stub):
    stub.state.lists[ANIMALS] = records("aml", 30)
    stub.state.per_page_cap = 10

    def insert_at_front(path, page):
        if page == 2 and stub.state.lists[ANIMALS][0]["id"] != "new_00000":
            stub.state.lists[ANIMALS].insert(0, {"id": "new_00000"})

    stub.state.before_list_page = insert_at_front
    batches, client = run_client(stub, _pages, concurrency=1)

    ids = [r["id"] for b in batches for r in b.records]
    assert len(ids) == len(set(ids))
    assert client.metrics["animals"].duplicates >= 1
    assert {f"aml_{i:05d}" for i in range(30)} <= set(ids)


def test_a_list_that_shrinks_ends_at_the_first_empty_page(stub):
    stub.state.lists[ANIMALS] = records("aml", 30)
    stub.state.per_page_cap = 10

    def shrink(path, page):
        if page == 2:
            del stub.state.lists[ANIMALS][15:]

    stub.state.before_list_page = shrink
    batches, _ = run_client(stub, _pages, concurrency=1)

    assert [len(b.records) for b in batches] == [10, 5]
    assert len(stub.state.api_requests) == 3


def test_wrong_page_number_in_answer_is_malformed(stub):
    stub.state.lists[ANIMALS] = records("aml", 30)
    stub.state.per_page_cap = 10
    bogus = {"data": [{"id": "zzz"}], "meta": {"current_page": 1, "last_page": 3}}
    bogus["meta"].update(per_page=10, total=30)
    stub.state.inject("envelope", ANIMALS, page=2, body=bogus)

    with pytest.raises(MalformedResponseError, match=r"answered page 1 .* asked for page 2"):
        run_client(stub, _pages)


def test_options_are_keyed_by_their_metadata_field(stub):
    stub.state.lists["/metadata/mgl_1/options"] = [{"value": v} for v in ("a", "b", "a")]

    batches, client = run_client(
        stub, lambda c: _pages(c, "metadata_options", {"metadata_id": "mgl_1"})
    )

    assert batches[0].records == [{"value": "a"}, {"value": "b"}]
    assert batches[0].context == {"metadata_id": "mgl_1"}
    assert client.metrics["metadata_options"].duplicates == 1


def test_list_all_keeps_unknown_fields_as_received(stub):
    stub.state.lists["/species"] = [{"id": "spc_1", "name": "Mouse", "brand_new_field": [1, 2]}]

    result, _ = run_client(stub, lambda c: c.list_all("species"))

    assert result == [{"id": "spc_1", "name": "Mouse", "brand_new_field": [1, 2]}]


def test_headers_carry_token_version_and_user_agent(stub):
    stub.state.lists["/species"] = []

    run_client(stub, lambda c: c.list_all("species"), api_version="2022-12-14")

    (seen,) = stub.state.api_requests
    assert seen.headers["authorization"].startswith("Bearer tok-")
    assert seen.headers["x-studies-api-version"] == "2022-12-14"
    assert seen.headers["accept"] == "application/json"
    assert seen.headers["user-agent"].startswith("invivo-pipeline/")


def test_stopping_early_cancels_the_pages_fetched_ahead(stub):
    stub.state.lists[ANIMALS] = records("aml", 200)
    stub.state.per_page_cap = 10
    stub.state.delay_s = 0.05

    async def first_two(client):
        taken = []
        async for batch in client.iter_pages("animals", {"study_id": "sdy_1"}):
            taken.append(batch)
            if len(taken) == 2:
                break
        return taken

    taken, _ = run_client(stub, first_two, concurrency=4)

    assert len(taken) == 2
    assert len(stub.state.api_requests) <= 1 + 4, "look-ahead is bounded"


def test_single_objects_are_not_paged(stub):
    async def pages(client):
        return [b async for b in client.iter_pages("study_presets", {"study_id": "sdy_1"})]

    with pytest.raises(ValueError, match="use retrieve"):
        run_client(stub, pages)


def test_filters_cannot_override_paging(stub):
    with pytest.raises(ValueError, match="must not set perPage"):
        run_client(stub, lambda c: _pages(c, filters={"perPage": "5"}))


def test_run_sync_with_and_without_a_running_loop(stub):
    stub.state.lists["/species"] = records("spc", 2)

    async def ids():
        async with InVivoClient(config_for(stub)) as client:
            return [r["id"] for r in await client.list_all("species")]

    assert run_sync(ids()) == ["spc_00000", "spc_00001"]

    async def inside_a_loop():
        return run_sync(ids())

    assert asyncio.run(inside_a_loop()) == ["spc_00000", "spc_00001"]
