"""The synthetic Cytobank account, derived read-only from the In Vivo simulator's world.

One experiment per oncology study that has samples; one FCS file per blood or tumour sample, named
``<animal>_<type>_D<study day>.fcs``. Most files carry the In Vivo sample name in the ``Sample ID``
sample tag (a link by tag); every seventh has no such tag and can only be linked through its
filename (animal, type and day). Each experiment also holds compensation controls and one file whose
animal name matches no animal: those stay unmatched. A QC experiment relates to no study at all.

Statistics are deterministic: per file and population an event count, with the CD8+ share of T
cells rising with the group's dose level, so a report by group shows a visible effect.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from invivo_pipeline.sources.invivo.simulator.generate.entities import Sample, Study
from invivo_pipeline.sources.invivo.simulator.generate.world import World

FLOW_SAMPLE_TYPES = ("Blood", "Tumour")
TAG_DIMENSIONS = ("Individuals", "Sample Type", "Timepoints", "Sample ID", "FCS File Category")
FILENAME_ONLY_EVERY = 7
"""Every n-th file has no ``Sample ID`` tag: it links by its filename only."""

CHANNELS: tuple[tuple[int, str, str], ...] = (
    (1, "FSC-A", "FSC-A"),
    (2, "SSC-A", "SSC-A"),
    (3, "BV510-A", "Live/Dead"),
    (4, "FITC-A", "CD45 FITC"),
    (5, "PE-A", "CD3 PE"),
    (6, "APC-A", "CD4 APC"),
    (7, "PerCP-Cy5-5-A", "CD8 PerCP-Cy5.5"),
)

# (gateSetId, name, gateIds of its definition)
POPULATIONS: tuple[tuple[int, str, tuple[int, ...]], ...] = (
    (1, "Live cells", (1,)),
    (2, "CD45+ leukocytes", (1, 2)),
    (3, "CD3+ T cells", (1, 2, 3)),
    (4, "CD4+ T cells", (1, 2, 3, 4)),
    (5, "CD8+ T cells", (1, 2, 3, 5)),
)
# (gateId, name, type, x channel, y channel)
GATES: tuple[tuple[int, str, str, int, int | None], ...] = (
    (1, "Live", "PolygonGate", 3, 1),
    (2, "CD45+", "RangeGate", 4, None),
    (3, "CD3+", "RangeGate", 5, None),
    (4, "CD4+", "RectangleGate", 6, 7),
    (5, "CD8+", "RectangleGate", 7, 6),
)
USER_ID = 6601


@dataclass
class CytobankExperiment:
    record: dict[str, Any]
    fcs_files: list[dict[str, Any]] = field(default_factory=list)
    panels: list[dict[str, Any]] = field(default_factory=list)
    populations: list[dict[str, Any]] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)
    compensations: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, str]] = field(default_factory=list)
    """One row per FCS file: ``FCS Filename`` plus one value per dimension (``-`` when empty)."""
    statistics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> int:
        return int(self.record["id"])

    def records(self, resource: str) -> list[dict[str, Any]]:
        return {
            "fcs_files": self.fcs_files,
            "panels": self.panels,
            "populations": self.populations,
            "gates": self.gates,
            "compensations": self.compensations,
        }[resource]


@dataclass
class CytobankWorld:
    experiments: list[CytobankExperiment]

    def experiment(self, experiment_id: int) -> CytobankExperiment | None:
        return next((e for e in self.experiments if e.id == experiment_id), None)

    def experiment_records(self) -> list[dict[str, Any]]:
        return [e.record for e in self.experiments]

    def counts(self) -> dict[str, int]:
        """What a complete load holds, per ``cytobank_raw`` table."""
        exps = self.experiments
        return {
            "experiments": len(exps),
            "fcs_files": sum(len(e.fcs_files) for e in exps),
            "panels": sum(len(e.panels) for e in exps),
            "panel_channels": sum(len(p["channels"]) for e in exps for p in e.panels),
            "populations": sum(len(e.populations) for e in exps),
            "gates": sum(len(e.gates) for e in exps),
            "compensations": sum(len(e.compensations) for e in exps),
            "sample_tags": sum(len(e.tags) * len(TAG_DIMENSIONS) for e in exps),
            "statistics": sum(len(e.statistics) for e in exps),
        }


def _ts(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _experiment_record(eid: int, name: str, purpose: str, created: datetime) -> dict[str, Any]:
    # Key order as the clients see it [E]; unknown-type keys are null.
    return {
        "id": eid,
        "version": 3,
        "purpose": purpose,
        "comments": None,
        "public": False,
        "deleted": False,
        "sources": "",
        "experimentName": name,
        "gateVersion": 2,
        "createdAt": _ts(created),
        "updatedAt": _ts(created + timedelta(days=1)),
        "primaryResearcherId": USER_ID,
        "principalInvestigatorId": USER_ID,
        "uploaderId": USER_ID,
        "projectId": None,
        "clonedFrom": None,
        "createdFrom": None,
        "childType": None,
        "createdFromUrl": None,
        "publishedReportId": None,
    }


def _fcs_record(fid: int, filename: str, sample_name: str, events: int) -> dict[str, Any]:
    digest = hashlib.md5(f"{fid}:{filename}".encode()).hexdigest()
    return {
        "id": fid,
        "filename": filename,
        "sampleName": sample_name,
        "md5sum": digest,
        "fileSize": events * 7 * 4 + 5120,
        "uniqueHash": hashlib.sha1(digest.encode()).hexdigest(),
        "eventCount": events,
    }


def study_day(sample: Sample) -> int:
    return (sample.collected_at.date() - sample.animal.tracking_date).days


def build_cytobank_world(world: World) -> CytobankWorld:
    """Experiments for ``world``'s oncology studies, plus one QC experiment; same seed, same bytes."""
    rng = random.Random(world.config.seed * 7919 + 17)
    experiments: list[CytobankExperiment] = []
    next_fcs_id = 470_001
    flow_studies = [s for s in world.studies if s.kind == "oncology" and s.samples]
    for index, study in enumerate(flow_studies):
        eid = 29_500 + index
        created = datetime.combine(study.samples[0].collected_at.date(), datetime.min.time(), UTC)
        exp = CytobankExperiment(
            _experiment_record(
                eid, f"{study.code} flow: {study.name}", "TIL and blood immunophenotyping", created
            )
        )
        next_fcs_id = _fill_experiment(exp, study, rng, next_fcs_id, created)
        experiments.append(exp)
    qc = CytobankExperiment(
        _experiment_record(
            29_590, "Cytometer QC beads", "Daily instrument QC", datetime(2026, 9, 1, tzinfo=UTC)
        )
    )
    files = [(f"QC_beads_2026-09-{d:02d}.fcs", "Other Controls") for d in (1, 15)]
    next_fcs_id = _add_unlinked(qc, files, rng, next_fcs_id)
    _finish(qc, rng, {}, datetime(2026, 9, 1, tzinfo=UTC))
    experiments.append(qc)
    return CytobankWorld(experiments)


def _fill_experiment(
    exp: CytobankExperiment, study: Study, rng: random.Random, fid: int, created: datetime
) -> int:
    levels: dict[int, int] = {}
    position = 0
    for sample in study.samples:
        if sample.type not in FLOW_SAMPLE_TYPES:
            continue
        animal = sample.animal
        day = study_day(sample)
        filename = f"{animal.name}_{sample.type}_D{day}.fcs"
        filename_only = position % FILENAME_ONLY_EVERY == FILENAME_ONLY_EVERY - 1
        events = rng.randint(40_000, 60_000)
        exp.fcs_files.append(
            _fcs_record(
                fid,
                filename,
                filename.removesuffix(".fcs") if filename_only else sample.sample_id,
                events,
            )
        )
        exp.tags.append(
            {
                "FCS Filename": filename,
                "Individuals": animal.name,
                "Sample Type": sample.type,
                "Timepoints": f"Day {day}",
                "Sample ID": "-" if filename_only else sample.sample_id,
                "FCS File Category": "Experiment Files",
            }
        )
        levels[fid] = animal.group.level
        fid += 1
        position += 1
    # One file for an animal that does not exist (a typo at the cytometer), and the controls.
    stray = study.animals[0].name.rsplit("-", 1)[0] + "-999"
    extra = [
        (f"{stray}_Blood_D7.fcs", "Experiment Files"),
        ("Comp_CD45-FITC.fcs", "Compensation Controls"),
        ("Comp_CD8-PerCP-Cy5-5.fcs", "Compensation Controls"),
    ]
    fid = _add_unlinked(exp, extra, rng, fid)
    _finish(exp, rng, levels, created)
    return fid


def _add_unlinked(
    exp: CytobankExperiment, files: list[tuple[str, str]], rng: random.Random, fid: int
) -> int:
    for filename, category in files:
        exp.fcs_files.append(
            _fcs_record(fid, filename, filename.removesuffix(".fcs"), rng.randint(8_000, 12_000))
        )
        row = dict.fromkeys(TAG_DIMENSIONS, "-")
        row["FCS File Category"] = category
        exp.tags.append({"FCS Filename": filename, **row})
        fid += 1
    return fid


def _finish(
    exp: CytobankExperiment, rng: random.Random, levels: dict[int, int], created: datetime
) -> None:
    eid = exp.id
    stamp = _ts(created)
    channels = [
        {"shortName": s, "longName": lo, "normalizedShortNameId": n} for n, s, lo in CHANNELS
    ]
    exp.panels.append(
        {
            "id": eid * 10 + 1,
            "name": "Panel 1",
            "fcsFiles": [f["id"] for f in exp.fcs_files],
            "channels": channels,
        }
    )
    fluor = [c for c in channels if c["normalizedShortNameId"] >= 3]
    size = len(fluor)
    exp.compensations.append(
        {
            "id": eid * 10 + 2,
            "name": "Acquisition-defined",
            "experimentId": eid,
            "createdAt": stamp,
            "updatedAt": stamp,
            "sources": [{"shortName": c["shortName"]} for c in fluor],
            "compensationMatrix": [
                [1.0 if i == j else round(rng.uniform(0.0, 0.15), 4) for j in range(size)]
                for i in range(size)
            ],
        }
    )
    for gate_id, name, kind, x, y in GATES:
        exp.gates.append(
            {
                "id": eid * 100 + gate_id,
                "gateId": gate_id,
                "name": name,
                "type": kind,
                "version": -1,
                "xNormalizedShortNameId": x,
                "yNormalizedShortNameId": y,
                "xShortName": CHANNELS[x - 1][1],
                "yShortName": CHANNELS[y - 1][1] if y else None,
                "tailored": False,
                "tailoredPerPopulation": False,
                "fcsFileId": None,
                "definition": {"-1": _geometry(kind, gate_id)},
                "experimentId": eid,
                "createdAt": stamp,
                "updatedAt": stamp,
            }
        )
    for gate_set_id, name, gate_ids in POPULATIONS:
        exp.populations.append(
            {
                "id": eid * 100 + 50 + gate_set_id,
                "name": name,
                "version": 1,
                "experimentId": eid,
                "gateSetId": gate_set_id,
                "compensationId": 0,
                "createdAt": stamp,
                "updatedAt": stamp,
                "definition": {
                    "gates": list(gate_ids),
                    "negGates": [],
                    "tailoredPerPopulation": {},
                },
            }
        )
    for file in exp.fcs_files:
        exp.statistics.extend(_statistics(eid, file, levels.get(file["id"]), rng))


def _geometry(kind: str, gate_id: int) -> dict[str, Any]:
    if kind == "PolygonGate":
        return {"polygon": {"vertices": [[0, 0], [1500, 0], [1500, 250000], [0, 250000]]}}
    if kind == "RangeGate":
        return {"range": {"x1": 300.0 + gate_id, "x2": 262144.0}}
    return {"rectangle": {"x1": 200.0, "x2": 262144.0, "y1": -200.0, "y2": 800.0}}


def _statistics(
    eid: int, file: dict[str, Any], level: int | None, rng: random.Random
) -> list[dict[str, Any]]:
    """Event counts per population; CD8+ share of T cells grows with the dose level."""
    total = int(file["eventCount"])
    live = round(total * rng.uniform(0.80, 0.92))
    cd45 = round(
        live
        * (rng.uniform(0.25, 0.40) if "Tumour" in file["filename"] else rng.uniform(0.85, 0.95))
    )
    cd3 = round(cd45 * rng.uniform(0.30, 0.40))
    cd8_share = min(0.9, 0.25 + 0.07 * (level or 0) + rng.uniform(-0.03, 0.03))
    cd8 = round(cd3 * cd8_share)
    cd4 = round(cd3 * (0.95 - cd8_share))
    counts = {1: live, 2: cd45, 3: cd3, 4: cd4, 5: cd8}
    ids = [n for n, _, _ in CHANNELS]
    rows = []
    for gate_set_id, _, _ in POPULATIONS:
        medians = {str(n): round(rng.uniform(50, 5000), 1) for n in ids}
        spread = {str(n): round(rng.uniform(20, 800), 1) for n in ids}
        rows.append(
            {
                "experimentId": eid,
                "gateVersion": -1,
                "compensationId": -2,
                "fcsFileId": file["id"],
                "gateSetId": gate_set_id,
                "eventCount": counts[gate_set_id],
                "channelShortNameIds": ids,
                "minimums": {k: round(v - 4 * spread[k], 1) for k, v in medians.items()},
                "maximums": {k: round(v + 6 * spread[k], 1) for k, v in medians.items()},
                "means": {k: round(v * 1.04, 1) for k, v in medians.items()},
                "medians": medians,
                "variances": {k: round(s * s, 1) for k, s in spread.items()},
                "standardDeviations": spread,
                "secondPercentiles": {k: round(v - 2 * spread[k], 1) for k, v in medians.items()},
                "ninetyEighthPercentiles": {
                    k: round(v + 2 * spread[k], 1) for k, v in medians.items()
                },
            }
        )
    return rows
