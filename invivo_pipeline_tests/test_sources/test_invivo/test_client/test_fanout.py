"""A whole partition from the resource table: parents first, then one listing per parent record."""

from __future__ import annotations

import pytest

from invivo_pipeline.core.errors import ApiError
from invivo_pipeline.core.resource_spec import Scope
from invivo_pipeline.sources.invivo.table import RESOURCES, STUDY
from invivo_pipeline_tests.support.client import records, run_client

PROJECTS = ["pjt_a", "pjt_b", "pjt_c"]
FIELDS = ["mgl_1", "mgl_2"]
GROUPS = ["grp_1", "grp_2", "grp_3"]


@pytest.fixture
def world(stub):
    lists = stub.state.lists
    for resource in RESOURCES:
        if resource.scope is Scope.GLOBAL and not resource.route.placeholders:
            lists[resource.route.path] = records(resource.id_prefix or resource.name, 2)
    lists["/studies"] = records("sdy", 25)
    lists["/projects"] = [{"id": p} for p in PROJECTS]
    lists["/metadata"] = [{"id": f, "field_type": "select"} for f in FIELDS]
    for project in PROJECTS:
        lists[f"/projects/{project}/roles"] = records(f"psl_{project}", 2)
    for field in FIELDS:
        lists[f"/metadata/{field}/options"] = [{"value": f"{field}-{i}"} for i in range(3)]
    for study in ("sdy_1", "sdy_2"):
        for resource in RESOURCES:
            if resource.scope is STUDY and resource.parent is None and not resource.single:
                path = resource.route.format(study_id=study)
                lists[path] = records(
                    resource.id_prefix or resource.name, 3, measured_at="2024-11-22"
                )
        lists[f"/studies/{study}/groups"] = [{"id": g} for g in GROUPS]
        for group in GROUPS:
            lists[f"/studies/{study}/groups/{group}/treatments"] = records(f"tmt_{group}", 2)
    stub.state.objects["/studies/sdy_1/preset"] = {"name": "Tumour", "calculations": []}
    stub.state.per_page_cap = 10
    return stub


def test_fetch_global_fans_out_over_projects_and_metadata_fields(world):
    batches, client = run_client(world, lambda c: c.fetch_global())

    names = [b.resource for b in batches]
    globals_in_order = [r.name for r in RESOURCES if r.scope is Scope.GLOBAL]
    assert sorted(set(names), key=globals_in_order.index) == globals_in_order
    assert names == sorted(names, key=globals_in_order.index), "table order"

    roles = [b for b in batches if b.resource == "project_user_roles"]
    assert [b.context for b in roles] == [{"project_id": p} for p in PROJECTS]
    assert all(b.records[0]["id"].startswith(f"psl_{b.context['project_id']}") for b in roles)
    options = [b for b in batches if b.resource == "metadata_options"]
    assert [b.context for b in options] == [{"metadata_id": f} for f in FIELDS]
    studies = [b for b in batches if b.resource == "studies"]
    assert len(studies) == 3 and sum(len(b.records) for b in studies) == 25

    assert client.metrics.requests - client.metrics.token_requests == len(world.state.api_requests)
    assert len(world.state.api_requests) == client.metrics.minimum_requests()


def test_fetch_study_fans_out_over_groups_and_includes_the_preset(world):
    batches, client = run_client(world, lambda c: c.fetch_study("sdy_1"))

    by_resource: dict[str, list] = {}
    for batch in batches:
        by_resource.setdefault(batch.resource, []).append(batch)
    study_resources = {r.name for r in RESOURCES if r.scope is STUDY}
    assert set(by_resource) == study_resources
    treatments = by_resource["study_group_treatments"]
    assert [b.context for b in treatments] == [
        {"study_id": "sdy_1", "study_group_id": g} for g in GROUPS
    ]
    (preset,) = by_resource["study_presets"]
    assert preset.context == {"study_id": "sdy_1"}
    assert preset.records == [{"name": "Tumour", "calculations": []}]
    assert all(b.context["study_id"] == "sdy_1" for b in batches)
    paths = {s.path for s in world.state.api_requests}
    assert not any("sdy_2" in p for p in paths)
    assert not any("/animals/" in p for p in paths), "study-wide lists, never per animal"
    assert len(world.state.api_requests) == client.metrics.minimum_requests()


def test_a_subset_fetches_a_parent_only_to_fan_out_and_returns_only_the_subset(world):
    batches, client = run_client(
        world, lambda c: c.fetch_study("sdy_1", names={"study_group_treatments", "samples"})
    )

    assert {b.resource for b in batches} == {"study_group_treatments", "samples"}
    paths = [s.path for s in world.state.api_requests]
    assert "/api/public/v1/studies/sdy_1/groups" in paths, "groups are needed to fan out"
    assert not any(p.endswith(("/animals", "/measurements", "/preset")) for p in paths)
    assert len(paths) == client.metrics.minimum_requests()


def test_a_subset_outside_the_scope_is_refused(world):
    with pytest.raises(ValueError, match="not study resources"):
        run_client(world, lambda c: c.fetch_study("sdy_1", names={"studies"}))


def test_study_without_preset_has_no_preset_batch(world):
    batches, _ = run_client(world, lambda c: c.fetch_study("sdy_2"))

    assert "study_presets" not in {b.resource for b in batches}
    assert {b.resource for b in batches if b.records} >= {"animals", "study_group_treatments"}


def test_a_failing_listing_fails_the_partition_with_its_own_error(world):
    world.state.inject("status", "/studies/sdy_1/samples", status=403, body="Forbidden.")

    with pytest.raises(ApiError, match=r"GET .*/studies/sdy_1/samples\?.*HTTP 403: Forbidden\."):
        run_client(world, lambda c: c.fetch_study("sdy_1"))


def test_list_study_ids(world):
    ids, _ = run_client(world, lambda c: c.list_study_ids())

    assert ids == [f"sdy_{i:05d}" for i in range(25)]


def test_retrieve_by_id_and_single_route(world):
    world.state.objects["/studies/sdy_1/animals/aml_7"] = {"id": "aml_7", "sex": "female"}

    async def both(client):
        return (
            await client.retrieve("animals", {"study_id": "sdy_1"}, "aml_7"),
            await client.retrieve("study_presets", {"study_id": "sdy_1"}),
        )

    (animal, preset), _ = run_client(world, both)

    assert animal == {"id": "aml_7", "sex": "female"}
    assert preset["name"] == "Tumour"


def test_missing_context_is_a_clear_error(world):
    async def pages(client):
        return [b async for b in client.iter_pages("animals")]

    with pytest.raises(ValueError, match=r"animals: /studies/\{study_id\}/animals needs study_id"):
        run_client(world, pages)
