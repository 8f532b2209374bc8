"""pydantic models of the Cytobank API v1 records the pipeline ingests.

Cytobank spells keys in camelCase (``experimentName``); the models use snake_case names with a
camelCase alias generator, and the warehouse names its columns after the snake_case fields. Unknown
keys are kept (``extra="allow"``) and land in ``_record``. Strict only where the warehouse and the
reports rely on a value: integer ids, timestamps and the statistic numbers.

``experimentId`` is deliberately not a model field: every per-experiment table takes its
``experiment_id`` from the route it was read from (the batch context), like ``study_id`` in In Vivo.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CytobankModel(BaseModel):
    model_config = ConfigDict(
        extra="allow", populate_by_name=True, alias_generator=to_camel, protected_namespaces=()
    )


class Experiment(CytobankModel):
    id: int
    experiment_name: str | None = None
    version: int | None = None
    purpose: str | None = None
    comments: str | None = None
    public: bool | None = None
    deleted: bool | None = None
    gate_version: int | None = None
    primary_researcher_id: int | None = None
    principal_investigator_id: int | None = None
    uploader_id: int | None = None
    project_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class FcsFile(CytobankModel):
    id: int
    filename: str
    sample_name: str | None = None
    md5sum: str | None = None
    file_size: int | None = None
    unique_hash: str | None = None
    event_count: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Panel(CytobankModel):
    id: int
    name: str | None = None
    fcs_files: list[int] | None = None
    channels: list[dict[str, Any]] | None = None


class PanelChannel(CytobankModel):
    """One entry of a panel's ``channels``; ``panel_id`` comes from the panel it is nested in."""

    normalized_short_name_id: int
    short_name: str | None = None
    long_name: str | None = None


class Population(CytobankModel):
    id: int
    gate_set_id: int
    name: str | None = None
    version: int | None = None
    compensation_id: int | None = None
    definition: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Gate(CytobankModel):
    id: int
    gate_id: int
    name: str | None = None
    type: str | None = None
    version: int | None = None
    x_normalized_short_name_id: int | None = None
    y_normalized_short_name_id: int | None = None
    x_short_name: str | None = None
    y_short_name: str | None = None
    tailored: bool | None = None
    tailored_per_population: bool | None = None
    fcs_file_id: int | None = None
    definition: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Compensation(CytobankModel):
    id: int
    name: str | None = None
    sources: list[dict[str, Any]] | None = None
    compensation_matrix: list[list[float]] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class SampleTag(CytobankModel):
    """One cell of the sample-tag TSV: a file's value of one dimension (``-`` becomes null)."""

    fcs_filename: str
    dimension: str
    value: str | None = None


class Statistic(CytobankModel):
    """One element of ``GET /statistics``: one FCS file and one population (gate set)."""

    fcs_file_id: int
    gate_set_id: int
    gate_version: int | None = None
    compensation_id: int | None = None
    event_count: int
    channel_short_name_ids: list[int] | None = None
    minimums: dict[str, float] | None = None
    maximums: dict[str, float] | None = None
    means: dict[str, float] | None = None
    medians: dict[str, float] | None = None
    variances: dict[str, float] | None = None
    standard_deviations: dict[str, float] | None = None
    second_percentiles: dict[str, float] | None = None
    ninety_eighth_percentiles: dict[str, float] | None = None


class AuthenticatedUser(CytobankModel):
    """``POST /authenticate`` → ``{"user": {"id": ..., "authToken": ...}}``."""

    id: int
    auth_token: str
