"""The one table of In Vivo API resources.

Every readable resource of the API reference is one ``Resource`` row. The client reads its list
route and parent to know what to fetch; the simulator serves every route of every row; the
warehouse names its table and primary key after it; the Dagster assets partition by its scope.
Adding a resource is one row here plus one model in ``models``.

Paths are relative to ``/api/public/v1``. A ``{placeholder}`` names the record attribute the path
scopes by (``study_id``, ``animal_id``, ...); ``{id}`` is the record's own id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import BaseModel

from invivo_pipeline.core.resource_spec import PLACEHOLDER, Resource, Route, Scope
from invivo_pipeline.sources.invivo import models as m

INVIVO_SCHEMA = "invivo_raw"
API_PREFIX = "/api/public/v1"
TOKEN_PATH = f"{API_PREFIX}/oauth/token"
DEFAULT_API_VERSION = "2022-12-14"

STUDY = Scope("study", "study_id")
"""Per-study resources: one slice of the table per study, replaced together."""


@dataclass(frozen=True)
class InVivoResource(Resource):
    """A row of the In Vivo table: the generic resource plus what the simulator and the webhooks
    need to know of it."""

    other_routes: tuple[Route, ...] = ()
    """Further list routes the API offers for the same records (per animal, global, ...)."""
    other_retrieves: tuple[str, ...] = ()
    id_prefix: str | None = None
    webhook_entity: str | None = None
    """Webhook event prefix whose payloads are records of this resource (``animal.measurement``)."""
    has_metadata: bool = False
    schema: str = field(default=INVIVO_SCHEMA, kw_only=True)

    @property
    def routes(self) -> tuple[Route, ...]:
        return (self.route, *self.other_routes)

    @property
    def retrieves(self) -> tuple[str, ...]:
        return ((self.retrieve,) if self.retrieve else ()) + self.other_retrieves


def _animal_child(
    name: str,
    model: type[BaseModel],
    segment: str,
    prefix: str,
    description: str,
    webhook_entity: str,
    filters: tuple[str, ...] = (),
    has_metadata: bool = False,
    references: tuple[tuple[str, str], ...] = (),
) -> InVivoResource:
    """Dosages, measurements, observations and samples share one family of routes."""
    return InVivoResource(
        name=name,
        model=model,
        primary_key=("id",),
        scope=STUDY,
        route=Route(f"/studies/{{study_id}}/{segment}", filters),
        retrieve=f"/studies/{{study_id}}/{segment}/{{id}}",
        other_routes=(
            Route(f"/animals/{{animal_id}}/{segment}", _without(filters, "animal_id")),
            Route(
                f"/studies/{{study_id}}/animals/{{animal_id}}/{segment}",
                _without(filters, "animal_id"),
            ),
        ),
        other_retrieves=(
            f"/animals/{{animal_id}}/{segment}/{{id}}",
            f"/studies/{{study_id}}/animals/{{animal_id}}/{segment}/{{id}}",
        ),
        id_prefix=prefix,
        description=description,
        webhook_entity=webhook_entity,
        has_metadata=has_metadata,
        references=(("animal_id", "animals"), *references),
    )


def _without(filters: tuple[str, ...], name: str) -> tuple[str, ...]:
    return tuple(f for f in filters if f != name)


_SAMPLE_FILTERS = ("sort", "order", "animal_id", "metadata", "type")

RESOURCES: tuple[InVivoResource, ...] = (
    InVivoResource(
        name="studies",
        model=m.Study,
        primary_key=("id",),
        scope=Scope.GLOBAL,
        route=Route("/studies", ("code", "metadata")),
        retrieve="/studies/{id}",
        id_prefix="sdy",
        description="Studies: the unit of work in In Vivo, with status, dates, owner and project.",
        webhook_entity="study",
        has_metadata=True,
    ),
    InVivoResource(
        name="projects",
        model=m.Project,
        primary_key=("id",),
        scope=Scope.GLOBAL,
        route=Route("/projects", ("name", "metadata")),
        retrieve="/projects/{id}",
        id_prefix="pjt",
        description="Projects that group studies.",
        has_metadata=True,
    ),
    InVivoResource(
        name="project_roles",
        model=m.ProjectRole,
        primary_key=("id",),
        scope=Scope.GLOBAL,
        route=Route("/project-roles", ("metadata",)),
        retrieve="/project-roles/{id}",
        id_prefix="prl",
        description="Roles a user can hold in a project.",
        has_metadata=True,
    ),
    InVivoResource(
        name="project_user_roles",
        model=m.ProjectUserRole,
        primary_key=("id",),
        scope=Scope.GLOBAL,
        parent="projects",
        route=Route("/projects/{project_id}/roles", ("role_name", "user_name", "user_email")),
        retrieve="/projects/{project_id}/roles/{id}",
        id_prefix="psl",
        description="Which user holds which role in each project.",
    ),
    InVivoResource(
        name="users",
        model=m.User,
        primary_key=("id",),
        scope=Scope.GLOBAL,
        route=Route("/users", ("name", "email", "metadata")),
        retrieve="/users/{id}",
        id_prefix="usr",
        description="Users of the In Vivo tenant.",
        webhook_entity="user",
        has_metadata=True,
    ),
    InVivoResource(
        name="species",
        model=m.Species,
        primary_key=("id",),
        scope=Scope.GLOBAL,
        route=Route("/species", ("name",)),
        retrieve="/species/{id}",
        id_prefix="spc",
        description="Species available for animals.",
        webhook_entity="species",
    ),
    InVivoResource(
        name="strains",
        model=m.Strain,
        primary_key=("id",),
        scope=Scope.GLOBAL,
        route=Route("/strains", ("name",)),
        retrieve="/strains/{id}",
        id_prefix="stn",
        description="Strains, each of one species.",
        webhook_entity="strain",
    ),
    InVivoResource(
        name="cages",
        model=m.Cage,
        primary_key=("id",),
        scope=Scope.GLOBAL,
        route=Route("/cages", ("name", "study_id", "catalog", "metadata")),
        retrieve="/cages/{id}",
        id_prefix="cge",
        description="Cages housing the animals of a study.",
        webhook_entity="cage",
        has_metadata=True,
    ),
    InVivoResource(
        name="glossary",
        model=m.GlossaryItem,
        primary_key=("id",),
        scope=Scope.GLOBAL,
        route=Route("/glossary", ("type",)),
        retrieve="/glossary/{id}",
        id_prefix="gly",
        description="The team's glossary of samples, observations and euthanasia reasons.",
    ),
    InVivoResource(
        name="team_glossary",
        model=m.TeamGlossaryItem,
        primary_key=("id",),
        scope=Scope.GLOBAL,
        route=Route("/team-glossary", ("type",)),
        id_prefix="tgy",
        description="Team glossary configuration (observation scores and their ranges).",
    ),
    InVivoResource(
        name="metadata_glossary",
        model=m.MetadataGlossaryItem,
        primary_key=("id",),
        scope=Scope.GLOBAL,
        route=Route(
            "/metadata",
            ("title", "type", "include_inactive"),
            complete=(("include_inactive", "true"),),
        ),
        retrieve="/metadata/{id}",
        id_prefix="mgl",
        description="Metadata fields defined for entities that carry metadata.",
    ),
    InVivoResource(
        name="metadata_options",
        model=m.MetadataOption,
        primary_key=("metadata_id", "value"),
        scope=Scope.GLOBAL,
        parent="metadata_glossary",
        route=Route("/metadata/{metadata_id}/options", ("query",)),
        description="Allowed values of each select-type metadata field.",
    ),
    InVivoResource(
        name="animals",
        model=m.Animal,
        primary_key=("id",),
        scope=STUDY,
        route=Route(
            "/studies/{study_id}/animals", ("name", "cage_id", "catalog", "sex", "metadata")
        ),
        retrieve="/studies/{study_id}/animals/{id}",
        other_routes=(Route("/animals", ("name", "cage_id", "catalog", "sex", "metadata")),),
        other_retrieves=("/animals/{id}",),
        id_prefix="aml",
        description="Animals on a study: sex, birth date, strain, group, cage and termination.",
        webhook_entity="animal",
        has_metadata=True,
        references=(("study_id", "studies"),),
    ),
    InVivoResource(
        name="study_groups",
        model=m.StudyGroup,
        primary_key=("id",),
        scope=STUDY,
        route=Route("/studies/{study_id}/groups", ("metadata", "treatment_id")),
        retrieve="/studies/{study_id}/groups/{id}",
        id_prefix="grp",
        description="Treatment groups of a study; exactly one is the control.",
        webhook_entity="study.group",
        has_metadata=True,
    ),
    InVivoResource(
        name="treatments",
        model=m.Treatment,
        primary_key=("id",),
        scope=STUDY,
        route=Route("/studies/{study_id}/treatments", ("metadata",)),
        retrieve="/studies/{study_id}/treatments/{id}",
        id_prefix="tmt",
        description="Treatments of a study with dose, dose volume, stock and volume.",
        webhook_entity="study.treatment",
        has_metadata=True,
    ),
    InVivoResource(
        name="study_group_treatments",
        model=m.StudyGroupTreatment,
        primary_key=("study_group_id", "id"),
        scope=STUDY,
        parent="study_groups",
        route=Route("/studies/{study_id}/groups/{study_group_id}/treatments", ("metadata",)),
        retrieve="/studies/{study_id}/groups/{study_group_id}/treatments/{id}",
        description="Which treatments each study group receives.",
        has_metadata=True,
    ),
    _animal_child(
        "dosages",
        m.Dosage,
        "dosages",
        "dsg",
        "Doses given to animals, with the dose arithmetic (dose, dose volume, stock, volume).",
        "animal.dosage",
        references=(("treatment_id", "treatments"),),
    ),
    _animal_child(
        "measurements",
        m.Measurement,
        "measurements",
        "mst",
        "Daily measurements of animals (tumour volume, body weight) with their calculations.",
        "animal.measurement",
        filters=("measured_at",),
    ),
    _animal_child(
        "observations",
        m.Observation,
        "observations",
        "obs",
        "Clinical observations of animals, scored against the glossary.",
        "animal.observation",
    ),
    InVivoResource(
        name="samples",
        model=m.Sample,
        primary_key=("id",),
        scope=STUDY,
        route=Route("/studies/{study_id}/samples", _SAMPLE_FILTERS),
        retrieve="/studies/{study_id}/samples/{id}",
        other_routes=(
            Route("/samples", (*_SAMPLE_FILTERS, "study_id")),
            Route("/animals/{animal_id}/samples", _without(_SAMPLE_FILTERS, "animal_id")),
            Route(
                "/studies/{study_id}/animals/{animal_id}/samples",
                _without(_SAMPLE_FILTERS, "animal_id"),
            ),
        ),
        other_retrieves=(
            "/samples/{id}",
            "/animals/{animal_id}/samples/{id}",
            "/studies/{study_id}/animals/{animal_id}/samples/{id}",
        ),
        id_prefix="spl",
        description="Samples collected from animals, with their details.",
        webhook_entity="animal.sample",
        has_metadata=True,
        references=(("animal_id", "animals"),),
    ),
    InVivoResource(
        name="study_users",
        model=m.StudyUser,
        primary_key=("study_id", "id"),
        scope=STUDY,
        route=Route("/studies/{study_id}/users"),
        retrieve="/studies/{study_id}/users/{id}",
        description="Users with access to a study and their access level.",
        webhook_entity="study.user",
    ),
    InVivoResource(
        name="study_requests",
        model=m.StudyRequest,
        primary_key=("id",),
        scope=STUDY,
        route=Route("/studies/{study_id}/requests"),
        retrieve="/studies/{study_id}/requests/{id}",
        id_prefix="req",
        description="Requests (tasks) raised on a study.",
        webhook_entity="study.request",
    ),
    InVivoResource(
        name="study_presets",
        model=m.StudyPreset,
        primary_key=("study_id",),
        scope=STUDY,
        route=Route("/studies/{study_id}/preset", single=True),
        description="The measurement preset of a study: its calculations and their formulas.",
    ),
)

BY_NAME: dict[str, InVivoResource] = {r.name: r for r in RESOURCES}


def get(name: str) -> InVivoResource:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown resource {name!r}; known: {', '.join(BY_NAME)}") from None


def children_of(name: str) -> tuple[InVivoResource, ...]:
    return tuple(r for r in RESOURCES if r.parent == name)


@dataclass(frozen=True)
class RouteMatch:
    resource: InVivoResource
    template: str
    params: dict[str, str] = field(default_factory=dict)
    is_list: bool = True


def _template_regex(template: str) -> re.Pattern[str]:
    pattern = PLACEHOLDER.sub(
        lambda mt: f"(?P<{mt.group(1)}>[^/]+)",
        re.escape(template).replace(r"\{", "{").replace(r"\}", "}"),
    )
    return re.compile(f"^{pattern}$")


def match_path(path: str) -> RouteMatch | None:
    """Which resource and route a concrete path (with or without the API prefix) belongs to."""
    if path.startswith(API_PREFIX):
        path = path[len(API_PREFIX) :]
    path = path.split("?", 1)[0]
    for resource in RESOURCES:
        for route in resource.routes:
            if mt := _template_regex(route.path).match(path):
                return RouteMatch(resource, route.path, mt.groupdict(), is_list=not route.single)
        for template in resource.retrieves:
            if mt := _template_regex(template).match(path):
                return RouteMatch(resource, template, mt.groupdict(), is_list=False)
    return None
