"""The synthetic tenant as plain objects, before any JSON shape is applied.

The generator works on these (an animal knows its group, cage and study as objects) and ``shapes``
turns them into the API's several JSON forms of the same entity (full, embedded, compact). Numbers
the API sends as strings are kept here already formatted, because they are computed with exact
decimal arithmetic and must not pass through floats again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

Metadata = dict[str, Any]


@dataclass(eq=False, slots=True)
class User:
    id: str
    name: str
    email: str
    timezone: str
    status: str
    role: str
    metadata: Metadata
    created_at: datetime


@dataclass(eq=False, slots=True)
class Project:
    id: str
    name: str
    metadata: Metadata
    created_at: datetime


@dataclass(eq=False, slots=True)
class ProjectRole:
    id: str
    name: str
    metadata: Metadata
    created_at: datetime


@dataclass(eq=False, slots=True)
class ProjectUserRole:
    id: str
    project: Project
    role: ProjectRole
    user: User
    created_at: datetime


@dataclass(eq=False, slots=True)
class Species:
    id: str
    name: str
    active: bool
    created_at: datetime


@dataclass(eq=False, slots=True)
class Strain:
    id: str
    name: str
    species: Species
    active: bool
    created_at: datetime


@dataclass(eq=False, slots=True)
class GlossaryItem:
    id: str
    title: str
    group: str


@dataclass(eq=False, slots=True)
class TeamGlossaryItem:
    id: str
    title: str
    group: str
    description: str
    type: str
    low: int
    high: int


@dataclass(eq=False, slots=True)
class MetadataGlossaryItem:
    id: str
    type: str
    title: str
    slug: str
    field_type: str
    options: tuple[str, ...]
    active: bool
    read_only: bool


@dataclass(frozen=True)
class PresetMeasurement:
    key: str
    name: str
    unit: str


@dataclass(frozen=True)
class PresetCalculation:
    key: str
    name: str
    unit: str
    formula: str
    measurements: tuple[PresetMeasurement, ...]


@dataclass(frozen=True)
class Preset:
    name: str
    calculations: tuple[PresetCalculation, ...]

    @property
    def has_tumour(self) -> bool:
        return any(c.key == "tumour_volume" for c in self.calculations)


TUMOUR_PRESET = Preset(
    "Subcutaneous Tumor - Two variable",
    (
        PresetCalculation(
            "tumour_volume",
            "Tumour Volume",
            "mm³",
            "(width * width * length) / 2",
            (
                PresetMeasurement("width", "Width", "mm"),
                PresetMeasurement("length", "Length", "mm"),
            ),
        ),
        PresetCalculation(
            "weight", "Weight", "g", "weight", (PresetMeasurement("weight", "Weight", "g"),)
        ),
    ),
)
WEIGHT_PRESET = Preset(
    "Body weight",
    (
        PresetCalculation(
            "weight", "Weight", "g", "weight", (PresetMeasurement("weight", "Weight", "g"),)
        ),
    ),
)


@dataclass(eq=False, slots=True)
class Study:
    id: str
    index: int
    kind: str
    """``oncology`` (tumour efficacy) or ``tox`` (repeat-dose toxicity)."""
    status: str
    name: str
    code: str
    type: str
    description: str
    timezone: str
    metadata: Metadata
    author: User
    owner: User
    project: Project
    preset: Preset
    started_on: date | None
    completed_at: datetime | None
    canceled_at: datetime | None
    created_at: datetime
    updated_at: datetime
    schedule: str
    """Dosing frequency of every treated group (``QD`` or ``Q3D``)."""
    groups: list[StudyGroup] = field(default_factory=list)
    treatments: list[Treatment] = field(default_factory=list)
    cages: list[Cage] = field(default_factory=list)
    animals: list[Animal] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    dosages: list[Dosage] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    users: list[StudyUser] = field(default_factory=list)
    requests: list[StudyRequest] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Treatment:
    id: str
    study: Study
    type: str
    name: str
    external_entity_id: str
    dose: str
    """mg/kg; always ``stock * dose_volume`` exactly."""
    dose_volume: str
    """ml/kg."""
    stock: str
    """mg/ml."""
    volume: str
    """µl for the reference body weight of the species (``weight * dose_volume``)."""
    metadata: Metadata
    created_at: datetime


@dataclass(eq=False, slots=True)
class StudyGroup:
    id: str
    study: Study
    name: str
    no: int
    color: str
    max_animals: int
    control: bool
    metadata: Metadata
    created_at: datetime
    treatments: list[Treatment]
    level: int
    """0 for the vehicle control, then 1..n by increasing dose."""
    efficacy: float | None = None
    """Mean growth inhibition of a combination study's group; None: from the dose level."""


@dataclass(eq=False, slots=True)
class Cage:
    id: str
    study: Study
    name: str
    catalog: str
    metadata: Metadata
    created_at: datetime


@dataclass(eq=False, slots=True)
class Termination:
    on: date
    by: User
    reason: GlossaryItem
    comment: str
    survivor: bool | None


@dataclass(eq=False, slots=True)
class Animal:
    id: str
    study: Study
    group: StudyGroup
    cage: Cage
    catalog: str
    name: str
    number: int
    strain: str
    species: str
    sex: str
    dob: date
    tail: str
    ear: str
    tag: str
    donor: str | None
    tracking_date: date
    disease_induction_date: date | None
    metadata: Metadata
    created_at: datetime
    updated_at: datetime
    termination: Termination | None = None


@dataclass(eq=False, slots=True)
class Measurement:
    id: str
    animal: Animal
    measured_at: date
    recorded_at: datetime
    user: User
    weight: str
    width: str | None
    length: str | None
    volume: str | None
    calc_ids: tuple[str, ...]
    """Ids of the tumour calculation, its width and length variables, then the weight calculation."""


@dataclass(eq=False, slots=True)
class Dosage:
    id: str
    animal: Animal
    measurement: Measurement
    treatment: Treatment
    user: User
    name: str
    dosed_at: datetime
    weight: str
    volume: str


@dataclass(eq=False, slots=True)
class Observation:
    id: str
    animal: Animal
    glossary: GlossaryItem
    text: str
    type: str
    value: str
    observed_at: datetime
    user: User


@dataclass(eq=False, slots=True)
class Sample:
    id: str
    animal: Animal
    sample_id: str
    type: str
    collected_at: datetime
    details: tuple[tuple[str, str, str], ...]
    """(key, unit, value) per detail."""
    comments: str
    metadata: Metadata
    user: User


@dataclass(eq=False, slots=True)
class StudyUser:
    study: Study
    user: User
    type: str
    access: str


@dataclass(eq=False, slots=True)
class StudyRequest:
    id: str
    study: Study
    user: User
    assignee: User
    status: str
    due_date: date
    groups: list[dict[str, Any]]
    fields: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
