"""The fixed vocabulary of the synthetic tenant: people, species, glossaries, tumour models, compounds.

Kept apart from the generator so that the world reads like a real preclinical organisation (names a
study director would recognise) and so that tests can refer to the same terms by name.
"""

from __future__ import annotations

from dataclasses import dataclass

TENANT_DOMAIN = "northwind-bio.com"


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    """Project role name: who authors studies, who measures animals."""
    timezone: str
    active: bool = True
    department: str = "In Vivo Pharmacology"


PEOPLE: tuple[Person, ...] = (
    Person("Maya Patel", "Study Director", "America/Los_Angeles"),
    Person("Jonas Becker", "Scientist", "Europe/Berlin"),
    Person("Aiko Tanaka", "Technician", "America/Los_Angeles"),
    Person("Luis Romero", "Technician", "America/Los_Angeles"),
    Person("Grace Okafor", "Scientist", "America/New_York"),
    Person("Henrik Larsen", "Study Director", "Europe/Copenhagen", department="Toxicology"),
    Person("Sofia Rossi", "Technician", "Europe/Rome", department="Toxicology"),
    Person("Daniel Kim", "Scientist", "UTC", active=False),
)

PROJECT_ROLES: tuple[str, ...] = ("Study Director", "Scientist", "Technician")


@dataclass(frozen=True)
class ProjectSpec:
    name: str
    code: str
    area: str


PROJECTS: tuple[ProjectSpec, ...] = (
    ProjectSpec("Oncology - Small Molecules", "ONC-SM", "Oncology"),
    ProjectSpec("Immuno-Oncology", "IO", "Oncology"),
    ProjectSpec("Safety Assessment", "SAF", "Toxicology"),
)

SPECIES: tuple[str, ...] = ("Mouse", "Rat")


@dataclass(frozen=True)
class StrainSpec:
    name: str
    species: str
    active: bool = True


STRAINS: tuple[StrainSpec, ...] = (
    StrainSpec("BALB/c nude", "Mouse"),
    StrainSpec("NSG", "Mouse"),
    StrainSpec("C57BL/6", "Mouse"),
    StrainSpec("BALB/c", "Mouse"),
    StrainSpec("NOD SCID", "Mouse", active=False),
    StrainSpec("Sprague Dawley", "Rat"),
    StrainSpec("Wistar Han", "Rat"),
)


@dataclass(frozen=True)
class TumourModel:
    """A cell line (or PDX) implanted subcutaneously, and how fast it grows in untreated mice."""

    name: str
    kind: str
    strain: str
    growth_rate: float
    """Control growth constant k per day (V = V0 * exp(k t))."""
    donor: bool = False


TUMOUR_MODELS: tuple[TumourModel, ...] = (
    TumourModel("MC38", "syngeneic", "C57BL/6", 0.15),
    TumourModel("A549", "xenograft", "BALB/c nude", 0.09),
    TumourModel("CT26", "syngeneic", "BALB/c", 0.14),
    TumourModel("HCT116", "xenograft", "BALB/c nude", 0.11),
    TumourModel("MDA-MB-231", "xenograft", "NSG", 0.08),
    TumourModel("LU-0113 PDX", "PDX", "NSG", 0.10, donor=True),
)

COMPOUND_PREFIX = "NWB"

# Glossary: the team's titles per group; observation titles double as observation types.
EUTHANASIA_REASONS: tuple[str, ...] = (
    "Tumour volume endpoint",
    "Body weight loss",
    "Moribund",
    "Found dead",
    "Ulceration",
    "Scheduled sacrifice",
    "End of study",
)
SAMPLE_TYPES: tuple[str, ...] = ("Blood", "Plasma", "Tumour", "Spleen", "Liver")
OBSERVATION_TITLES: tuple[str, ...] = (
    "Body condition score",
    "Coat condition",
    "Hunched posture",
    "Piloerection",
    "Reduced activity",
    "Tumour ulceration",
    "Dehydration",
)


@dataclass(frozen=True)
class ScoreSpec:
    """A team-glossary observation scored on a numeric scale."""

    title: str
    description: str
    low: int
    high: int


OBSERVATION_SCORES: tuple[ScoreSpec, ...] = (
    ScoreSpec("Body condition score", "1 = emaciated, 3 = optimal, 5 = obese", 1, 5),
    ScoreSpec("Coat condition", "0 = it is ok, 6 = severe loss of grooming", 0, 6),
    ScoreSpec("Reduced activity", "0 = normal, 3 = immobile unless stimulated", 0, 3),
)

SEVERITIES: tuple[str, ...] = ("Mild", "Moderate", "Severe")


@dataclass(frozen=True)
class MetadataField:
    """One metadata glossary field; ``slug`` is the key entities carry in their metadata."""

    title: str
    slug: str
    entity: str
    field_type: str
    options: tuple[str, ...] = ()
    active: bool = True
    read_only: bool = False


METADATA_FIELDS: tuple[MetadataField, ...] = (
    MetadataField("Internal Category Id", "internal-category", "global", "select", ("A", "B", "C")),
    MetadataField("Study internal id", "study-internal-id", "study", "text", read_only=True),
    MetadataField(
        "Therapeutic area",
        "therapeutic-area",
        "study",
        "select",
        ("Oncology", "Immunology", "Toxicology"),
    ),
    MetadataField(
        "Tumour model",
        "tumour-model",
        "study",
        "lookup_select",
        tuple(m.name for m in TUMOUR_MODELS),
    ),
    MetadataField("Legacy LIMS code", "legacy-lims-code", "study", "text", active=False),
    MetadataField("Project internal id", "project-internal-id", "project", "text"),
    MetadataField("Project role internal id", "project-role-internal-id", "project_role", "text"),
    MetadataField("User internal id", "user-internal-id", "user", "text"),
    MetadataField("Animal internal id", "animal-internal-id", "animal", "text"),
    MetadataField(
        "Vendor",
        "vendor",
        "animal",
        "select",
        ("Charles River", "The Jackson Laboratory", "Envigo"),
    ),
    MetadataField("Cage internal id", "cage-internal-id", "cage", "text"),
    MetadataField(
        "Housing room", "housing-room", "cage", "select", ("Room 101", "Room 102", "Room 214")
    ),
    MetadataField("Study group internal id", "study-group-internal-id", "group", "text"),
    MetadataField("Dosing route", "dosing-route", "group", "select", ("PO", "IP", "IV", "SC")),
    MetadataField("Treatment internal id", "treatment-internal-id", "treatment", "text"),
    MetadataField("Sample internal id", "sample-internal-id", "sample", "text"),
    MetadataField(
        "Storage location",
        "storage-location",
        "sample",
        "lookup_select",
        ("Freezer A1", "Freezer A2", "Freezer B1", "Freezer B2", "Fridge C1"),
    ),
)

GROUP_COLORS: tuple[str, ...] = ("#7f7f7f", "#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd")

REQUEST_TEMPLATES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Interim bleed", "Time point", ("1 h", "4 h", "24 h")),
    ("Tumour imaging", "Modality", ("Caliper", "Ultrasound", "Bioluminescence")),
    ("Necropsy", "Tissues", ("Tumour", "Spleen", "Liver")),
)
