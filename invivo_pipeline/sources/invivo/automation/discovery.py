"""Study discovery and change detection: what one tick must refresh, at a known request cost.

Discovery lists the studies and compares each one's ``updated_at`` and ``status`` with the cursor:
a study never seen is registered as a partition and loaded, a changed one is reloaded, one the API
no longer lists has its partition dropped (and loading ``studies`` purges its rows). Studies seen
for the first time that are already loaded (the cursor was reset, or ``invivo sync`` ran first)
only set the baseline: no run.

New measurements, doses, observations and samples do not touch ``study.updated_at``, so for the
studies in progress a probe asks each watched list for one record (``perPage=1``) and reads
``meta.total``; a total that moved (up: new records, down: deletions) reloads the study. The first
probe of a study only records its totals.

Request cost of one tick, all of it measured by the client and reported by the sensor:

- discovery: ``ceil(S / granted_per_page)`` list requests for ``S`` studies (the client asks for
  500 a page; the API grants at most 100), plus **1** token request (each tick has a new client);
- probe, only on ticks where it is due (``INVIVO_PROBE_INTERVAL_S``) or a probe round is under
  way: ``R x min(I, B)`` requests, one per watched list (``R``, default 4: measurements, dosages,
  observations, samples) per in-progress study probed (``I`` in progress, at most
  ``B = PROBE_STUDIES_PER_TICK`` a tick).

A tick with nothing new therefore costs ``ceil(S/100) + 1`` requests, or ``ceil(S/100) + 1 + 4I``
when the probe is due, and launches nothing. 5 studies, 3 in progress: 2 or 14 requests.

A tick runs inside Dagster's 60 s sensor timeout, so one probe round is spread over as many ticks
as it needs: each tick probes the next ``B`` in-progress studies (by id) after the last one the
cursor records, and a round ends (and its interval starts counting) when it reaches the end. A
study in progress for longer than a round is probed once a round, whichever tick it falls in.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from invivo_pipeline.core.errors import ApiError
from invivo_pipeline.core.partition_keys import partition_key_problem, usable_keys
from invivo_pipeline.sources.invivo.client import InVivoClient

IN_PROGRESS = "in_progress"
FINISHED = frozenset({"completed", "canceled", "cancelled"})
CURSOR_VERSION = 1
PROBE_STUDIES_PER_TICK = 100
"""400 requests with the default four lists: a few seconds against the simulator at 2,000
studies (docs/performance.md), far inside the 60 s tick timeout even at a paced API's speed."""


@dataclass(frozen=True)
class ListedStudy:
    id: str
    updated_at: str | None
    status: str | None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ListedStudy:
        return cls(str(record["id"]), record.get("updated_at"), record.get("status"))

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def listed_studies(records: Iterable[Mapping[str, Any]]) -> tuple[list[ListedStudy], list[str]]:
    """The listed studies whose ids can be partition keys, and one line for each that cannot."""
    records = list(records)
    _, refused = usable_keys((r.get("id") for r in records), what="study")
    kept = [
        ListedStudy.from_record(r) for r in records if partition_key_problem(r.get("id")) is None
    ]
    return kept, refused


@dataclass
class DiscoveryCursor:
    """What the last tick saw, as JSON: ``{id: [updated_at, status]}`` and the probe's totals."""

    tick: int = 0
    studies: dict[str, list[str | None]] = field(default_factory=dict)
    totals: dict[str, list[int]] = field(default_factory=dict)
    probe_resources: list[str] = field(default_factory=list)
    probed_at: float | None = None
    """When the last complete probe round started."""
    probe_after: str | None = None
    """The last study probed in a round still under way (``None``: no round under way)."""
    round_started: float | None = None

    def to_json(self) -> str:
        return json.dumps({"v": CURSOR_VERSION, **asdict(self)}, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | None) -> DiscoveryCursor:
        """A cursor from an older or unreadable format starts afresh: that costs a baseline, not
        a reload, because studies already loaded are not reloaded."""
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            if data.get("v") != CURSOR_VERSION:
                return cls()
            return cls(
                tick=int(data["tick"]),
                studies={str(k): list(v) for k, v in data["studies"].items()},
                totals={str(k): [int(n) for n in v] for k, v in data["totals"].items()},
                probe_resources=[str(n) for n in data["probe_resources"]],
                probed_at=data["probed_at"],
                probe_after=data.get("probe_after"),
                round_started=data.get("round_started"),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls()


@dataclass(frozen=True)
class Refresh:
    study_id: str
    reason: str


@dataclass
class DiscoveryPlan:
    cursor: DiscoveryCursor
    listed: int = 0
    add_partitions: list[str] = field(default_factory=list)
    delete_partitions: list[str] = field(default_factory=list)
    refresh: list[Refresh] = field(default_factory=list)
    refresh_globals: bool = False
    """Reload ``studies`` and ``cages``: a study appeared, changed or vanished."""
    probed: int | None = None
    """In-progress studies probed this tick; ``None`` when the probe was not due."""
    probe_left: int = 0
    """In-progress studies the probe round still has to reach on later ticks."""
    refused: list[str] = field(default_factory=list)
    """One line per listed id that cannot be a partition key (that study is left alone)."""
    requests: int = 0
    """HTTP requests this tick made, the token's included."""
    deferred: list[str] = field(default_factory=list)
    """Changed studies left to a later tick because a run loading them is under way."""

    @property
    def quiet(self) -> bool:
        return not (
            self.refresh or self.refresh_globals or self.add_partitions or self.delete_partitions
        )

    def defer(self, study_ids: Collection[str], before: DiscoveryCursor) -> list[str]:
        """Take ``study_ids`` out of this tick's refresh and forget what this tick saw of them
        (their listing and probe totals go back to ``before``), so that a later tick finds them
        changed again; the deferred ids, in refresh order."""
        deferred = [r.study_id for r in self.refresh if r.study_id in study_ids]
        self.refresh = [r for r in self.refresh if r.study_id not in study_ids]
        for study_id in deferred:
            for now, then in (
                (self.cursor.studies, before.studies),
                (self.cursor.totals, before.totals),
            ):
                if study_id in then:
                    now[study_id] = then[study_id]
                else:
                    now.pop(study_id, None)
        self.deferred = deferred
        return deferred

    def summary(self) -> str:
        probe = "probe not due" if self.probed is None else f"{self.probed} probed"
        if self.probe_left:
            probe += f" ({self.probe_left} left for the next ticks)"
        what = (
            "nothing changed"
            if self.quiet
            else f"{len(self.refresh)} to refresh, {len(self.add_partitions)} new, "
            f"{len(self.delete_partitions)} gone"
        )
        refused = "".join(f"; {line}" for line in self.refused)
        if self.deferred:
            what += f", {len(self.deferred)} left for after the run loading them"
        return f"{self.listed} studies listed, {probe}: {what} ({self.requests} requests){refused}"


def plan_discovery(
    listed: Sequence[ListedStudy],
    cursor: DiscoveryCursor,
    *,
    registered: Iterable[str],
    materialized: Iterable[str],
) -> DiscoveryPlan:
    """Compare the listing with the cursor and the instance's partitions. Pure."""
    registered, materialized = set(registered), set(materialized)
    listed_ids = {s.id for s in listed}
    plan = DiscoveryPlan(cursor=DiscoveryCursor(tick=cursor.tick + 1), listed=len(listed))
    for study in listed:
        seen = cursor.studies.get(study.id)
        if study.id not in registered:
            plan.add_partitions.append(study.id)
            plan.refresh.append(Refresh(study.id, "new study"))
        elif seen is None and study.id not in materialized:
            plan.refresh.append(Refresh(study.id, "never loaded"))
        elif seen is not None and list(seen) != [study.updated_at, study.status]:
            plan.refresh.append(Refresh(study.id, "study updated"))
        plan.cursor.studies[study.id] = [study.updated_at, study.status]
    gone = (registered | set(cursor.studies)) - listed_ids
    plan.delete_partitions = sorted(gone & registered)
    plan.refresh_globals = bool(plan.refresh or gone)
    # The probe's state carries over until a probe replaces it.
    plan.cursor.totals = {k: v for k, v in cursor.totals.items() if k in listed_ids}
    plan.cursor.probe_resources = list(cursor.probe_resources)
    plan.cursor.probed_at = cursor.probed_at
    plan.cursor.probe_after = cursor.probe_after
    plan.cursor.round_started = cursor.round_started
    return plan


def probe_due(cursor: DiscoveryCursor, interval_s: float, now: float) -> bool:
    """A round is under way, or the last one started at least ``interval_s`` ago."""
    if cursor.probe_after is not None:
        return True
    return cursor.probed_at is None or now - cursor.probed_at >= interval_s


def probe_batch(in_progress: Iterable[str], after: str | None, limit: int) -> tuple[list[str], int]:
    """The next ``limit`` in-progress studies (by id) after ``after``, and how many come after
    them. Pure. By id, not listing position, so studies appearing or finishing mid-round do not
    shift the round: each one still in progress is probed once."""
    ordered = sorted(set(in_progress))
    rest = ordered if after is None else [s for s in ordered if s > after]
    return rest[:limit], max(0, len(rest) - limit)


def apply_probe(
    plan: DiscoveryPlan,
    totals: Mapping[str, list[int] | None],
    resources: Sequence[str],
    now: float,
    *,
    in_progress: Iterable[str] | None = None,
    left: int = 0,
) -> None:
    """Reload each probed study whose totals moved since its last probe; move the round on
    (``left`` studies still to probe after these). Pure.

    Totals of studies not probed this tick are kept while they are in progress (``in_progress``,
    default: the probed ones), so a round spread over several ticks compares like with like."""
    cursor = plan.cursor
    same_lists = list(resources) == cursor.probe_resources
    refreshing = {r.study_id for r in plan.refresh}
    keep = set(totals if in_progress is None else in_progress)
    new_totals: dict[str, list[int]] = (
        {k: v for k, v in cursor.totals.items() if k in keep} if same_lists else {}
    )
    for study_id, counted in totals.items():
        if counted is None:  # vanished between the listing and the probe
            continue
        before = cursor.totals.get(study_id) if same_lists else None
        new_totals[study_id] = list(counted)
        if before is not None and before != list(counted) and study_id not in refreshing:
            moved = ", ".join(
                f"{name} {a}→{b}"
                for name, a, b in zip(resources, before, counted, strict=True)
                if a != b
            )
            plan.refresh.append(Refresh(study_id, f"probe: {moved}"))
    cursor.totals = new_totals
    cursor.probe_resources = list(resources)
    continuing = same_lists and cursor.probe_after is not None
    started = cursor.round_started if continuing and cursor.round_started else now
    if left and totals:
        cursor.probe_after, cursor.round_started = max(totals), started
    else:
        cursor.probe_after, cursor.round_started = None, None
        cursor.probed_at = started
    plan.probed = len(totals)
    plan.probe_left = left if totals else 0


async def probe_totals(
    client: InVivoClient, study_ids: Sequence[str], resources: Sequence[str]
) -> dict[str, list[int] | None]:
    """``meta.total`` of each watched list of each study: ``len(resources)`` requests a study."""

    async def total(study_id: str, name: str) -> int | None:
        try:
            return (await client.probe(name, {"study_id": study_id})).total
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    counts = await asyncio.gather(*(total(s, n) for s in study_ids for n in resources))
    width = len(resources)
    found: dict[str, list[int] | None] = {}
    for i, study_id in enumerate(study_ids):
        mine = counts[i * width : (i + 1) * width]
        # A 404 on any list means the study vanished since the listing: no totals for it.
        found[study_id] = None if None in mine else [c for c in mine if c is not None]
    return found


async def discover(
    client: InVivoClient,
    cursor: DiscoveryCursor,
    *,
    registered: Iterable[str],
    materialized: Iterable[str],
    probe_resources: Sequence[str],
    probe_interval_s: float,
    now: float,
    probe_limit: int | None = None,
) -> DiscoveryPlan:
    """One tick: list the studies, plan, and probe the next in-progress ones if the probe is due
    (at most ``probe_limit`` studies: the rest of the round waits for the next ticks)."""
    listed, refused = listed_studies(await client.list_all("studies"))
    plan = plan_discovery(listed, cursor, registered=registered, materialized=materialized)
    plan.refused = refused
    if probe_resources and probe_due(cursor, probe_interval_s, now):
        in_progress = [s.id for s in listed if s.status == IN_PROGRESS]
        same_lists = list(probe_resources) == cursor.probe_resources
        after = cursor.probe_after if same_lists else None
        batch, left = probe_batch(in_progress, after, probe_limit or PROBE_STUDIES_PER_TICK)
        totals = await probe_totals(client, batch, probe_resources)
        apply_probe(plan, totals, probe_resources, now, in_progress=in_progress, left=left)
    plan.requests = client.metrics.requests
    return plan


def expected_requests(studies: int, in_progress: int, probes: int, per_page: int = 100) -> int:
    """The documented cost of a tick: pages of studies + token + probes (0 when not due)."""
    return max(1, math.ceil(studies / per_page)) + 1 + probes * in_progress
