"""Moving the simulated tenant forward in time, as a lab does between two syncs.

Each day, every in-progress study lives one more ``StudySimulation.step()``: new measurements,
doses, observations and samples, and some animals reach an endpoint. The world is updated in place
instead of being rebuilt: new records go at the end of their study's block (the API's order), the
animals that changed get a new record, and their shared compact form is re-serialised so every
record embedding them serves the new state. Like the real API, none of this touches a study's
``updated_at``: only the child lists grow, which is what change detection must notice.

Each change carries the webhook event that announces it (``animal.measurement.created``,
``animal.updated`` for a termination, ...), so the server can deliver them (``webhook_emitter``).
Deterministic: the same world advanced the same days yields the same records and event ids.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from invivo_pipeline.sources.invivo import table as resource_table
from invivo_pipeline.sources.invivo.simulator.generate.ids import IdSource
from invivo_pipeline.sources.invivo.simulator.generate.records import Record
from invivo_pipeline.sources.invivo.simulator.generate.shapes import Shaper
from invivo_pipeline.sources.invivo.simulator.generate.world import World
from invivo_pipeline.sources.invivo.table import DEFAULT_API_VERSION

MAX_DAYS = 366
"""Most days one call may advance: a guard against a typo that would freeze the server."""

LIVED: dict[str, tuple[str, Callable[[Shaper, Any], Record]]] = {
    "measurements": ("measurements", Shaper.measurement),
    "dosages": ("dosages", Shaper.dosage),
    "observations": ("observations", Shaper.observation),
    "samples": ("samples", Shaper.sample),
}
"""Resources a study day creates: the ``Study`` list that holds them and how they are shaped."""


def _entity(resource_name: str) -> str:
    entity = resource_table.get(resource_name).webhook_entity
    assert entity is not None, f"{resource_name} has no webhook events"
    return entity


@dataclass(frozen=True)
class Change:
    """One record created or updated by a lived day, and the event that announces it."""

    event: str
    resource: str
    record: Record


@dataclass
class WorldChange:
    """What ``advance`` did: the changes in the order they happened, and the days lived."""

    seed: int
    first_day: int
    days: int
    today: date
    changes: list[Change] = field(default_factory=list)

    def created(self) -> dict[str, int]:
        counts = Counter(c.resource for c in self.changes if c.event.endswith(".created"))
        return {name: counts.get(name, 0) for name in LIVED}

    def by_event(self) -> dict[str, int]:
        return dict(sorted(Counter(c.event for c in self.changes).items()))

    def events(self, client_id: str) -> list[dict[str, Any]]:
        """The webhook envelopes ``{id, client_id, event, version, created_at, payload}``."""
        ids = IdSource(self.seed, "webhook-events", self.first_day)
        envelopes = []
        for change in self.changes:
            payload = change.record.body
            envelopes.append(
                {
                    "id": ids.new("whe"),
                    "client_id": client_id,
                    "event": change.event,
                    "version": DEFAULT_API_VERSION,
                    "created_at": payload.get("updated_at") or payload.get("created_at"),
                    "payload": payload,
                }
            )
        return envelopes


def advance(world: World, days: int = 1) -> WorldChange:
    """Live ``days`` more days in every in-progress study; return what changed."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}")
    change = WorldChange(world.config.seed, world.days_advanced, days, world.config.today)
    for _ in range(days):
        change.changes.extend(_one_day(world))
        world.days_advanced += 1
    change.today = world.config.today + timedelta(days=world.days_advanced)
    return change


def _one_day(world: World) -> list[Change]:
    shaper = world.shaper
    changes: list[Change] = []
    created: dict[str, list[Record]] = {name: [] for name in LIVED}
    changed_animals: list[Any] = []
    terminated: list[Any] = []
    for simulation in world.simulations:
        study = simulation.study
        if study.status != "in_progress" or study.started_on is None:
            continue
        before = {name: len(getattr(study, attr)) for name, (attr, _) in LIVED.items()}
        alive = {id(s.animal) for s in simulation.states if s.alive}
        stamps = {id(s.animal): s.animal.updated_at for s in simulation.states}
        simulation.step()
        for state in simulation.states:
            animal = state.animal
            if animal.updated_at != stamps[id(animal)]:
                shaper.refresh_animal(animal)
                changed_animals.append(animal)
                if id(animal) in alive and not state.alive:
                    terminated.append(animal)
        for name, (attr, shape) in LIVED.items():
            for entity in getattr(study, attr)[before[name] :]:
                record = shape(shaper, entity)
                created[name].append(record)
                changes.append(Change(f"{_entity(name)}.created", name, record))
    for name, records in created.items():
        if records:
            world.set_records(name, _insert_by_study(world.records(name), records))
    fresh = {a.id: shaper.animal(a) for a in changed_animals}
    if fresh:
        world.set_records("animals", [fresh.get(r.keys["id"], r) for r in world.records("animals")])
    event = f"{_entity('animals')}.updated"
    changes.extend(Change(event, "animals", fresh[a.id]) for a in terminated)
    return changes


def _insert_by_study(existing: list[Record], new: list[Record]) -> list[Record]:
    """``existing`` with each new record placed after the last record of its study."""
    pending: dict[str | None, list[Record]] = defaultdict(list)
    for record in new:
        pending[record.keys.get("study_id")].append(record)
    last = {record.keys.get("study_id"): i for i, record in enumerate(existing)}
    merged: list[Record] = []
    for i, record in enumerate(existing):
        merged.append(record)
        study_id = record.keys.get("study_id")
        if last[study_id] == i and study_id in pending:
            merged.extend(pending.pop(study_id))
    for rest in pending.values():
        merged.extend(rest)
    return merged
