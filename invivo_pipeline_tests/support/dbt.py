"""Hand-made In Vivo records, loaded through the warehouse, and ``dbt build`` run against them.

Records are shaped like the API's (embedded objects as ``{"id": ...}``, numbers as strings,
quantities as ``{unit, value, display_unit, display_value}``); the builder only saves typing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from invivo_pipeline.assets.dbt import DBT_PROJECT_DIR
from invivo_pipeline.core.resource_spec import Scope
from invivo_pipeline.sources.invivo.table import BY_NAME, RESOURCES, STUDY
from invivo_pipeline.sources.registry import SOURCES
from invivo_pipeline.warehouse import TableLoad, Warehouse

UTC_STAMP = "T10:00:00Z"


@dataclass
class Batch:
    resource: str
    context: dict[str, str]
    records: list[dict[str, Any]]


def num(value: float) -> str:
    """A number as the API writes it: "20", "12.5"."""
    return f"{value:g}" if float(value) != int(value) else str(int(value))


def quantity(value: float, unit: str) -> dict[str, str]:
    text = num(value)
    return {"unit": unit, "value": text, "display_unit": unit, "display_value": text}


def ref(record_id: str | None) -> dict[str, str] | None:
    return None if record_id is None else {"id": record_id}


@dataclass
class StudyBuilder:
    """One study's records, built up animal by animal and day by day."""

    study_id: str
    day0: date
    status: str = "in_progress"
    timezone: str = "UTC"
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _serial: int = 0

    def _next(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}_{self.study_id}_{self._serial:04d}"

    def _add(self, resource: str, record: dict[str, Any]) -> dict[str, Any]:
        self.records.setdefault(resource, []).append(record)
        return record

    def day(self, n: int) -> date:
        return self.day0 + timedelta(days=n)

    def study(self, started_on: date | None = None) -> None:
        self._add(
            "studies",
            {
                "id": self.study_id,
                "name": f"Study {self.study_id}",
                "code": self.study_id.upper(),
                "type": "internal",
                "status": self.status,
                "timezone": self.timezone,
                "metadata": {},
                "started_on": None if started_on is None else started_on.isoformat(),
                "created_at": "2025-12-01T09:00:00Z",
                "updated_at": "2025-12-01T09:00:00Z",
            },
        )

    def group(self, group_id: str, name: str, *, control: bool, route: str = "PO") -> None:
        self._add(
            "study_groups",
            {
                "id": group_id,
                "name": name,
                "no": len(self.records.get("study_groups", [])) + 1,
                "control": control,
                "metadata": {"dosing-route": route},
                "study": ref(self.study_id),
            },
        )

    def treatment(
        self, treatment_id: str, group_id: str, *, dose: float, dose_volume: float, stock: float
    ) -> None:
        body = {
            "id": treatment_id,
            "type": "concentration_mlkg",
            "name": f"Drug {num(dose)} mg/kg",
            "dose": quantity(dose, "mg/kg"),
            "dose_volume": quantity(dose_volume, "ml/kg"),
            "stock": quantity(stock, "mg/ml"),
            "volume": quantity(20 * dose_volume, "µl"),
            "metadata": {},
            "study": ref(self.study_id),
        }
        self._add("treatments", dict(body))
        self._add("study_group_treatments", {**body, "study_group": ref(group_id)})

    def cage(self, cage_id: str) -> None:
        self._add("cages", {"id": cage_id, "name": cage_id, "study": ref(self.study_id)})

    def animal(
        self,
        animal_id: str,
        group_id: str,
        cage_id: str,
        *,
        terminated_day: int | None = None,
        reason: str | None = None,
    ) -> None:
        self._add(
            "animals",
            {
                "id": animal_id,
                "name": animal_id,
                "sex": "f",
                "strain": "BALB/c nude",
                "species": "Mouse",
                "dob": (self.day0 - timedelta(days=56)).isoformat(),
                "tracking_date": self.day0.isoformat(),
                "terminated_at": None
                if terminated_day is None
                else self.day(terminated_day).isoformat(),
                "terminated_reason": None
                if reason is None
                else {"glossary_id": "gly_reason", "title": reason, "comment": None},
                "metadata": {},
                "study": ref(self.study_id),
                "study_group": ref(group_id),
                "cage": ref(cage_id),
                # Enrolled the day before day 0.
                "created_at": f"{self.day(-1).isoformat()}T12:00:00Z",
            },
        )

    def measure(
        self,
        animal_id: str,
        day: int,
        *,
        volume: float | None = None,
        weight: float | None = None,
        swap_calipers: bool = False,
    ) -> None:
        """Tumour volume with calipers W = 5 mm (2 mm below 62.5 mm³, 0 for no tumour) and
        L = 2V/W², so that L >= W and V = L·W²/2 exactly."""
        calculations: list[dict[str, Any]] = []
        if volume is not None:
            width = 5.0 if volume >= 62.5 else 2.0 if volume > 0 else 0.0
            length = 2 * volume / width**2 if width else 0.0
            if swap_calipers:
                width, length = length, width
            calculations.append(
                {
                    "id": self._next("vbl"),
                    "key": "tumour_volume",
                    "name": "Tumour Volume",
                    "unit": "mm³",
                    "excluded": False,
                    "value": num(volume),
                    "formula": "(width * width * length) / 2",
                    "variables": [
                        {
                            "id": self._next("vbl"),
                            "key": "width",
                            "value": num(width),
                            "unit": "mm",
                        },
                        {
                            "id": self._next("vbl"),
                            "key": "length",
                            "value": num(length),
                            "unit": "mm",
                        },
                    ],
                }
            )
        if weight is not None:
            calculations.append(
                {
                    "id": self._next("vbl"),
                    "key": "weight",
                    "name": "Weight",
                    "unit": "g",
                    "excluded": False,
                    "value": num(weight),
                    "formula": "weight",
                    "variables": [],
                }
            )
        self._add(
            "measurements",
            {
                "id": self._next("mst"),
                "measured_at": self.day(day).isoformat(),
                "calculations": calculations,
                "study": ref(self.study_id),
                "animal": ref(animal_id),
                "created_at": f"{self.day(day).isoformat()}T08:30:00Z",
            },
        )

    def dose(
        self,
        animal_id: str,
        treatment_id: str,
        day: int,
        *,
        weight: float,
        dose: float,
        dose_volume: float,
        stock: float,
        volume: float | None = None,
        hour: int = 10,
    ) -> None:
        """A dose; the volume defaults to the exact W·DV."""
        self._add(
            "dosages",
            {
                "id": self._next("dsg"),
                "name": "Dose",
                "dosed_at": f"{self.day(day).isoformat()}T{hour:02d}:00:00Z",
                "weight_at_dosing": num(weight),
                "dose": quantity(dose, "mg/kg"),
                "dose_volume": quantity(dose_volume, "ml/kg"),
                "stock": quantity(stock, "mg/ml"),
                "volume": quantity(weight * dose_volume if volume is None else volume, "µl"),
                "study": ref(self.study_id),
                "animal": ref(animal_id),
                "treatment": ref(treatment_id),
            },
        )

    def observe(self, animal_id: str, day: int, title: str, kind: str, value: str) -> None:
        self._add(
            "observations",
            {
                "id": self._next("obs"),
                "glossary_id": f"gly_{title.lower().replace(' ', '_')}",
                "title": title,
                "text": title,
                "type": kind,
                "value": value,
                "observed_at": f"{self.day(day).isoformat()}T09:15:00Z",
                "study": ref(self.study_id),
                "animal": ref(animal_id),
            },
        )

    def sample(
        self, animal_id: str, day: int, kind: str, key: str, unit: str, value: float
    ) -> None:
        self._add(
            "samples",
            {
                "id": self._next("spl"),
                "sample_id": self._next("S"),
                "type": kind,
                "collected_at": f"{self.day(day).isoformat()}T13:00:00Z",
                "details": [{"key": key, "unit": unit, "value": num(value)}],
                "metadata": {},
                "study": ref(self.study_id),
                "animal": ref(animal_id),
            },
        )


def load(path: Path, studies: list[StudyBuilder]) -> Warehouse:
    """Every table's records into ``invivo_raw`` (one transaction), empty tables included."""
    records: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for resource in BY_NAME.values():
        if resource.scope is Scope.GLOBAL:
            records[(resource.name, None)] = []
    for builder in studies:
        for resource in BY_NAME.values():
            if resource.scope is STUDY:
                records.setdefault((resource.name, builder.study_id), [])
        for name, rows in builder.records.items():
            scope = BY_NAME[name].scope
            key = (name, builder.study_id if scope is STUDY else None)
            records.setdefault(key, []).extend(rows)
    loads = []
    for (name, study_id), rows in records.items():
        batches = []
        if name == "study_group_treatments":
            for row in rows:
                context = {"study_id": study_id or "", "study_group_id": row["study_group"]["id"]}
                batches.append(Batch(name, context, [row]))
        else:
            context = {"study_id": study_id} if study_id else {}
            batches.append(Batch(name, context, rows))
        loads.append(TableLoad(name, batches, study_id))
    # dbt reads every source's raw tables: the file carries them all, as the code location's does.
    every_table = [table for source in SOURCES for table in source.tables]
    warehouse = Warehouse(path, resources=RESOURCES, ensure_also=every_table)
    warehouse.load_many(loads)
    return warehouse


@dataclass
class DbtRun:
    returncode: int
    output: str
    results: dict[str, Any]

    def statuses(self) -> dict[str, str]:
        """dbt node name → status (success, pass, warn, fail, error, skipped)."""
        return {r["unique_id"].split(".")[-1]: r["status"] for r in self.results.get("results", [])}


def dbt_build(db: Path, work: Path, *args: str, env: Mapping[str, str] | None = None) -> DbtRun:
    """A real ``dbt build`` of the project against ``db``, artifacts kept under ``work``."""
    dbt = shutil.which("dbt") or str(Path(sys.executable).with_name("dbt"))
    target = work / "dbt_target"
    env = {
        **os.environ,
        "INVIVO_DUCKDB_PATH": str(db),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(work / "dbt_logs"),
        **(env or {}),
    }
    project = str(DBT_PROJECT_DIR)
    completed = subprocess.run(
        [dbt, "build", "--project-dir", project, "--profiles-dir", project, *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    results_path = target / "run_results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    return DbtRun(completed.returncode, completed.stdout + completed.stderr, results)


def query(db: Path, sql: str, *params: Any) -> list[dict[str, Any]]:
    with duckdb.connect(str(db), read_only=True) as con:
        cursor = con.execute(sql, list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def one(db: Path, sql: str, *params: Any) -> dict[str, Any]:
    rows = query(db, sql, *params)
    assert len(rows) == 1, f"expected one row, got {len(rows)}: {sql}"
    return rows[0]
