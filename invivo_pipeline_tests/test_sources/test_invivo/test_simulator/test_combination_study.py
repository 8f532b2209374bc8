"""The factorial combination study (vehicle, A, B, A + B) the world can append to its
dose-response studies, without changing them."""

from __future__ import annotations

import math
from collections import Counter

from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig, build_world

CONFIG = dict(seed=7, studies=3, animals_per_study=24, days=14)


def test_appending_a_combination_study_leaves_the_other_studies_as_they_were():
    plain = build_world(WorldConfig(**CONFIG))
    mixed = build_world(WorldConfig(**CONFIG, combination_studies=1))
    assert len(mixed.studies) == 4
    combination_id = mixed.studies[-1].id
    for name, records in plain._records.items():
        kept = [r.body for r in mixed.records(name) if r.keys.get("study_id") != combination_id]
        assert [r.body for r in records] == kept[: len(records)], name


def test_the_combination_groups_share_the_single_agents_treatments():
    world = build_world(WorldConfig(**CONFIG, combination_studies=1))
    study = world.studies[-1]
    assert study.kind == "oncology" and study.status in ("in_progress", "completed")
    vehicle, a, b, ab = study.groups
    assert vehicle.control and not any(g.control for g in (a, b, ab))
    assert ab.treatments == [a.treatments[0], b.treatments[0]]
    assert "combination of" in study.name
    links = [
        r.body for r in world.records("study_group_treatments") if r.body["study"]["id"] == study.id
    ]
    assert Counter(link["study_group"]["id"] for link in links) == {
        vehicle.id: 1,
        a.id: 1,
        b.id: 1,
        ab.id: 2,
    }
    # Each dosing day of an A + B animal has one dosage of each treatment.
    per_day = Counter(
        (d.animal.id, d.dosed_at.date()) for d in study.dosages if d.animal.group is ab
    )
    assert per_day and set(per_day.values()) == {2}
    treatments = {d.treatment.id for d in study.dosages if d.animal.group is ab}
    assert treatments == {a.treatments[0].id, b.treatments[0].id}


def test_the_combination_grows_slowest_and_beyond_bliss_additivity():
    world = build_world(WorldConfig(**{**CONFIG, "animals_per_study": 40}, combination_studies=1))
    study = world.studies[-1]
    growth = {}
    for group in study.groups:
        rates = []
        for animal in (a for a in study.animals if a.group is group):
            volumes = [
                (m.measured_at, float(m.volume))
                for m in study.measurements
                if m.animal is animal and m.volume is not None
            ]
            if len(volumes) >= 5:
                (d0, v0), (d1, v1) = volumes[0], volumes[-1]
                rates.append(math.log(v1 / v0) / (d1 - d0).days)
        growth[group.name.split()[0]] = sum(rates) / len(rates)
    c, a, b, ab = (growth[g] for g in ("G1", "G2", "G3", "G4"))
    assert ab < min(a, b) < c
    assert ab < a + b - c  # below what Bliss independence expects: synergy
