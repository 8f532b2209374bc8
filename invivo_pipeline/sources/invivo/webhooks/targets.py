"""What one webhook event asks the pipeline to refresh: a study partition, global tables, or both.

Driven by ``sources.invivo.table``: an event ``<entity>.<action>`` (``animal.measurement.created``,
``study.treatment.assigned``, ``animal.metadata.updated``) belongs to the resource whose
``webhook_entity`` is the longest prefix of its name. Then:

- a per-study resource refreshes the study partition named in the payload (``study.id``,
  ``study_id``, or the ``study_id`` of the embedded animal, group or treatment);
- a global resource (users, species, strains, cages) refreshes that table;
- a study event refreshes the ``studies`` table, and the study's partition too, because every
  per-study record embeds its study; ``study.created`` registers the partition first and
  ``study.deleted`` drops it (loading ``studies`` then purges the study's rows).

Unknown events are ignored (the daily reconcile still covers whatever they meant).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from invivo_pipeline.core.resource_spec import Resource, Scope
from invivo_pipeline.sources.invivo.table import RESOURCES

BY_ENTITY: dict[str, Resource] = {r.webhook_entity: r for r in RESOURCES if r.webhook_entity}
STUDIES = "studies"
_EMBEDDING_KEYS = ("study", "animal", "study_group", "treatment")
"""Payload members that may name the study, in the order they are trusted."""


@dataclass(frozen=True)
class EventTarget:
    resource: str | None
    """The resource the event is about; ``None`` for an event type the pipeline does not know."""
    study_id: str | None = None
    """The study partition to refresh (to drop, when ``study_deleted``)."""
    global_tables: frozenset[str] = frozenset()
    study_created: bool = False
    study_deleted: bool = False
    problem: str | None = None
    """Why the event cannot be acted on (unknown type, no study in its payload)."""


def resource_of(event: str) -> Resource | None:
    parts = event.split(".")
    for n in range(len(parts) - 1, 0, -1):
        resource = BY_ENTITY.get(".".join(parts[:n]))
        if resource is not None:
            return resource
    return None


def study_id_in(payload: Mapping[str, Any]) -> str | None:
    """The study a per-study record belongs to, wherever the payload's shape puts it."""
    if isinstance(found := payload.get("study_id"), str) and found:
        return found
    for key in _EMBEDDING_KEYS:
        member = payload.get(key)
        if not isinstance(member, Mapping):
            continue
        if key == "study" and isinstance(found := member.get("id"), str) and found:
            return found
        if nested := study_id_in(member):
            return nested
    return None


def target_of(event: str, payload: Mapping[str, Any]) -> EventTarget:
    resource = resource_of(event)
    if resource is None:
        return EventTarget(None, problem=f"unknown event type {event!r}")
    action = event.rsplit(".", 1)[-1]
    if resource.name == STUDIES:
        study_id = payload.get("id") if isinstance(payload.get("id"), str) else None
        if not study_id:
            return EventTarget(STUDIES, global_tables=frozenset({STUDIES}), problem="no study id")
        return EventTarget(
            STUDIES,
            study_id=study_id,
            global_tables=frozenset({STUDIES}),
            study_created=action == "created",
            study_deleted=action == "deleted",
        )
    if resource.scope is Scope.GLOBAL:
        return EventTarget(resource.name, global_tables=frozenset({resource.name}))
    study_id = study_id_in(payload)
    if study_id is None:
        return EventTarget(resource.name, problem=f"no study id in the {event} payload")
    return EventTarget(resource.name, study_id=study_id)
