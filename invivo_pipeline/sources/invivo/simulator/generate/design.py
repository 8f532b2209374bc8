"""What each study is, before any animal is on it: status, dates, groups, treatments and doses.

Everything about study ``i`` is a function of the seed and ``i`` alone, so the n-th study of a
5-study world is the same study in a 200-study world. The status and kind follow a fixed rotation
that puts every status (``in_progress``, ``completed``, ``canceled``, ``draft``) and both kinds
(oncology efficacy, rat toxicity) into even the smallest default world.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from invivo_pipeline.sources.invivo.simulator.generate import vocab
from invivo_pipeline.sources.invivo.simulator.generate.entities import (
    TUMOUR_PRESET,
    WEIGHT_PRESET,
    Study,
    StudyGroup,
    StudyRequest,
    StudyUser,
    Treatment,
    User,
)
from invivo_pipeline.sources.invivo.simulator.generate.ids import IdSource, stream
from invivo_pipeline.sources.invivo.simulator.generate.numbers import fmt_fixed
from invivo_pipeline.sources.invivo.simulator.generate.tenant import Tenant

# (status, kind) of study i is _ROTATION[i % len(_ROTATION)].
_ROTATION: tuple[tuple[str, str], ...] = (
    ("in_progress", "oncology"),
    ("completed", "oncology"),
    ("in_progress", "tox"),
    ("draft", "oncology"),
    ("canceled", "oncology"),
    ("in_progress", "oncology"),
    ("completed", "oncology"),
    ("completed", "tox"),
    ("in_progress", "oncology"),
    ("completed", "oncology"),
)

# Doses (mg/kg) of the treated groups by number of treated groups; the vehicle group gets 0.
_ONCOLOGY_DOSES = {
    1: (30,),
    2: (10, 50),
    3: (3, 25, 100),
    4: (1, 10, 30, 100),
    5: (1, 3, 10, 30, 100),
}
_TOX_DOSES = {
    1: (300,),
    2: (30, 300),
    3: (20, 100, 400),
    4: (10, 50, 150, 400),
    5: (10, 30, 100, 200, 400),
}

REFERENCE_WEIGHT_G = {"oncology": 20, "tox": 250}
"""Body weight the nominal treatment volume is quoted for (a 20 g mouse, a 250 g rat)."""
DOSE_VOLUME_ML_KG = {"oncology": 10, "tox": 5}
"""Oral gavage volumes within the good-practice limits (mouse PO 10 ml/kg; rat 5 ml/kg)."""


@dataclass(frozen=True)
class StudyTimeline:
    status: str
    kind: str
    started_on: date | None
    days: int
    """Days with measurements (0 for a draft)."""


def timeline(index: int, today: date, days: int, *, combination: bool = False) -> StudyTimeline:
    """Status, kind and dates of study ``index``; a combination study is oncology, completed or
    in progress."""
    status, kind = _ROTATION[index % len(_ROTATION)]
    if combination:
        status, kind = ("completed" if index % 2 else "in_progress"), "oncology"
    days = max(days, 1)
    if status == "in_progress":
        # The last measured day is today or up to two days ago (weekends, a late upload).
        last = today - timedelta(days=index % 3)
        return StudyTimeline(status, kind, last - timedelta(days=days - 1), days)
    if status == "completed":
        last = today - timedelta(days=20 + 9 * (index % 7) + index // len(_ROTATION))
        return StudyTimeline(status, kind, last - timedelta(days=days - 1), days)
    if status == "canceled":
        run = max(3, days // 3)
        start = today - timedelta(days=60 + 5 * (index % 5) + index // len(_ROTATION))
        return StudyTimeline(status, kind, start, run)
    return StudyTimeline(status, kind, None, 0)


def _at(day: date, hour: int, rng: random.Random, within_s: int = 3600) -> datetime:
    """A moment in the hour(s) after ``hour`` on ``day``, with the API's microseconds."""
    jitter = timedelta(seconds=rng.randrange(within_s), microseconds=rng.randrange(10**6))
    return datetime.combine(day, time(hour)) + jitter


def design_study(
    index: int,
    tenant: Tenant,
    today: date,
    days: int,
    n_groups: int,
    *,
    combination: bool = False,
) -> Study:
    """The study, its groups, treatments, users and requests (no animals yet).

    ``combination``: a factorial combination study (vehicle, A, B, A + B; ``_add_combination``)
    instead of a dose-response one."""
    seed = tenant.seed
    rng = stream(seed, "study", index, "design")
    ids = IdSource(seed, "study", index)
    plan = timeline(index, today, days, combination=combination)
    oncology = plan.kind == "oncology"
    model = vocab.TUMOUR_MODELS[index % len(vocab.TUMOUR_MODELS)] if oncology else None

    directors = tenant.users_with_role("Study Director")
    scientists = tenant.users_with_role("Scientist", active_only=False)
    tox_people = [u for u in directors if u.metadata["department"] == "Toxicology"]
    if oncology:
        pharmacology = [u for u in directors if u not in tox_people] or directors
        owner = pharmacology[index % len(pharmacology)]
        author = scientists[index % len(scientists)]
    else:
        owner = tox_people[0] if tox_people else directors[0]
        author = scientists[(index + 1) % len(scientists)]
    onc_projects = tenant.projects[:2]
    project = onc_projects[index % 2] if oncology else tenant.projects[2]

    compound = f"{vocab.COMPOUND_PREFIX}-{1000 + (index * 7919 + 4231) % 9000}"
    partner = f"{vocab.COMPOUND_PREFIX}-{1000 + (index * 6311 + 977) % 9000}"
    if combination:
        compound = f"{compound} + {partner}"
    year = (plan.started_on or today).year % 100
    code = f"{'ONC' if oncology else 'TOX'}-{year:02d}-{index + 1:03d}"
    if oncology:
        assert model is not None
        purpose = "combination" if combination else "efficacy"
        name = f"{model.name} {model.kind} {purpose} of {compound}"
        description = (
            f"Subcutaneous {model.name} {model.kind} model in {model.strain} mice: "
            f"{compound} vs vehicle, {plan.days}-day treatment from randomisation at ~125 mm³."
        )
        metadata = {
            "study-internal-id": f"STUDY-{index + 1:04d}",
            "therapeutic-area": "Oncology",
            "tumour-model": model.name,
            "internal-category": "AB"[index % 2],
        }
    else:
        name = f"{plan.days}-day repeat-dose oral toxicity of {compound} in rats"
        description = f"GLP-like {plan.days}-day oral gavage toxicity study of {compound} in Sprague Dawley rats."
        metadata = {
            "study-internal-id": f"STUDY-{index + 1:04d}",
            "therapeutic-area": "Toxicology",
            "internal-category": "C",
        }

    created_day = (plan.started_on or today - timedelta(days=1 + index % 4)) - timedelta(days=14)
    created_at = _at(created_day, 9, rng, 8 * 3600)
    completed_at = canceled_at = None
    updated_at = created_at
    if plan.status == "completed":
        assert plan.started_on is not None
        completed_at = _at(plan.started_on + timedelta(days=plan.days), 15, rng)
        updated_at = completed_at
    elif plan.status == "canceled":
        assert plan.started_on is not None
        canceled_at = _at(plan.started_on + timedelta(days=plan.days - 1), 16, rng)
        updated_at = canceled_at
    elif plan.started_on is not None:
        updated_at = _at(plan.started_on, 8, rng)

    study = Study(
        id=ids.new("sdy"),
        index=index,
        kind=plan.kind,
        status=plan.status,
        name=name,
        code=code,
        type="external" if index % 4 == 3 else "internal",
        description=description,
        timezone=owner.timezone if owner.timezone != "UTC" else "America/Los_Angeles",
        metadata=metadata,
        author=author,
        owner=owner,
        project=project,
        preset=TUMOUR_PRESET if oncology else WEIGHT_PRESET,
        started_on=plan.started_on,
        completed_at=completed_at,
        canceled_at=canceled_at,
        created_at=created_at,
        updated_at=updated_at,
        schedule="QD" if (index % 3 != 1 or not oncology) else "Q3D",
    )
    if combination:
        _add_combination(study, ids, rng, compound.split(" + "))
    else:
        _add_groups(study, ids, rng, compound, n_groups)
    _add_users(study, tenant, index)
    _add_requests(study, ids, rng, today)
    return study


def _add_groups(
    study: Study, ids: IdSource, rng: random.Random, compound: str, n_groups: int
) -> None:
    n_groups = max(2, n_groups)
    treated = n_groups - 1
    doses = _dose_levels(study.kind, treated)
    dose_volume = DOSE_VOLUME_ML_KG[study.kind]
    reference_weight = REFERENCE_WEIGHT_G[study.kind]
    vehicle_name = "Vehicle (0.5% methylcellulose)"
    stamp = study.created_at
    for level, dose in enumerate((0, *doses)):
        stamp += timedelta(seconds=rng.randrange(20, 90), microseconds=rng.randrange(10**6))
        # stock (mg/ml) in hundredths so that stock * dose volume == dose exactly.
        stock_h = dose * 100 // dose_volume
        stock = fmt_fixed(stock_h, 2)
        dose_text = fmt_fixed(stock_h * dose_volume, 2)
        treatment = Treatment(
            id=ids.new("tmt"),
            study=study,
            type="dose_volume" if level == 0 else "concentration_mlkg",
            name=vehicle_name if level == 0 else f"{compound} {dose_text} mg/kg",
            external_entity_id=f"bfi_{ids.token(8)}",
            dose=dose_text,
            dose_volume=str(dose_volume),
            stock=stock,
            volume=str(reference_weight * dose_volume),
            metadata={"treatment-internal-id": f"TRT-{study.index + 1:04d}-{level + 1}"},
            created_at=stamp,
        )
        study.treatments.append(treatment)
        label = "Vehicle" if level == 0 else f"{compound} {dose_text} mg/kg {study.schedule}"
        study.groups.append(_group(study, ids, level, f"G{level + 1} {label}", stamp, [treatment]))


COMBINATION_ARMS: tuple[tuple[str, tuple[int, ...], float], ...] = (
    ("Vehicle", (), 0.0),
    ("A", (0,), 0.35),
    ("B", (1,), 0.30),
    ("A + B", (0, 1), 0.85),
)
"""(label, which compounds, mean growth inhibition) of a combination study's groups. Bliss
independence on growth rates expects A + B to inhibit 1 − (1 − 0.35 − 0.30) = 0.65; 0.85 is
synergy (a growth rate of 0.15 instead of 0.35 of the control's)."""
COMBINATION_DOSES = (30, 10)
"""mg/kg of compounds A and B, alone and in combination."""


def _add_combination(study: Study, ids: IdSource, rng: random.Random, compounds: list[str]) -> None:
    """Vehicle, A alone, B alone and A + B: the combination group gets A's and B's treatments."""
    dose_volume = DOSE_VOLUME_ML_KG[study.kind]
    reference_weight = REFERENCE_WEIGHT_G[study.kind]
    stamp = study.created_at
    agents: list[Treatment] = []
    for level, (label, uses, efficacy) in enumerate(COMBINATION_ARMS):
        stamp += timedelta(seconds=rng.randrange(20, 90), microseconds=rng.randrange(10**6))
        if not uses or len(uses) == 1:
            dose = COMBINATION_DOSES[uses[0]] if uses else 0
            stock_h = dose * 100 // dose_volume
            dose_text = fmt_fixed(stock_h * dose_volume, 2)
            treatment = Treatment(
                id=ids.new("tmt"),
                study=study,
                type="concentration_mlkg" if uses else "dose_volume",
                name=f"{compounds[uses[0]]} {dose_text} mg/kg"
                if uses
                else label + " (0.5% methylcellulose)",
                external_entity_id=f"bfi_{ids.token(8)}",
                dose=dose_text,
                dose_volume=str(dose_volume),
                stock=fmt_fixed(stock_h, 2),
                volume=str(reference_weight * dose_volume),
                metadata={"treatment-internal-id": f"TRT-{study.index + 1:04d}-{level + 1}"},
                created_at=stamp,
            )
            study.treatments.append(treatment)
            if uses:
                agents.append(treatment)
            treatments = [treatment]
        else:
            treatments = [agents[u] for u in uses]
        name = " + ".join(t.name for t in treatments) if uses else label
        study.groups.append(
            _group(
                study,
                ids,
                level,
                f"G{level + 1} {name} {study.schedule}" if uses else f"G1 {name}",
                stamp,
                treatments,
                efficacy=efficacy if uses else None,
            )
        )


def _group(
    study: Study,
    ids: IdSource,
    level: int,
    name: str,
    stamp: datetime,
    treatments: list[Treatment],
    efficacy: float | None = None,
) -> StudyGroup:
    """A study's group at ``level`` (0: the control), dosed by mouth, created 5 s after ``stamp``."""
    return StudyGroup(
        id=ids.new("grp"),
        study=study,
        name=name,
        no=level + 1,
        color=vocab.GROUP_COLORS[level % len(vocab.GROUP_COLORS)],
        max_animals=0,
        control=level == 0,
        metadata={
            "study-group-internal-id": f"GRP-{study.index + 1:04d}-{level + 1}",
            "dosing-route": "PO",
        },
        created_at=stamp + timedelta(seconds=5),
        treatments=treatments,
        level=level,
        efficacy=efficacy,
    )


def _dose_levels(kind: str, treated: int) -> tuple[int, ...]:
    """Increasing doses (mg/kg) for the treated groups; beyond five, keep doubling the top dose."""
    doses = (_ONCOLOGY_DOSES if kind == "oncology" else _TOX_DOSES)[min(treated, 5)]
    return doses + tuple(doses[-1] * 2 ** (n + 1) for n in range(treated - len(doses)))


def _add_users(study: Study, tenant: Tenant, index: int) -> None:
    study.users.append(StudyUser(study, study.author, "author", "write"))
    if study.owner is not study.author:
        study.users.append(StudyUser(study, study.owner, "owner", "write"))
    department = "Toxicology" if study.kind == "tox" else "In Vivo Pharmacology"
    techs = [
        u for u in tenant.users_with_role("Technician") if u.metadata["department"] == department
    ]
    for tech in techs or tenant.users_with_role("Technician"):
        study.users.append(StudyUser(study, tech, "team", "write"))
    readers = [
        u for u in tenant.users_with_role("Scientist") if u not in (study.author, study.owner)
    ]
    if readers:
        study.users.append(StudyUser(study, readers[index % len(readers)], "team", "read"))


def technicians(study: Study) -> list[User]:
    return [su.user for su in study.users if su.type == "team" and su.access == "write"]


def _add_requests(study: Study, ids: IdSource, rng: random.Random, today: date) -> None:
    techs = technicians(study) or [study.owner]
    count = 1 if study.status in ("draft", "canceled") else 2
    for n in range(count):
        label, field_label, options = vocab.REQUEST_TEMPLATES[
            (study.index + n) % len(vocab.REQUEST_TEMPLATES)
        ]
        ref = ids.token(10)
        pending = study.status in ("draft", "in_progress") and n == count - 1
        base = study.started_on or today
        due = base + timedelta(days=7 * (n + 1))
        created = study.created_at + timedelta(days=1 + n, seconds=rng.randrange(3600))
        study.requests.append(
            StudyRequest(
                id=ids.new("req"),
                study=study,
                user=study.author,
                assignee=techs[n % len(techs)],
                status="pending" if pending else "complete",
                due_date=due,
                groups=[{"ref": ref, "label": label}],
                fields=[
                    {
                        "group_ref": ref,
                        "label": field_label,
                        "value": options[rng.randrange(len(options))],
                        "options": list(options),
                    }
                ],
                created_at=created,
                updated_at=created if pending else created + timedelta(days=7 * (n + 1)),
            )
        )
