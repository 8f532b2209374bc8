"""The one table of Cytobank API v1 resources: what the client fetches, the simulator serves, the
warehouse creates in ``cytobank_raw`` and the Dagster assets materialize.

Rows are ``core.resource_spec.Resource`` rows (same rules: route placeholders become context columns,
the model decides the typed columns) plus what Cytobank needs on top: the envelope key of its
replies and how the records are obtained (a JSON list, entries nested in another resource's records,
the sample-tag TSV download, or the statistics query). Paths are relative to the API root
(``https://<site>.cytobank.org/cytobank/api/v1``). Facts and their evidence are in
``docs/cytobank-api-notes.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from invivo_pipeline.core.resource_spec import Resource, Route, Scope
from invivo_pipeline.sources.cytobank import models as m

CYTOBANK_SCHEMA = "cytobank_raw"
API_PREFIX = "/cytobank/api/v1"
"""Where the simulator serves the API root; ``CYTOBANK_BASE_URL`` names the root itself."""
AUTHENTICATE_PATH = "/authenticate"
STATISTICS_PATH = "/statistics"
SAMPLE_TAGS_PATH = "/experiments/{experiment_id}/download_sample_tags"
TOKEN_TTL_S = 8 * 3600
"""Tokens (password login or pasted from the UI) last 8 hours [E]."""
REQUESTS_PER_MINUTE = 100
"""The documented default limit: 100 requests per minute, then HTTP 429 [E]."""
SHORT_TIMEOUT_S = 30.0
LONG_TIMEOUT_S = 60.0
"""The R wrapper's timeouts: 30 s for lists, shows and the TSV; 60 s for statistics [E]."""


EXPERIMENT = Scope("experiment", "experiment_id")
"""Per-experiment resources: one slice of each table per Cytobank experiment."""


class Fetch(StrEnum):
    LIST = "list"
    """``GET route`` → ``{envelope: [...]}``."""
    NESTED = "nested"
    """Entries of ``nested_key`` inside each record of ``parent`` (panel channels)."""
    SAMPLE_TAGS = "sample_tags"
    """The TSV download, one record per (file, dimension)."""
    STATISTICS = "statistics"
    """``GET /statistics?experimentId=...`` → a bare array, one element per file and population."""


@dataclass(frozen=True)
class CytobankResource(Resource):
    envelope: str = ""
    """Key of the list reply (``fcsFiles``); empty for replies that are not JSON objects."""
    show_envelope: str = ""
    """Key of the single-record reply (``experiment``)."""
    fetch: Fetch = Fetch.LIST
    nested_key: str = ""
    extra_context: tuple[str, ...] = ()
    """Context columns that are not path placeholders (statistics has no experiment path)."""
    long_timeout: bool = False

    @property
    def context_keys(self) -> tuple[str, ...]:
        return (*self.route.placeholders, *self.extra_context)


def _per_experiment(
    name: str,
    model: type,
    segment: str,
    envelope: str,
    show_envelope: str,
    primary_key: tuple[str, ...],
    description: str,
    references: tuple[tuple[str, str], ...] = (),
) -> CytobankResource:
    return CytobankResource(
        name=name,
        model=model,
        primary_key=primary_key,
        scope=EXPERIMENT,
        route=Route(f"/experiments/{{experiment_id}}/{segment}"),
        retrieve=f"/experiments/{{experiment_id}}/{segment}/{{id}}",
        description=description,
        parent="experiments",
        references=(("experiment_id", "experiments"), *references),
        schema=CYTOBANK_SCHEMA,
        envelope=envelope,
        show_envelope=show_envelope,
    )


CYTOBANK_RESOURCES: tuple[CytobankResource, ...] = (
    CytobankResource(
        name="experiments",
        model=m.Experiment,
        primary_key=("id",),
        scope=Scope.GLOBAL,
        route=Route("/experiments"),
        retrieve="/experiments/{id}",
        description="Cytobank experiments visible to the user: name, purpose, versions, owners.",
        schema=CYTOBANK_SCHEMA,
        envelope="experiments",
        show_envelope="experiment",
    ),
    _per_experiment(
        "fcs_files",
        m.FcsFile,
        "fcs_files",
        "fcsFiles",
        "fcsFile",
        ("experiment_id", "id"),
        "FCS files of an experiment: filename, sample name, size and checksum.",
    ),
    _per_experiment(
        "panels",
        m.Panel,
        "panels",
        "panels",
        "panel",
        ("experiment_id", "id"),
        "Antibody panels of an experiment, with their channels and the files they apply to.",
    ),
    CytobankResource(
        name="panel_channels",
        model=m.PanelChannel,
        primary_key=("experiment_id", "panel_id", "normalized_short_name_id"),
        scope=EXPERIMENT,
        route=Route("/experiments/{experiment_id}/panels/{panel_id}"),
        description="Channels of each panel: detector (short name) and marker (long name).",
        parent="panels",
        references=(("experiment_id", "experiments"), ("panel_id", "panels")),
        schema=CYTOBANK_SCHEMA,
        fetch=Fetch.NESTED,
        nested_key="channels",
    ),
    _per_experiment(
        "populations",
        m.Population,
        "populations",
        "populations",
        "population",
        ("experiment_id", "id"),
        "Populations (gate sets): which gates define them; gateSetId keys the statistics.",
    ),
    _per_experiment(
        "gates",
        m.Gate,
        "gates",
        "gates",
        "gate",
        ("experiment_id", "id"),
        "Gates of an experiment's scratch gating: type, channels and geometry.",
    ),
    _per_experiment(
        "compensations",
        m.Compensation,
        "compensations",
        "compensations",
        "compensation",
        ("experiment_id", "id"),
        "Compensation matrices of an experiment, in the order of their source channels.",
    ),
    CytobankResource(
        name="sample_tags",
        model=m.SampleTag,
        primary_key=("experiment_id", "fcs_filename", "dimension"),
        scope=EXPERIMENT,
        route=Route(SAMPLE_TAGS_PATH),
        description="Sample tags (Individuals, Sample Type, Timepoints, ...) per FCS file, from the "
        "experiment's annotation TSV; '-' (no value) is null.",
        parent="experiments",
        references=(("experiment_id", "experiments"),),
        schema=CYTOBANK_SCHEMA,
        fetch=Fetch.SAMPLE_TAGS,
    ),
    CytobankResource(
        name="statistics",
        model=m.Statistic,
        primary_key=("experiment_id", "fcs_file_id", "gate_set_id"),
        scope=EXPERIMENT,
        route=Route(STATISTICS_PATH),
        description="Event counts and per-channel statistics per FCS file and population.",
        parent="experiments",
        references=(("experiment_id", "experiments"),),
        schema=CYTOBANK_SCHEMA,
        fetch=Fetch.STATISTICS,
        extra_context=("experiment_id",),
        long_timeout=True,
    ),
)

BY_NAME: dict[str, CytobankResource] = {r.name: r for r in CYTOBANK_RESOURCES}
GLOBAL_NAMES = tuple(r.name for r in CYTOBANK_RESOURCES if r.scope is Scope.GLOBAL)
EXPERIMENT_NAMES = tuple(r.name for r in CYTOBANK_RESOURCES if r.scope is EXPERIMENT)


def get(name: str) -> CytobankResource:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown Cytobank resource {name!r}; known: {', '.join(BY_NAME)}") from None
