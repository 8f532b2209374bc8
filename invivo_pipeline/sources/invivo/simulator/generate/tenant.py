"""The global, study-independent part of the synthetic tenant: people, projects, species, glossaries.

These entities exist before any study and are shared by all of them; their ids depend only on the
seed and their own names, so they do not move when the number of studies changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from invivo_pipeline.sources.invivo.simulator.generate import vocab
from invivo_pipeline.sources.invivo.simulator.generate.entities import (
    GlossaryItem,
    MetadataGlossaryItem,
    Project,
    ProjectRole,
    ProjectUserRole,
    Species,
    Strain,
    TeamGlossaryItem,
    User,
)
from invivo_pipeline.sources.invivo.simulator.generate.ids import stable_id, stream

TENANT_CREATED = datetime(2025, 1, 13, 9, 0, 0)
"""When the tenant was set up: every global entity was created in the weeks after."""


@dataclass
class Tenant:
    seed: int
    users: list[User]
    projects: list[Project]
    project_roles: list[ProjectRole]
    project_user_roles: list[ProjectUserRole]
    species: list[Species]
    strains: list[Strain]
    glossary: list[GlossaryItem]
    team_glossary: list[TeamGlossaryItem]
    metadata_glossary: list[MetadataGlossaryItem]

    def users_with_role(self, role: str, *, active_only: bool = True) -> list[User]:
        return [
            u for u in self.users if u.role == role and (u.status == "active" or not active_only)
        ]

    def glossary_item(self, group: str, title: str) -> GlossaryItem:
        for item in self.glossary:
            if item.group == group and item.title == title:
                return item
        raise KeyError((group, title))

    def strain(self, name: str) -> Strain:
        return next(s for s in self.strains if s.name == name)


def _stamp(seed: int, *parts: object, after: datetime, within_days: int) -> datetime:
    rng = stream(seed, "stamp", *parts)
    return after + timedelta(
        seconds=rng.randrange(within_days * 86400), microseconds=rng.randrange(10**6)
    )


def build_tenant(seed: int) -> Tenant:
    users = [
        User(
            id=stable_id("usr", seed, person.name),
            name=person.name,
            email=_email(person.name),
            timezone=person.timezone,
            status="active" if person.active else "inactive",
            role=person.role,
            metadata={"user-internal-id": f"USER-{i + 1:04d}", "department": person.department},
            created_at=_stamp(seed, "user", i, after=TENANT_CREATED, within_days=20),
        )
        for i, person in enumerate(vocab.PEOPLE)
    ]
    projects = [
        Project(
            id=stable_id("pjt", seed, spec.name),
            name=spec.name,
            metadata={
                "project-internal-id": f"PROJ-{spec.code}",
                "therapeutic-area": spec.area,
                "internal-category": "ABC"[i % 3],
            },
            created_at=_stamp(seed, "project", i, after=TENANT_CREATED, within_days=30),
        )
        for i, spec in enumerate(vocab.PROJECTS)
    ]
    roles = [
        ProjectRole(
            id=stable_id("prl", seed, name),
            name=name,
            metadata={"project-role-internal-id": f"PROJ-ROLE-{i + 1:02d}"},
            created_at=_stamp(seed, "role", i, after=TENANT_CREATED, within_days=5),
        )
        for i, name in enumerate(vocab.PROJECT_ROLES)
    ]
    role_by_name = {r.name: r for r in roles}
    user_roles: list[ProjectUserRole] = []
    for p, project in enumerate(projects):
        toxicology = vocab.PROJECTS[p].area == "Toxicology"
        for u, (user, person) in enumerate(zip(users, vocab.PEOPLE, strict=True)):
            if (person.department == "Toxicology") != toxicology and person.role != "Scientist":
                continue
            user_roles.append(
                ProjectUserRole(
                    id=stable_id("psl", seed, project.name, user.name),
                    project=project,
                    role=role_by_name[person.role],
                    user=user,
                    created_at=_stamp(
                        seed, "user-role", p, u, after=project.created_at, within_days=10
                    ),
                )
            )
    species = [
        Species(
            id=stable_id("spc", seed, name),
            name=name,
            active=True,
            created_at=_stamp(seed, "species", i, after=TENANT_CREATED, within_days=2),
        )
        for i, name in enumerate(vocab.SPECIES)
    ]
    species_by_name = {s.name: s for s in species}
    strains = [
        Strain(
            id=stable_id("stn", seed, spec.name),
            name=spec.name,
            species=species_by_name[spec.species],
            active=spec.active,
            created_at=_stamp(seed, "strain", i, after=TENANT_CREATED, within_days=3),
        )
        for i, spec in enumerate(vocab.STRAINS)
    ]
    glossary = [
        GlossaryItem(id=stable_id("gly", seed, group, title), title=title, group=group)
        for group, titles in (
            ("euthanize_reasons", vocab.EUTHANASIA_REASONS),
            ("samples", vocab.SAMPLE_TYPES),
            ("observations", vocab.OBSERVATION_TITLES),
        )
        for title in titles
    ]
    team_glossary = [
        TeamGlossaryItem(
            id=stable_id("tgy", seed, spec.title),
            title=spec.title,
            group="observations",
            description=spec.description,
            type="numeric",
            low=spec.low,
            high=spec.high,
        )
        for spec in vocab.OBSERVATION_SCORES
    ]
    metadata_glossary = [
        MetadataGlossaryItem(
            id=stable_id("mgl", seed, f.slug),
            type=f.entity,
            title=f.title,
            slug=f.slug,
            field_type=f.field_type,
            options=f.options,
            active=f.active,
            read_only=f.read_only,
        )
        for f in vocab.METADATA_FIELDS
    ]
    return Tenant(
        seed=seed,
        users=users,
        projects=projects,
        project_roles=roles,
        project_user_roles=user_roles,
        species=species,
        strains=strains,
        glossary=glossary,
        team_glossary=team_glossary,
        metadata_glossary=metadata_glossary,
    )


def _email(name: str) -> str:
    first, last = name.lower().split(" ", 1)
    return f"{first[0]}.{last.replace(' ', '')}@{vocab.TENANT_DOMAIN}"
