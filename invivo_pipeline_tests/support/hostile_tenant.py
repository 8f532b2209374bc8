"""A small In Vivo tenant built from the API reference's own example records, with the
irregularities a real tenant has, served over loopback HTTP by the client tests' stub server.

Not the simulator: every record here is a reference example (``reference_examples.json``) with
its ids rewired so that the tenant holds together (one study, its animals, groups, treatments,
doses and measurements), then spoiled in plausible ways:

- embedded objects with a null id (a dose given without a weighing: ``"measurement": {"id": null,
  ...}``) and a null embedded object: no link, not a bad record;
- a measurement dated ``2024-02-30``: a bad record, quarantined;
- a dose whose dose is not stock concentration × dose volume: a data-quality finding, loaded;
- an unknown extra field on a user: tolerated, kept in ``_record``;
- a body weight and a ``weight_at_dosing`` sent as JSON numbers where the reference sends
  strings: tolerated, stored;
- an observation that is there on the first sync and gone on the second (``next_sync``), which
  also fixes the bad date, so that its record loads and its reject row clears.

``HostileTenant.expected`` says which record ids every table must hold, and ``rejected`` which
records must be in ``_rejected`` and a fragment of each one's reason.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from invivo_pipeline.sources.invivo import table as resource_table
from invivo_pipeline_tests.support.reference import endpoint_examples
from invivo_pipeline_tests.support.stub_api import CLIENT_ID, CLIENT_SECRET, StubServer

STUDY = "sdy_hostile0001"
PROJECT = "pjt_hostile0001"
USER = "usr_hostile0001"
ROLE = "prl_hostile0001"
SPECIES = "spc_hostile0001"
STRAIN = "stn_hostile0001"
CAGE = "cge_hostile0001"
METADATA = "mgl_hostile0001"
GROUPS = ("grp_hostile_ctrl", "grp_hostile_trt1")
TREATMENT = "tmt_hostile0001"
ANIMALS = tuple(f"aml_hostile{i:04d}" for i in range(1, 9))
DAYS = ("2024-11-01", "2024-11-04", "2024-11-08", "2024-11-11")
BAD_DATE = "2024-02-30"
BAD_MEASUREMENT = "mst_hostile_bad_date"
BAD_DOSE = "dsg_hostile0004"
"""The dose whose dose is not stock concentration × dose volume: a data-quality finding."""
VANISHING_OBSERVATION = "obs_hostile_vanishing"


def reference_record(resource: str) -> dict[str, Any]:
    """A deep copy of the first record the reference shows for ``resource`` (a list example's
    first record, else a retrieve example)."""
    found: dict[str, Any] | None = None
    for example in endpoint_examples():
        if example["method"] != "GET" or example["kind"] != "response":
            continue
        match = resource_table.match_path(example["path"])
        if match is None or match.resource.name != resource:
            continue
        body = example["body"]
        if match.is_list and not match.resource.single:
            return copy.deepcopy(body["data"][0])
        found = found or copy.deepcopy(body)
    if found is None:
        raise AssertionError(f"the reference has no example of {resource}")
    return found


def _ref(id_: str | None, **extra: Any) -> dict[str, Any]:
    return {"id": id_, **extra}


def _quantity(value: str, unit: str) -> dict[str, Any]:
    return {"unit": unit, "value": value, "display_unit": unit, "display_value": value}


@dataclass
class HostileTenant:
    lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejected: dict[tuple[str, str], str] = field(default_factory=dict)
    """``(table, record id)`` → a fragment its reason must hold (field and value)."""

    def list_of(self, resource: str, **context: str) -> list[dict[str, Any]]:
        path = resource_table.get(resource).route.path.format(**context)
        return self.lists.setdefault(path, [])

    def expected(self) -> dict[str, set[str]]:
        """Table → the ids (``value`` for metadata options) it must hold after a sync."""
        out: dict[str, set[str]] = {}
        for resource in resource_table.RESOURCES:
            ids = out.setdefault(resource.name, set())
            key = "value" if resource.name == "metadata_options" else "id"
            for path, records in self.lists.items():
                match = resource_table.match_path(path)
                if match is not None and match.resource is resource and match.is_list:
                    ids.update(r[key] for r in records)
            for path in self.objects:
                match = resource_table.match_path(path)
                if match is not None and match.resource is resource:
                    ids.add(STUDY)  # the preset's key is its study
            ids -= {i for table, i in self.rejected if table == resource.name}
        return out

    def next_sync(self) -> None:
        """What changed at the source before the second sync: the bad date was corrected and an
        observation was deleted."""
        for record in self.list_of("measurements", study_id=STUDY):
            if record["id"] == BAD_MEASUREMENT:
                record["measured_at"] = DAYS[2]
        self.rejected.pop(("measurements", BAD_MEASUREMENT))
        observations = self.list_of("observations", study_id=STUDY)
        observations[:] = [o for o in observations if o["id"] != VANISHING_OBSERVATION]

    def serve_on(self, server: StubServer) -> StubServer:
        """Put the tenant on a running stub server (the lists are shared: ``next_sync`` shows)."""
        state = server.reset()
        state.lists = self.lists
        state.objects = self.objects
        return server


def hostile_tenant() -> HostileTenant:
    tenant = HostileTenant()
    _globals(tenant)
    _study(tenant)
    _doses(tenant)
    _measurements(tenant)
    _others(tenant)
    return tenant


def _globals(tenant: HostileTenant) -> None:
    study = reference_record("studies")
    study.update(
        id=STUDY,
        name="Hostile tenant study",
        project=_ref(PROJECT, name="Oncology"),
        author=_ref(USER),
        owner=_ref(USER),
        started_on=DAYS[0],
    )
    tenant.list_of("studies").append(study)
    tenant.list_of("projects").append({**reference_record("projects"), "id": PROJECT})
    tenant.list_of("project_roles").append({**reference_record("project_roles"), "id": ROLE})
    role = reference_record("project_user_roles")
    role.update(id="psl_hostile0001", role=_ref(ROLE), user=_ref(USER), project=_ref(PROJECT))
    tenant.list_of("project_user_roles", project_id=PROJECT).append(role)
    user = {**reference_record("users"), "id": USER}
    # An unknown extra field: the API grows by adding fields; tolerated, kept in _record.
    stranger = {**reference_record("users"), "id": "usr_hostile0002", "favourite_colour": "teal"}
    tenant.list_of("users").extend([user, stranger])
    tenant.list_of("species").append({**reference_record("species"), "id": SPECIES})
    strain = {**reference_record("strains"), "id": STRAIN, "species": _ref(SPECIES)}
    tenant.list_of("strains").append(strain)
    cage = {**reference_record("cages"), "id": CAGE, "study": _ref(STUDY)}
    tenant.list_of("cages").append(cage)
    tenant.list_of("glossary").append({**reference_record("glossary"), "id": "gly_hostile0001"})
    tenant.list_of("team_glossary").append(reference_record("team_glossary"))
    tenant.list_of("metadata_glossary").append(
        {**reference_record("metadata_glossary"), "id": METADATA}
    )
    options = tenant.list_of("metadata_options", metadata_id=METADATA)
    options.append(reference_record("metadata_options"))


def _study(tenant: HostileTenant) -> None:
    for number, group_id in enumerate(GROUPS, start=1):
        group = reference_record("study_groups")
        group.update(
            id=group_id, name=f"Group {number}", no=number, control=number == 1, study=_ref(STUDY)
        )
        tenant.list_of("study_groups", study_id=STUDY).append(group)
        treatment = reference_record("study_group_treatments")
        treatment.update(id=TREATMENT, study=_ref(STUDY), study_group=_ref(group_id))
        path = {"study_id": STUDY, "study_group_id": group_id}
        tenant.list_of("study_group_treatments", **path).append(treatment)
    treatment = reference_record("treatments")
    treatment.update(
        id=TREATMENT,
        study=_ref(STUDY),
        dose=_quantity("100", "mg/kg"),
        dose_volume=_quantity("10", "ml/kg"),
        stock=_quantity("10", "mg/ml"),
    )
    tenant.list_of("treatments", study_id=STUDY).append(treatment)
    for number, animal_id in enumerate(ANIMALS, start=1):
        animal = reference_record("animals")
        animal.update(
            id=animal_id,
            name=f"Mouse {number}",
            number=number,
            catalog=f"A{number:07d}",
            dob="2024-09-01",
            tracking_date=DAYS[0],
            disease_induction_date=DAYS[0],
            terminated_at=None,
            terminated_by=None,
            terminated_reason=None,
            study=_ref(STUDY),
            study_group=_ref(GROUPS[(number - 1) % 2]),
            cage=_ref(CAGE),
        )
        tenant.list_of("animals", study_id=STUDY).append(animal)


def _doses(tenant: HostileTenant) -> None:
    doses = tenant.list_of("dosages", study_id=STUDY)
    treated = [a for i, a in enumerate(ANIMALS) if i % 2 == 1]
    for number, animal_id in enumerate(treated, start=1):
        dose = reference_record("dosages")
        dose.update(
            id=f"dsg_hostile{number:04d}",
            dosed_at=f"{DAYS[0]}T10:00:00.000000Z",
            weight_at_dosing="20.0",
            dose=_quantity("100", "mg/kg"),
            dose_volume=_quantity("10", "ml/kg"),
            stock=_quantity("10", "mg/ml"),
            volume=_quantity("200", "µl"),
            study=_ref(STUDY),
            animal=_ref(animal_id),
            treatment=_ref(TREATMENT),
            user=_ref(USER),
            measurement=_ref(f"mst_hostile_{animal_id}_0"),
        )
        doses.append(dose)
    # A dose given without a weighing: the embedded measurement has a null id.
    doses[0]["measurement"] = {"id": None, "measured_at": None, "calculations": []}
    # The same, sent as a null object.
    doses[1]["measurement"] = None
    # A number sent as a JSON number where the reference sends a string.
    doses[2]["weight_at_dosing"] = 20.5
    # Dose is not stock concentration × dose volume (10 mg/ml × 10 ml/kg = 100 mg/kg): a finding.
    doses[3]["dose"] = _quantity("3.03", "mg/kg")
    assert doses[3]["id"] == BAD_DOSE


def _calculations(day: int, number: int) -> list[dict[str, Any]]:
    width, length = 4 + day * 0.5 + number * 0.1, 6 + day * 0.5 + number * 0.1
    volume = f"{width * width * length / 2:.3f}"
    calc = reference_record("measurements")["calculations"]
    tumour = next(c for c in calc if c["key"] == "tumour_volume")
    weight = next(c for c in calc if c["key"] == "weight")
    tumour = {**tumour, "id": None, "value": volume}
    tumour["variables"] = [
        {"id": None, "key": "width", "value": f"{width:.1f}", "unit": "mm"},
        {"id": None, "key": "length", "value": f"{length:.1f}", "unit": "mm"},
    ]
    return [tumour, {**weight, "id": None, "value": f"{20 + day * 0.2:.1f}"}]


def _measurements(tenant: HostileTenant) -> None:
    measurements = tenant.list_of("measurements", study_id=STUDY)
    for number, animal_id in enumerate(ANIMALS, start=1):
        for day, measured_at in enumerate(DAYS):
            record = reference_record("measurements")
            record.update(
                id=f"mst_hostile_{animal_id}_{day}",
                measured_at=measured_at,
                calculations=_calculations(day, number),
                study=_ref(STUDY),
                animal=_ref(animal_id),
                user=_ref(USER),
            )
            measurements.append(record)
    # A body weight sent as a JSON number: tolerated and stored.
    measurements[1]["calculations"][1]["value"] = 20.2
    # A date that does not exist: quarantined, naming the field and the value.
    bad = copy.deepcopy(measurements[2])
    bad.update(id=BAD_MEASUREMENT, measured_at=BAD_DATE)
    measurements.append(bad)
    tenant.rejected[("measurements", BAD_MEASUREMENT)] = f"measured_at: .*'{BAD_DATE}'"


def _others(tenant: HostileTenant) -> None:
    for obs_id in ("obs_hostile0001", VANISHING_OBSERVATION):
        observation = reference_record("observations")
        observation.update(id=obs_id, study=_ref(STUDY), animal=_ref(ANIMALS[0]), user=_ref(USER))
        tenant.list_of("observations", study_id=STUDY).append(observation)
    sample = reference_record("samples")
    sample.update(id="spl_hostile0001", study=_ref(STUDY), animal=_ref(ANIMALS[0]), user=_ref(USER))
    tenant.list_of("samples", study_id=STUDY).append(sample)
    study_user = {**reference_record("study_users"), "id": USER, "study": _ref(STUDY)}
    tenant.list_of("study_users", study_id=STUDY).append(study_user)
    request = reference_record("study_requests")
    request.update(id="req_hostile0001", study=_ref(STUDY))
    tenant.list_of("study_requests", study_id=STUDY).append(request)
    preset = {**reference_record("study_presets"), "study": _ref(STUDY)}
    tenant.objects[resource_table.get("study_presets").route.path.format(study_id=STUDY)] = preset


def credentials(server: StubServer) -> dict[str, str]:
    """The environment ``invivo sync`` reads to sync from ``server``."""
    return {
        "INVIVO_BASE_URL": server.url,
        "INVIVO_CLIENT_ID": CLIENT_ID,
        "INVIVO_CLIENT_SECRET": CLIENT_SECRET,
    }


def reason_matches(fragment: str, reason: str) -> bool:
    return re.search(fragment, reason) is not None
