"""The synthetic studies look like real oncology and toxicology studies, and their numbers obey the
arithmetic the reports check."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest

from invivo_pipeline.sources.invivo.simulator.generate.world import World
from invivo_pipeline_tests.support.simulator_api import fetch_all

Json = dict[str, Any]


@pytest.fixture(scope="module")
def served(api: httpx.Client, world: World) -> dict[str, dict[str, list[Json]]]:
    """Per study: its groups, animals, measurements, dosages, observations and samples, over HTTP."""
    out: dict[str, dict[str, list[Json]]] = {}
    for study in world.studies:
        out[study.id] = {
            part: fetch_all(api, f"/studies/{study.id}/{part}")
            for part in ("groups", "animals", "measurements", "dosages", "observations", "samples")
        }
    return out


def _calc(measurement: Json, key: str) -> Json | None:
    return next((c for c in measurement["calculations"] if c["key"] == key), None)


def test_every_status_and_kind_is_present(api: httpx.Client):
    studies = api.get("/studies").json()["data"]
    assert {s["status"] for s in studies} == {"in_progress", "completed", "canceled", "draft"}
    presets = {api.get(f"/studies/{s['id']}/preset").json()["name"] for s in studies}
    assert presets == {"Subcutaneous Tumor - Two variable", "Body weight"}
    for study in studies:
        if study["status"] == "completed":
            assert study["completed_at"] and not study["canceled_at"]
        if study["status"] == "canceled":
            assert study["canceled_at"] and not study["completed_at"]
        if study["status"] == "draft":
            assert study["started_on"] is None


def test_exactly_one_control_group_per_study(served: dict[str, dict[str, list[Json]]]):
    for parts in served.values():
        assert 4 <= len(parts["groups"]) <= 6
        assert sum(1 for g in parts["groups"] if g["control"]) == 1


def test_draft_studies_have_no_animals(world: World, served: dict[str, dict[str, list[Json]]]):
    drafts = [s.id for s in world.studies if s.status == "draft"]
    assert drafts and all(not served[d]["animals"] for d in drafts)


def test_nothing_is_recorded_after_termination(served: dict[str, dict[str, list[Json]]]):
    terminated = 0
    for parts in served.values():
        ended = {a["id"]: a["terminated_at"] for a in parts["animals"] if a["terminated_at"]}
        terminated += len(ended)
        for kind, stamp in (
            ("measurements", "measured_at"),
            ("dosages", "dosed_at"),
            ("observations", "observed_at"),
            ("samples", "collected_at"),
        ):
            for item in parts[kind]:
                end = ended.get(item["animal"]["id"])
                assert end is None or item[stamp][:10] <= end, (kind, item["id"])
    assert terminated > 0


def test_humane_endpoints_are_respected(served: dict[str, dict[str, list[Json]]]):
    reasons: set[str] = set()
    for parts in served.values():
        reasons |= {a["terminated_reason"]["title"] for a in parts["animals"] if a["terminated_at"]}
        for m in parts["measurements"]:
            volume = _calc(m, "tumour_volume")
            if volume is not None and Decimal(volume["value"]) >= 2000:
                assert m["animal"]["terminated_at"] == m["measured_at"]
    assert {"Tumour volume endpoint", "Scheduled sacrifice"} <= reasons


def test_tumour_volume_is_width_width_length_over_two(served: dict[str, dict[str, list[Json]]]):
    checked = 0
    for parts in served.values():
        for m in parts["measurements"]:
            calc = _calc(m, "tumour_volume")
            if calc is None:
                continue
            values = {v["key"]: Decimal(v["value"]) for v in calc["variables"]}
            width, length = values["width"], values["length"]
            assert length >= width
            expected = (width * width * length / 2).quantize(Decimal("0.01"), ROUND_HALF_UP)
            assert Decimal(calc["value"]) == expected, m["id"]
            checked += 1
    assert checked > 1000


def test_dose_arithmetic(served: dict[str, dict[str, list[Json]]]):
    checked = 0
    for parts in served.values():
        for d in parts["dosages"]:
            weight = Decimal(d["weight_at_dosing"])
            dose_volume = Decimal(d["dose_volume"]["value"])
            assert Decimal(d["volume"]["value"]) == weight * dose_volume  # µl = g * ml/kg
            assert Decimal(d["dose"]["value"]) == Decimal(d["stock"]["value"]) * dose_volume
            assert d["dose"]["value"] == d["treatment"]["dose"]["value"]
            assert d["weight_at_dosing"] == _calc(d["measurement"], "weight")["value"]  # type: ignore[index]
            assert d["measurement"]["measured_at"] == d["dosed_at"][:10]
            checked += 1
    assert checked > 1000


def test_treated_groups_get_their_treatment(
    served: dict[str, dict[str, list[Json]]], api: httpx.Client
):
    for study_id, parts in served.items():
        control = {g["id"] for g in parts["groups"] if g["control"]}
        for d in parts["dosages"]:
            is_vehicle = d["dose"]["value"] == "0"
            assert is_vehicle == (d["animal"]["study_group_id"] in control), study_id


def _final_group_means(parts: dict[str, list[Json]]) -> dict[str, float]:
    by_group_day: dict[str, dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    for m in parts["measurements"]:
        calc = _calc(m, "tumour_volume")
        if calc is not None:
            by_group_day[m["animal"]["study_group_id"]][m["measured_at"]].append(
                Decimal(calc["value"])
            )
    return {
        group: float(sum(days[max(days)]) / len(days[max(days)]))
        for group, days in by_group_day.items()
    }


def test_treatment_slows_tumour_growth(served: dict[str, dict[str, list[Json]]]):
    compared = 0
    for parts in served.values():
        means = _final_group_means(parts)
        if not means:
            continue
        groups = sorted(parts["groups"], key=lambda g: g["no"])
        control, top = groups[0], groups[-1]
        assert control["control"]
        assert means[control["id"]] > means[top["id"]]
        if len(parts["measurements"]) >= 20 * len(parts["animals"]):
            assert means[top["id"]] < 0.5 * means[control["id"]]
            compared += 1
    assert compared >= 2


def test_numbers_are_strings_like_the_reference(served: dict[str, dict[str, list[Json]]]):
    for parts in served.values():
        for m in parts["measurements"][:200]:
            for calc in m["calculations"]:
                assert isinstance(calc["value"], str)
                assert not calc["value"].endswith(".0")
                Decimal(calc["value"])


def test_terminal_samples_and_observations_use_the_glossary(
    api: httpx.Client, served: dict[str, dict[str, list[Json]]]
):
    glossary = {g["id"]: g for g in fetch_all(api, "/glossary")}
    sample_types = {g["title"] for g in glossary.values() if g["group"] == "samples"}
    for parts in served.values():
        for s in parts["samples"]:
            assert s["type"] in sample_types
            assert s["sample_id"].startswith("S") and s["sample_id"][1:].isdigit()
        for o in parts["observations"]:
            assert glossary[o["glossary_id"]]["group"] == "observations"
            assert o["title"] == glossary[o["glossary_id"]]["title"]
        for a in parts["animals"]:
            if a["terminated_reason"]:
                reason = glossary[a["terminated_reason"]["glossary_id"]]
                assert reason["group"] == "euthanize_reasons"
