"""Which studies' reports are out of date: a fingerprint of each study's report inputs.

A study's page and figures are a function of its rows in the tables the reports read
(``data.TABLES_READ``, each filtered by ``study_id``), of the drawing settings and of this
package's code. A reports run keeps their fingerprints in a small file beside the pages, and the
next run redraws only the studies whose fingerprint changed: one animal's weighing costs its
study's drawing, not the tenant's (drawing is most of a reports run, docs/performance.md).

The fingerprint of a table's rows is their count and the sum of DuckDB's ``hash`` of each whole
row: independent of row order, blind to no column, and computed by DuckDB in one scan per table.
Anything that could change a page without changing those rows changes the settings key instead,
which redraws every study: the reports code, the versions of DuckDB (its hash) and matplotlib,
the plot limits, the sections and the kinds drawn.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import duckdb

from invivo_pipeline.reports.data import TABLES_READ
from invivo_pipeline.reports.files import write_atomic
from invivo_pipeline.reports.stale_files import StudyFiles, files_from_state
from invivo_pipeline.warehouse.duckdb_file import existing_tables, table_columns
from invivo_pipeline.warehouse.schema import quote

STATE_FILE = ".report-inputs.json"
"""Kept in the reports folder: deleting it makes the next run redraw every study."""
STATE_VERSION = 1


def study_fingerprints(
    con: duckdb.DuckDBPyConnection, tables: Iterable[tuple[str, str]] = TABLES_READ
) -> dict[str, str]:
    """study_id → a digest of that study's rows in every table of ``tables`` (one the warehouse
    lacks counts as empty, as it reads on a page)."""
    tables = list(tables)
    present = existing_tables(con, {schema for schema, _ in tables})
    per_table: list[dict[str, tuple[int, int]]] = []
    for schema, name in tables:
        if (schema, name) not in present:
            per_table.append({})
            continue
        values = ", ".join(
            _hashed(column, kind) for column, kind in table_columns(con, schema, name)
        )
        rows = con.execute(
            f"select study_id, count(*), sum(hash({values})::hugeint) "
            f"from {quote(schema)}.{quote(name)} group by study_id"
        ).fetchall()
        per_table.append({study_id: (count, total) for study_id, count, total in rows})
    studies = set().union(*per_table) if per_table else set()
    return {
        study_id: hashlib.sha256(
            repr([table.get(study_id) for table in per_table]).encode()
        ).hexdigest()
        for study_id in studies
        if study_id is not None
    }


FLOATING = ("DOUBLE", "FLOAT", "REAL", "DECIMAL")


def _hashed(column: str, kind: str) -> str:
    """A column as its fingerprint sees it: a number with a fraction to single precision (seven
    significant digits, more than any page prints or any figure can show), because a sum over
    many rows comes out of DuckDB's threads in a different order on each build and differs in
    its last bits (up to 1e-13 apart in the marts; docs/performance.md); every study would look
    changed after every build."""
    if kind.upper().startswith(FLOATING):
        return f"{quote(column)}::FLOAT"
    return quote(column)


def settings_key(settings: Mapping[str, object]) -> str:
    """A digest of what every page depends on beside its study's rows (see the module doc)."""
    code = hashlib.sha256()
    for module in sorted(Path(__file__).parent.glob("*.py")):
        code.update(module.name.encode() + b"\0" + module.read_bytes())
    described = {
        **{k: repr(v) for k, v in settings.items()},
        "code": code.hexdigest(),
        "duckdb": duckdb.__version__,
        "matplotlib": metadata.version("matplotlib"),  # not imported: see drawing.plot_renderers
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class DrawnStudy:
    """What a run drew for one study: enough to keep it, unchanged, in the next run's index."""

    fingerprint: str
    page: str | None
    """The page's file name in the reports folder; None when the run drew figures only."""
    figures: tuple[str, ...]
    """The plot kinds that had data, in drawing order."""


@dataclass(frozen=True)
class ReportState:
    settings: str
    studies: dict[str, DrawnStudy]
    files: dict[str, StudyFiles] = field(default_factory=dict)
    """study_id → the files it has in the reports folder (``stale_files``), whatever the
    settings they were drawn with."""

    def unchanged(self, study_id: str, fingerprint: str | None) -> DrawnStudy | None:
        drawn = self.studies.get(study_id)
        if drawn is None or fingerprint is None or drawn.fingerprint != fingerprint:
            return None
        return drawn


def load_state(out_dir: Path, settings: str) -> ReportState:
    """The last run's state. Its studies are empty when there is none, it is unreadable, or it
    was drawn with other settings (then every study is redrawn); its files are kept whatever the
    settings, so that the run can still remove what the last one left and it replaces."""
    try:
        stored = json.loads((out_dir / STATE_FILE).read_text())
        files = files_from_state(stored)
    except (OSError, ValueError, AttributeError):
        return ReportState(settings, {})
    empty = ReportState(settings, {}, files)
    try:
        if stored.get("version") != STATE_VERSION or stored.get("settings") != settings:
            return empty
        studies = {
            study_id: DrawnStudy(entry["fingerprint"], entry["page"], tuple(entry["figures"]))
            for study_id, entry in stored["studies"].items()
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        return empty
    return ReportState(settings, studies, files)


def save_state(out_dir: Path, state: ReportState) -> Path:
    stored = {
        "version": STATE_VERSION,
        "settings": state.settings,
        "studies": {study_id: asdict(drawn) for study_id, drawn in sorted(state.studies.items())},
        "files": {study_id: files.as_json() for study_id, files in sorted(state.files.items())},
    }
    return write_atomic(out_dir / STATE_FILE, json.dumps(stored, indent=1))
