"""pydantic models of every In Vivo resource, shaped after the API reference's examples."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from invivo_pipeline.core.model_fields import (
    ApiModel,
    Metadata,
    NumericString,
    Quantity,
    Ref,
    Timestamped,
)


class Study(Timestamped):
    id: str
    name: str | None = None
    code: str | None = None
    type: str | None = None
    status: str | None = None
    description: str | None = None
    timezone: str | None = None
    metadata: Metadata | None = None
    author: Ref | None = None
    owner: Ref | None = None
    project: Ref | None = None
    started_on: date | None = None
    completed_at: datetime | None = None
    canceled_at: datetime | None = None


class Project(Timestamped):
    id: str
    name: str | None = None
    metadata: Metadata | None = None


class ProjectRole(Timestamped):
    id: str
    name: str | None = None
    metadata: Metadata | None = None


class ProjectUserRole(Timestamped):
    id: str
    role: Ref | None = None
    user: Ref | None = None
    project: Ref | None = None


class User(Timestamped):
    id: str
    name: str | None = None
    email: str | None = None
    timezone: str | None = None
    status: str | None = None
    metadata: Metadata | None = None


class Species(Timestamped):
    id: str
    name: str | None = None
    active: bool | None = None


class Strain(Timestamped):
    id: str
    name: str | None = None
    species: Ref | None = None
    active: bool | None = None


class Cage(Timestamped):
    id: str
    name: str | None = None
    catalog: str | None = None
    metadata: Metadata | None = None
    study: Ref | None = None


class GlossaryItem(ApiModel):
    id: str
    title: str | None = None
    group: str | None = None


class TeamGlossaryItem(ApiModel):
    id: str
    title: str | None = None
    group: str | None = None
    description: str | None = None
    type: str | None = None
    options: Any = None


class MetadataGlossaryItem(ApiModel):
    id: str
    type: str | None = None
    title: str | None = None
    slug: str | None = None
    field_type: str | None = None
    options: list[Any] | None = None
    active: bool | None = None
    read_only: bool | None = None


class MetadataOption(ApiModel):
    value: str


class TerminatedReason(ApiModel):
    glossary_id: str | None = None
    title: str | None = None
    comment: str | None = None


class Animal(Timestamped):
    id: str
    catalog: str | None = None
    name: str | None = None
    number: int | None = None
    strain: str | None = None
    species: str | None = None
    sex: str | None = None
    dob: date | None = None
    tail: str | None = None
    ear: str | None = None
    tag: str | None = None
    donor: str | None = None
    tracking_date: date | None = None
    disease_induction_date: date | None = None
    terminated_at: date | None = None
    terminated_by: Ref | None = None
    terminated_reason: TerminatedReason | None = None
    disease_survivor: bool | None = None
    metadata: Metadata | None = None
    study: Ref | None = None
    study_group: Ref | None = None
    cage: Ref | None = None


class StudyGroup(Timestamped):
    id: str
    name: str | None = None
    no: int | None = None
    color: str | None = None
    max_animals: int | None = None
    control: bool | None = None
    metadata: Metadata | None = None
    study: Ref | None = None


class Treatment(Timestamped):
    id: str
    type: str | None = None
    name: str | None = None
    external_entity_id: str | None = None
    dose: Quantity | None = None
    dose_volume: Quantity | None = None
    stock: Quantity | None = None
    volume: Quantity | None = None
    metadata: Metadata | None = None
    study: Ref | None = None


class StudyGroupTreatment(Treatment):
    study_group: Ref | None = None


class Dosage(Timestamped):
    id: str
    name: str | None = None
    dosed_at: datetime | None = None
    weight_at_dosing: NumericString | None = None
    dose: Quantity | None = None
    dose_volume: Quantity | None = None
    stock: Quantity | None = None
    volume: Quantity | None = None
    study: Ref | None = None
    animal: Ref | None = None
    measurement: Ref | None = None
    user: Ref | None = None
    treatment: Ref | None = None


class CalculationVariable(ApiModel):
    id: str | None = None
    key: str
    value: NumericString | None = None
    unit: str | None = None


class Calculation(ApiModel):
    id: str | None = None
    key: str
    name: str | None = None
    unit: str | None = None
    excluded: bool | None = None
    value: NumericString | None = None
    formula: str | None = None
    variables: list[CalculationVariable] = Field(default_factory=list)


class Measurement(Timestamped):
    id: str
    measured_at: date
    calculations: list[Calculation] = Field(default_factory=list)
    study: Ref | None = None
    animal: Ref | None = None
    user: Ref | None = None


class Observation(Timestamped):
    id: str
    glossary_id: str | None = None
    title: str | None = None
    text: str | None = None
    type: str | None = None
    value: str | None = None
    observed_at: datetime | None = None
    study: Ref | None = None
    animal: Ref | None = None
    user: Ref | None = None


class SampleDetail(ApiModel):
    key: str | None = None
    unit: str | None = None
    value: NumericString | None = None


class Sample(Timestamped):
    id: str
    sample_id: str | None = None
    type: str | None = None
    collected_at: datetime | None = None
    details: list[SampleDetail] | None = None
    comments: str | None = None
    metadata: Metadata | None = None
    study: Ref | None = None
    animal: Ref | None = None
    user: Ref | None = None


class StudyUser(ApiModel):
    id: str
    name: str | None = None
    email: str | None = None
    timezone: str | None = None
    type: str | None = None
    access: str | None = None
    study: Ref | None = None


class StudyRequest(Timestamped):
    id: str
    user_id: str | None = None
    assigned_user_id: str | None = None
    status: str | None = None
    due_date: date | None = None
    groups: list[Any] | None = None
    fields: list[Any] | None = None
    study: Ref | None = None


class PresetMeasurement(ApiModel):
    key: str
    name: str | None = None
    unit: str | None = None


class PresetCalculation(ApiModel):
    key: str
    name: str | None = None
    unit: str | None = None
    formula: str | None = None
    measurements: list[PresetMeasurement] = Field(default_factory=list)


class StudyPreset(ApiModel):
    name: str | None = None
    calculations: list[PresetCalculation] = Field(default_factory=list)
    study: Ref | None = None


class OAuthToken(ApiModel):
    token_type: str
    expires_in: int
    access_token: str


class PageLinks(ApiModel):
    first: str | None = None
    last: str | None = None
    prev: str | None = None
    next: str | None = None


class PageMeta(ApiModel):
    current_page: int
    last_page: int
    per_page: int
    total: int
    # ``from``/``to`` are null on an empty page.
    from_: int | None = Field(default=None, alias="from")
    to: int | None = None
    path: str | None = None


class Page(ApiModel):
    """The Laravel-style list envelope; ``data`` items are validated by the resource's model."""

    data: list[dict[str, Any]]
    links: PageLinks | None = None
    meta: PageMeta


class WebhookEvent(ApiModel):
    id: str
    client_id: str | None = None
    event: str
    version: str | None = None
    created_at: datetime | None = None
    payload: dict[str, Any]
