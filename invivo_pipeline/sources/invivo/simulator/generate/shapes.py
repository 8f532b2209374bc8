"""Entities to the JSON the API serves, key for key and in the reference's key order.

The API embeds the same entity in different forms depending on where it appears, and clients and
the warehouse depend on those differences, so each form is written out here once:

- a top-level study has a ``project`` object; a study embedded in anything else has ``project_id``,
  ``author`` and ``owner`` instead;
- an animal embedded in a measurement, dosage, observation or sample is *compact*: ``study_id``,
  ``study_group_id``, ``cage_id`` instead of objects, and ``disease_induction_date`` last;
- a group or cage embedded in an animal (or a group in a group treatment) carries ``study_id``;
- a treatment embedded in a dosage has ``study_id`` and ``external_entity_id`` last;
- a measurement embedded in a dosage is compact with ``study_id`` and ``animal_id``.

Objects that many records embed (a study, an animal, a user) become ``Shared`` fragments built
once; ``Record.keys`` gets the scope and filter attributes the routes match on.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from invivo_pipeline.sources.invivo.simulator.generate.entities import (
    Animal,
    Cage,
    Dosage,
    GlossaryItem,
    Measurement,
    Metadata,
    MetadataGlossaryItem,
    Observation,
    Project,
    ProjectRole,
    ProjectUserRole,
    Sample,
    Species,
    Strain,
    Study,
    StudyGroup,
    StudyRequest,
    StudyUser,
    TeamGlossaryItem,
    Treatment,
    User,
)
from invivo_pipeline.sources.invivo.simulator.generate.records import Record, Shared

JsonObject = dict[str, Any]


def ts(value: datetime | None) -> str | None:
    """Timestamps are naive UTC in the world and ``...T09:41:39.588940Z`` on the wire."""
    return None if value is None else value.isoformat(timespec="microseconds") + "Z"


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def quantity(value: str, unit: str) -> JsonObject:
    return {"unit": unit, "value": value, "display_unit": unit, "display_value": value}


def metadata_keys(metadata: Metadata) -> dict[str, str]:
    """Metadata as record keys, so ``?metadata=`` and ``?<key>=`` filter without decoding bodies."""
    return {f"metadata:{k}": str(v) for k, v in metadata.items()}


class Shaper:
    """Builds records, reusing one ``Shared`` fragment per embedded entity and form."""

    def __init__(self) -> None:
        self._shared: dict[tuple[str, int], Shared] = {}

    def _fragment(self, form: str, entity: object, build: Any) -> Shared:
        key = (form, id(entity))
        fragment = self._shared.get(key)
        if fragment is None:
            fragment = self._shared[key] = Shared(build(entity))
        return fragment

    # ------------------------------------------------------------------ embedded forms
    def user_compact(self, user: User) -> Shared:
        return self._fragment("user-compact", user, _user_compact)

    def user_full(self, user: User) -> Shared:
        return self._fragment("user-full", user, _user_full)

    def project(self, project: Project) -> Shared:
        return self._fragment("project", project, _project)

    def species(self, species: Species) -> Shared:
        return self._fragment("species", species, _species)

    def study_embedded(self, study: Study) -> Shared:
        return self._fragment("study-embedded", study, self._study_embedded)

    def group_compact(self, group: StudyGroup) -> Shared:
        return self._fragment("group-compact", group, _group_compact)

    def cage_compact(self, cage: Cage) -> Shared:
        return self._fragment("cage-compact", cage, _cage_compact)

    def animal_compact(self, animal: Animal) -> Shared:
        return self._fragment("animal-compact", animal, self._animal_compact)

    def treatment_in_dosage(self, treatment: Treatment) -> Shared:
        return self._fragment("treatment-dosage", treatment, _treatment_in_dosage)

    def refresh_animal(self, animal: Animal) -> None:
        """Re-serialise the compact animal that measurements, doses, observations and samples
        embed, after the animal changed (measured, terminated): every record embedding it serves
        the new state with no rebuild."""
        fragment = self._shared.get(("animal-compact", id(animal)))
        if fragment is not None:
            fragment.set(self._animal_compact(animal))

    def _study_embedded(self, s: Study) -> JsonObject:
        return {
            "id": s.id,
            "project_id": s.project.id,
            "name": s.name,
            "code": s.code,
            "type": s.type,
            "started_on": day(s.started_on),
            "status": s.status,
            "description": s.description,
            "timezone": s.timezone,
            "metadata": s.metadata,
            "author": self.user_compact(s.author),
            "owner": self.user_compact(s.owner),
            "completed_at": ts(s.completed_at),
            "canceled_at": ts(s.canceled_at),
            "created_at": ts(s.created_at),
            "updated_at": ts(s.updated_at),
        }

    def _termination(self, a: Animal) -> tuple[Any, Any, Any, Any]:
        t = a.termination
        if t is None:
            return None, None, None, None
        reason = {"glossary_id": t.reason.id, "title": t.reason.title, "comment": t.comment}
        return day(t.on), self.user_compact(t.by), reason, t.survivor

    def _animal_compact(self, a: Animal) -> JsonObject:
        terminated_at, terminated_by, reason, survivor = self._termination(a)
        return {
            "id": a.id,
            "study_id": a.study.id,
            "study_group_id": a.group.id,
            "cage_id": a.cage.id,
            "catalog": a.catalog,
            "name": a.name,
            "number": a.number,
            "strain": a.strain,
            "species": a.species,
            "sex": a.sex,
            "dob": day(a.dob),
            "tail": a.tail,
            "ear": a.ear,
            "tag": a.tag,
            "donor": a.donor,
            "tracking_date": day(a.tracking_date),
            "terminated_at": terminated_at,
            "terminated_by": terminated_by,
            "terminated_reason": reason,
            "disease_survivor": survivor,
            "metadata": a.metadata,
            "created_at": ts(a.created_at),
            "updated_at": ts(a.updated_at),
            "disease_induction_date": day(a.disease_induction_date),
        }

    # ------------------------------------------------------------------ global resources
    def study(self, s: Study) -> Record:
        body = {
            "id": s.id,
            "name": s.name,
            "code": s.code,
            "type": s.type,
            "status": s.status,
            "description": s.description,
            "timezone": s.timezone,
            "metadata": s.metadata,
            "author": self.user_compact(s.author),
            "owner": self.user_compact(s.owner),
            "project": self.project(s.project),
            "started_on": day(s.started_on),
            "completed_at": ts(s.completed_at),
            "canceled_at": ts(s.canceled_at),
            "created_at": ts(s.created_at),
            "updated_at": ts(s.updated_at),
        }
        keys = {"id": s.id, "study_id": s.id, "project_id": s.project.id, "code": s.code}
        return Record(body, keys | metadata_keys(s.metadata))

    def project_record(self, p: Project) -> Record:
        keys = {"id": p.id, "project_id": p.id, "name": p.name}
        return Record(_project(p), keys | metadata_keys(p.metadata))

    def project_role(self, r: ProjectRole) -> Record:
        body = {
            "id": r.id,
            "name": r.name,
            "metadata": r.metadata,
            "created_at": ts(r.created_at),
            "updated_at": ts(r.created_at),
        }
        return Record(body, {"id": r.id, "name": r.name} | metadata_keys(r.metadata))

    def project_user_role(self, pur: ProjectUserRole) -> Record:
        body = {
            "id": pur.id,
            "role": {"id": pur.role.id, "name": pur.role.name},
            "user": {"id": pur.user.id, "name": pur.user.name, "email": pur.user.email},
            "project": self.project(pur.project),
            "created_at": ts(pur.created_at),
            "updated_at": ts(pur.created_at),
        }
        keys = {
            "id": pur.id,
            "project_id": pur.project.id,
            "role_name": pur.role.name,
            "user_name": pur.user.name,
            "user_email": pur.user.email,
        }
        return Record(body, keys)

    def user(self, u: User) -> Record:
        keys = {"id": u.id, "name": u.name, "email": u.email}
        return Record(_user_full(u), keys | metadata_keys(u.metadata))

    def species_record(self, s: Species) -> Record:
        return Record(_species(s), {"id": s.id, "name": s.name})

    def strain(self, s: Strain) -> Record:
        body = {
            "id": s.id,
            "name": s.name,
            "species": self.species(s.species),
            "active": s.active,
            "created_at": ts(s.created_at),
            "updated_at": ts(s.created_at),
        }
        return Record(body, {"id": s.id, "name": s.name, "species_id": s.species.id})

    def glossary(self, g: GlossaryItem) -> Record:
        return Record(
            {"id": g.id, "title": g.title, "group": g.group}, {"id": g.id, "group": g.group}
        )

    def team_glossary(self, t: TeamGlossaryItem) -> Record:
        body = {
            "id": t.id,
            "title": t.title,
            "group": t.group,
            "description": t.description,
            "type": t.type,
            "options": {"min": str(t.low), "max": str(t.high)},
        }
        return Record(body, {"id": t.id, "group": t.group, "type": t.type})

    def metadata_glossary(self, m: MetadataGlossaryItem) -> Record:
        body = {
            "id": m.id,
            "type": m.type,
            "title": m.title,
            "slug": m.slug,
            "field_type": m.field_type,
            "options": list(m.options),
            "active": m.active,
            "read_only": m.read_only,
        }
        keys = {
            "id": m.id,
            "metadata_id": m.id,
            "title": m.title,
            "type": m.type,
            "active": "true" if m.active else "false",
        }
        return Record(body, keys)

    def metadata_option(self, m: MetadataGlossaryItem, value: str) -> Record:
        return Record({"value": value}, {"metadata_id": m.id, "value": value})

    # ------------------------------------------------------------------ study resources
    def cage(self, c: Cage) -> Record:
        body = {
            "id": c.id,
            "name": c.name,
            "catalog": c.catalog,
            "metadata": c.metadata,
            "study": self.study_embedded(c.study),
            "created_at": ts(c.created_at),
            "updated_at": ts(c.created_at),
        }
        keys = {"id": c.id, "study_id": c.study.id, "name": c.name, "catalog": c.catalog}
        return Record(body, keys | metadata_keys(c.metadata))

    def animal(self, a: Animal) -> Record:
        terminated_at, terminated_by, reason, survivor = self._termination(a)
        body = {
            "id": a.id,
            "catalog": a.catalog,
            "name": a.name,
            "number": a.number,
            "strain": a.strain,
            "species": a.species,
            "sex": a.sex,
            "dob": day(a.dob),
            "tail": a.tail,
            "ear": a.ear,
            "tag": a.tag,
            "donor": a.donor,
            "tracking_date": day(a.tracking_date),
            "disease_induction_date": day(a.disease_induction_date),
            "terminated_at": terminated_at,
            "terminated_by": terminated_by,
            "terminated_reason": reason,
            "disease_survivor": survivor,
            "metadata": a.metadata,
            "study": self.study_embedded(a.study),
            "study_group": self.group_compact(a.group),
            "cage": self.cage_compact(a.cage),
            "created_at": ts(a.created_at),
            "updated_at": ts(a.updated_at),
        }
        keys = {
            "id": a.id,
            "animal_id": a.id,
            "study_id": a.study.id,
            "study_group_id": a.group.id,
            "cage_id": a.cage.id,
            "name": a.name,
            "catalog": a.catalog,
            "sex": a.sex,
        }
        return Record(body, keys | metadata_keys(a.metadata))

    def study_group(self, g: StudyGroup) -> Record:
        body = {
            "id": g.id,
            "name": g.name,
            "no": g.no,
            "color": g.color,
            "max_animals": g.max_animals,
            "control": g.control,
            "metadata": g.metadata,
            "study": self.study_embedded(g.study),
            "created_at": ts(g.created_at),
            "updated_at": ts(g.created_at),
        }
        keys = {
            "id": g.id,
            "study_group_id": g.id,
            "study_id": g.study.id,
            "treatment_ids": " ".join(t.id for t in g.treatments),
        }
        return Record(body, keys | metadata_keys(g.metadata))

    def _treatment_body(self, t: Treatment) -> JsonObject:
        return {
            "id": t.id,
            "type": t.type,
            "name": t.name,
            "external_entity_id": t.external_entity_id,
            "dose": quantity(t.dose, "mg/kg"),
            "dose_volume": quantity(t.dose_volume, "ml/kg"),
            "stock": quantity(t.stock, "mg/ml"),
            "volume": quantity(t.volume, "µl"),
            "metadata": t.metadata,
            "study": self.study_embedded(t.study),
            "created_at": ts(t.created_at),
            "updated_at": ts(t.created_at),
        }

    def treatment(self, t: Treatment) -> Record:
        keys = {"id": t.id, "study_id": t.study.id}
        return Record(self._treatment_body(t), keys | metadata_keys(t.metadata))

    def group_treatment(self, g: StudyGroup, t: Treatment) -> Record:
        body = self._treatment_body(t)
        stamps = {"created_at": body.pop("created_at"), "updated_at": body.pop("updated_at")}
        body["study_group"] = self.group_compact(g)
        body.update(stamps)
        keys = {"id": t.id, "study_id": g.study.id, "study_group_id": g.id}
        return Record(body, keys | metadata_keys(t.metadata))

    def measurement(self, m: Measurement) -> Record:
        animal = m.animal
        body = {
            "id": m.id,
            "measured_at": day(m.measured_at),
            "calculations": _calculations(m),
            "study": self.study_embedded(animal.study),
            "animal": self.animal_compact(animal),
            "user": self.user_full(m.user),
            "created_at": ts(m.recorded_at),
            "updated_at": ts(m.recorded_at),
        }
        keys = {
            "id": m.id,
            "study_id": animal.study.id,
            "animal_id": animal.id,
            "measured_at": body["measured_at"],
        }
        return Record(body, keys)

    def dosage(self, d: Dosage) -> Record:
        animal, t = d.animal, d.treatment
        body = {
            "id": d.id,
            "name": d.name,
            "dosed_at": ts(d.dosed_at),
            "weight_at_dosing": d.weight,
            "dose": quantity(t.dose, "mg/kg"),
            "dose_volume": quantity(t.dose_volume, "ml/kg"),
            "stock": quantity(t.stock, "mg/ml"),
            "volume": quantity(d.volume, "µl"),
            "study": self.study_embedded(animal.study),
            "animal": self.animal_compact(animal),
            "measurement": _measurement_compact(d.measurement),
            "user": self.user_full(d.user),
            "treatment": self.treatment_in_dosage(t),
            "created_at": ts(d.dosed_at),
            "updated_at": ts(d.dosed_at),
        }
        keys = {
            "id": d.id,
            "study_id": animal.study.id,
            "animal_id": animal.id,
            "treatment_id": t.id,
        }
        return Record(body, keys)

    def observation(self, o: Observation) -> Record:
        animal = o.animal
        body = {
            "id": o.id,
            "glossary_id": o.glossary.id,
            "title": o.glossary.title,
            "text": o.text,
            "type": o.type,
            "value": o.value,
            "observed_at": ts(o.observed_at),
            "study": self.study_embedded(animal.study),
            "animal": self.animal_compact(animal),
            "user": self.user_full(o.user),
            "created_at": ts(o.observed_at),
            "updated_at": ts(o.observed_at),
        }
        return Record(body, {"id": o.id, "study_id": animal.study.id, "animal_id": animal.id})

    def sample(self, s: Sample) -> Record:
        animal = s.animal
        body = {
            "id": s.id,
            "sample_id": s.sample_id,
            "type": s.type,
            "collected_at": ts(s.collected_at),
            "details": [{"key": k, "unit": u, "value": v} for k, u, v in s.details],
            "comments": s.comments,
            "metadata": s.metadata,
            "study": self.study_embedded(animal.study),
            "animal": self.animal_compact(animal),
            "user": self.user_full(s.user),
            "created_at": ts(s.collected_at),
            "updated_at": ts(s.collected_at),
        }
        keys = {
            "id": s.id,
            "study_id": animal.study.id,
            "animal_id": animal.id,
            "type": s.type,
            # sort attributes (?sort=animal|cage|date|group|sample|study|type)
            "sort:animal": animal.name,
            "sort:cage": animal.cage.name,
            "sort:date": body["collected_at"],
            "sort:group": f"{animal.group.no:04d}",
            "sort:sample": s.sample_id,
            "sort:study": animal.study.code,
            "sort:type": s.type,
        }
        return Record(body, keys | metadata_keys(s.metadata))

    def study_user(self, su: StudyUser) -> Record:
        u = su.user
        body = {
            "id": u.id,
            "name": u.name,
            "email": u.email,
            "timezone": u.timezone,
            "type": su.type,
            "access": su.access,
            "study": self.study_embedded(su.study),
        }
        return Record(body, {"id": u.id, "study_id": su.study.id})

    def study_request(self, r: StudyRequest) -> Record:
        body = {
            "id": r.id,
            "user_id": r.user.id,
            "assigned_user_id": r.assignee.id,
            "status": r.status,
            "due_date": day(r.due_date),
            "groups": r.groups,
            "fields": r.fields,
            "study": self.study_embedded(r.study),
            "created_at": ts(r.created_at),
            "updated_at": ts(r.updated_at),
        }
        return Record(body, {"id": r.id, "study_id": r.study.id})

    def study_preset(self, s: Study) -> Record:
        body = {
            "name": s.preset.name,
            "calculations": [
                {
                    "key": c.key,
                    "name": c.name,
                    "unit": c.unit,
                    "formula": c.formula,
                    "measurements": [
                        {"key": pm.key, "name": pm.name, "unit": pm.unit} for pm in c.measurements
                    ],
                }
                for c in s.preset.calculations
            ],
            "study": self.study_embedded(s),
        }
        return Record(body, {"study_id": s.id})


# ---------------------------------------------------------------------- plain forms
def _user_compact(u: User) -> JsonObject:
    return {"id": u.id, "name": u.name, "email": u.email, "timezone": u.timezone}


def _user_full(u: User) -> JsonObject:
    return {
        "id": u.id,
        "name": u.name,
        "email": u.email,
        "timezone": u.timezone,
        "status": u.status,
        "metadata": u.metadata,
        "created_at": ts(u.created_at),
        "updated_at": ts(u.created_at),
    }


def _project(p: Project) -> JsonObject:
    return {
        "id": p.id,
        "name": p.name,
        "metadata": p.metadata,
        "created_at": ts(p.created_at),
        "updated_at": ts(p.created_at),
    }


def _species(s: Species) -> JsonObject:
    return {
        "id": s.id,
        "name": s.name,
        "active": s.active,
        "created_at": ts(s.created_at),
        "updated_at": ts(s.created_at),
    }


def _group_compact(g: StudyGroup) -> JsonObject:
    return {
        "id": g.id,
        "study_id": g.study.id,
        "name": g.name,
        "no": g.no,
        "color": g.color,
        "max_animals": g.max_animals,
        "control": g.control,
        "metadata": g.metadata,
        "created_at": ts(g.created_at),
        "updated_at": ts(g.created_at),
    }


def _cage_compact(c: Cage) -> JsonObject:
    return {
        "id": c.id,
        "study_id": c.study.id,
        "name": c.name,
        "catalog": c.catalog,
        "metadata": c.metadata,
        "created_at": ts(c.created_at),
        "updated_at": ts(c.created_at),
    }


def _treatment_in_dosage(t: Treatment) -> JsonObject:
    return {
        "id": t.id,
        "study_id": t.study.id,
        "type": t.type,
        "name": t.name,
        "dose": quantity(t.dose, "mg/kg"),
        "dose_volume": quantity(t.dose_volume, "ml/kg"),
        "stock": quantity(t.stock, "mg/ml"),
        "volume": quantity(t.volume, "µl"),
        "metadata": t.metadata,
        "created_at": ts(t.created_at),
        "updated_at": ts(t.created_at),
        "external_entity_id": t.external_entity_id,
    }


def _calculations(m: Measurement) -> list[JsonObject]:
    weight = {
        "key": "weight",
        "name": "Weight",
        "unit": "g",
        "excluded": False,
        "value": m.weight,
        "formula": "weight",
        "variables": [],
    }
    if m.volume is None:
        return [{"id": m.calc_ids[0], **weight}]
    tumour_id, width_id, length_id, weight_id = m.calc_ids
    return [
        {
            "id": tumour_id,
            "key": "tumour_volume",
            "name": "Tumour Volume",
            "unit": "mm³",
            "excluded": False,
            "value": m.volume,
            "formula": "(width * width * length) / 2",
            "variables": [
                {"id": width_id, "key": "width", "value": m.width, "unit": "mm"},
                {"id": length_id, "key": "length", "value": m.length, "unit": "mm"},
            ],
        },
        {"id": weight_id, **weight},
    ]


def _measurement_compact(m: Measurement) -> JsonObject:
    return {
        "id": m.id,
        "study_id": m.animal.study.id,
        "animal_id": m.animal.id,
        "measured_at": day(m.measured_at),
        "calculations": _calculations(m),
        "created_at": ts(m.recorded_at),
        "updated_at": ts(m.recorded_at),
    }
