"""The synthetic In Vivo tenant: generated once, then served read-only.

``build_world`` designs each study, lives it day by day (``StudySimulation``), and turns every
entity into the records the API lists, in the API's order. Nothing here reads the clock: dates are
relative to a fixed ``today``, so the same ``WorldConfig`` always yields byte-identical records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from invivo_pipeline.sources.invivo import table as resource_table
from invivo_pipeline.sources.invivo.simulator.generate.design import design_study, timeline
from invivo_pipeline.sources.invivo.simulator.generate.entities import Study
from invivo_pipeline.sources.invivo.simulator.generate.records import Record
from invivo_pipeline.sources.invivo.simulator.generate.shapes import Shaper
from invivo_pipeline.sources.invivo.simulator.generate.study_sim import StudySimulation
from invivo_pipeline.sources.invivo.simulator.generate.tenant import Tenant, build_tenant

__all__ = ["TODAY", "Record", "World", "WorldConfig", "build_world"]

TODAY = date(2026, 11, 2)
"""The world's fixed "today": in-progress studies were last measured on or just before it."""

T = TypeVar("T")


@dataclass(frozen=True)
class WorldConfig:
    seed: int = 7
    studies: int = 5
    animals_per_study: int = 40
    days: int = 21
    """Measurement days of an in-progress (and of a completed) study."""
    groups_per_study: int = 5
    """Groups per study: one vehicle control plus increasing doses of one compound."""
    today: date = TODAY
    combination_studies: int = 0
    """Factorial combination studies (vehicle, A, B, A + B) after the ``studies`` dose-response
    ones, as study numbers ``studies``, ``studies + 1``, …: the others stay as they were."""


class World:
    """Every record of every resource, in the order the API lists them, with lookups for routes."""

    def __init__(
        self,
        config: WorldConfig,
        tenant: Tenant,
        studies: list[Study],
        simulations: list[StudySimulation],
        shaper: Shaper,
    ) -> None:
        self.config = config
        self.tenant = tenant
        self.studies = studies
        # Kept so that a later "advance one day" can step the in-progress studies and refresh
        # the shared fragments (a newly terminated animal) instead of rebuilding the world.
        self._simulations = simulations
        self._shaper = shaper
        self._records = _records(tenant, studies, shaper)
        self._indexes: dict[tuple[str, str], dict[str, list[Record]]] = {}
        self.days_advanced = 0
        """Days lived since the world was built (``advance``); 0 for a world as configured."""

    @property
    def simulations(self) -> list[StudySimulation]:
        """The study simulations, in study order; ``advance`` steps the in-progress ones."""
        return self._simulations

    @property
    def shaper(self) -> Shaper:
        return self._shaper

    def set_records(self, resource_name: str, records: list[Record]) -> None:
        """Replace what a resource lists (after ``advance``) and forget the indexes built on it."""
        resource_table.get(resource_name)
        self._records[resource_name] = records
        for key in [k for k in self._indexes if k[0] == resource_name]:
            del self._indexes[key]

    def records(self, resource_name: str) -> list[Record]:
        resource_table.get(resource_name)  # a clear error for a misspelt name
        return self._records[resource_name]

    def index(self, resource_name: str, key: str) -> dict[str, list[Record]]:
        """Records of a resource grouped by one of their keys (kept in listing order)."""
        cache_key = (resource_name, key)
        found = self._indexes.get(cache_key)
        if found is None:
            found = {}
            for record in self.records(resource_name):
                value = record.keys.get(key)
                if value is not None:
                    found.setdefault(value, []).append(record)
            self._indexes[cache_key] = found
        return found

    def get(self, resource_name: str, record_id: str) -> Record | None:
        matches = self.index(resource_name, "id").get(record_id)
        return matches[0] if matches else None

    def counts(self) -> dict[str, int]:
        return {name: len(records) for name, records in self._records.items()}


def build_world(config: WorldConfig) -> World:
    tenant = build_tenant(config.seed)
    studies: list[Study] = []
    simulations: list[StudySimulation] = []
    for index in range(config.studies + config.combination_studies):
        combination = index >= config.studies
        study = design_study(
            index,
            tenant,
            config.today,
            config.days,
            config.groups_per_study,
            combination=combination,
        )
        simulation = StudySimulation(study, tenant, config.animals_per_study)
        simulation.run(timeline(index, config.today, config.days, combination=combination).days)
        simulation.close()
        studies.append(study)
        simulations.append(simulation)
    return World(config, tenant, studies, simulations, Shaper())


def _records(tenant: Tenant, studies: list[Study], shape: Shaper) -> dict[str, list[Record]]:

    def per_study(
        build: Callable[[T], Record], items: Callable[[Study], Iterable[T]]
    ) -> list[Record]:
        return [build(item) for study in studies for item in items(study)]

    records = {
        "studies": [shape.study(s) for s in studies],
        "projects": [shape.project_record(p) for p in tenant.projects],
        "project_roles": [shape.project_role(r) for r in tenant.project_roles],
        "project_user_roles": [shape.project_user_role(r) for r in tenant.project_user_roles],
        "users": [shape.user(u) for u in tenant.users],
        "species": [shape.species_record(s) for s in tenant.species],
        "strains": [shape.strain(s) for s in tenant.strains],
        "cages": per_study(shape.cage, lambda s: s.cages),
        "glossary": [shape.glossary(g) for g in tenant.glossary],
        "team_glossary": [shape.team_glossary(t) for t in tenant.team_glossary],
        "metadata_glossary": [shape.metadata_glossary(m) for m in tenant.metadata_glossary],
        "metadata_options": [
            shape.metadata_option(m, value)
            for m in tenant.metadata_glossary
            if m.field_type in ("select", "lookup_select")
            for value in m.options
        ],
        "animals": per_study(shape.animal, lambda s: s.animals),
        "study_groups": per_study(shape.study_group, lambda s: s.groups),
        "treatments": per_study(shape.treatment, lambda s: s.treatments),
        "study_group_treatments": [
            shape.group_treatment(g, t) for s in studies for g in s.groups for t in g.treatments
        ],
        "dosages": per_study(shape.dosage, lambda s: s.dosages),
        "measurements": per_study(shape.measurement, lambda s: s.measurements),
        "observations": per_study(shape.observation, lambda s: s.observations),
        "samples": per_study(shape.sample, lambda s: s.samples),
        "study_users": per_study(shape.study_user, lambda s: s.users),
        "study_requests": per_study(shape.study_request, lambda s: s.requests),
        "study_presets": [shape.study_preset(s) for s in studies],
    }
    missing = set(resource_table.BY_NAME) - set(records)
    assert not missing, f"the world has no records for {sorted(missing)}"
    return records
