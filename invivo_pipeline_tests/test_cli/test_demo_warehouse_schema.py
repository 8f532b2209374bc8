"""``invivo demo``'s warehouse keeps every table, column and column type, and its output its lines.

The warehouse contract is the relations it publishes: restructuring the code or the dbt project
(issue 18) must not rename or drop a table or column nor change a type, and ``invivo demo`` must
print what it printed. The demo builds the warehouse from the simulator's fixed world, so its schema
and output are a snapshot: ``invivo_pipeline_tests/data/demo_warehouse_schema.json``.

Additions are allowed (new marts, new columns; new dbt models and tests in the counts) and printed.
The one documented migration is ``MOVED_TABLES``: the intermediate models, which the contract never
published, left the ``marts`` schema for their own ``intermediate`` schema; ``CHANGED_LINES`` is the
one deliberate change of the output (the UI's command).

Regenerate the snapshot, after a deliberate change of the contract, with
    python -m invivo_pipeline_tests.test_cli.test_demo_warehouse_schema --write
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

import duckdb
import pytest

from invivo_pipeline_tests.support.cli import ROOT, run_demo

pytestmark = pytest.mark.slow  # end to end: see docs/development.md

SNAPSHOT = Path(__file__).resolve().parents[1] / "data" / "demo_warehouse_schema.json"
DEMO_SIZE = ("--studies", "3", "--animals-per-study", "15")
SAME_WORLD = ("--combination-studies", "0")
"""The snapshot's world: the combination study the demo adds since (issue 20) is left out, so the
output compares line for line; its tables and columns are additions, which the schema test allows."""

INTERMEDIATE_MODELS = (
    "int_animal_daily_measures",
    "int_group_dosing_plan",
    "int_study_control",
    "int_study_dates",
    "int_survival_vs_control",
)
MOVED_TABLES: dict[str, str] = {
    f"marts.{name}": f"intermediate.{name}" for name in INTERMEDIATE_MODELS
}
"""Snapshot relation → where it lives now: the one documented migration (dbt_project.yml), the
intermediate models moved from the marts schema to their own."""

_DBT_COUNTS = re.compile(r"^dbt: (\d+) models, (\d+) tests passed$")


def warehouse_schema(database: Path) -> dict[str, dict[str, str]]:
    """``{"schema.table": {column: type}}`` of every table and view of the DuckDB file."""
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            "select table_schema, table_name, column_name, data_type "
            "from information_schema.columns order by all"
        ).fetchall()
    tables: dict[str, dict[str, str]] = {}
    for schema, table, column, data_type in rows:
        tables.setdefault(f"{schema}.{table}", {})[column] = data_type
    return tables


def output_lines(stdout: str, data: Path) -> list[str]:
    """The demo's lines with what differs between runs replaced: its folder, the simulators'
    ephemeral ports, the sync's wall time, and the checkout it runs from."""
    text = stdout.replace(str(data), "<data>").replace(str(ROOT), "<root>")
    text = re.sub(r"127\.0\.0\.1:\d{5}\b", "127.0.0.1:<port>", text)
    text = re.sub(r"time: [\d.]+ s", "time: <s>", text)
    return [line.rstrip() for line in text.splitlines()]


def schema_changes(
    snapshot: dict[str, dict[str, str]], now: dict[str, dict[str, str]]
) -> tuple[list[str], list[str]]:
    """(what broke the contract, what was added) between the snapshot and the warehouse now."""
    broken: list[str] = []
    added: list[str] = []
    for table, columns in snapshot.items():
        where = MOVED_TABLES.get(table, table)
        if where not in now:
            broken.append(f"table {where} is gone")
            continue
        for column, data_type in columns.items():
            found = now[where].get(column)
            if found is None:
                broken.append(f"column {where}.{column} is gone")
            elif found != data_type:
                broken.append(f"column {where}.{column} changed type: {data_type} → {found}")
        added += [f"new column {where}.{c}" for c in now[where] if c not in columns]
    known = {MOVED_TABLES.get(table, table) for table in snapshot}
    added += [f"new table {table}" for table in now if table not in known]
    return broken, added


_UI = (
    "    {}DAGSTER_HOME=<data>/dagster_home INVIVO_DUCKDB_PATH=<data>/invivo.duckdb {}   then open "
    "http://127.0.0.1:3000 (Assets → reports → tumour_growth_curves shows the plots)"
)
_RERUN = (
    "    start the simulator (invivo simulator &) and add INVIVO_BASE_URL=http://127.0.0.1:8000 "
    "INVIVO_CLIENT_ID=invivo-demo-client INVIVO_CLIENT_SECRET=invivo-demo-secret to {}"
)
CHANGED_LINES: dict[str, str] = {
    _UI.format("", "dagster dev -m invivo_pipeline.definitions"): _UI.format(
        "cd <root> && ", "dg dev"
    ),
    _RERUN.format("the dagster dev command"): _RERUN.format("that command"),
}
"""Snapshot line → what the demo prints now: the one deliberate change of its output since the
snapshot (issue 17): the UI's command is ``dg dev`` from the checkout, as ``dagster dev`` warns
that ``dg dev`` supersedes it."""


def output_changes(snapshot: list[str], now: list[str]) -> tuple[list[str], list[str]]:
    """(lines that differ, counts that grew): dbt's model and test counts may only grow."""
    broken: list[str] = []
    grew: list[str] = []
    if len(snapshot) != len(now):
        broken.append(f"{len(snapshot)} lines before, {len(now)} now")
    snapshot = [CHANGED_LINES.get(line, line) for line in snapshot]
    for before, line in zip(snapshot, now, strict=False):
        counts_before, counts_now = _DBT_COUNTS.match(before), _DBT_COUNTS.match(line)
        if counts_before and counts_now:
            pairs = zip(counts_before.groups(), counts_now.groups(), strict=True)
            if any(int(now_n) < int(before_n) for before_n, now_n in pairs):
                broken.append(f"dbt counts shrank: {before!r} → {line!r}")
            elif before != line:
                grew.append(f"{before!r} → {line!r}")
        elif before != line:
            broken.append(f"{before!r} → {line!r}")
    return broken, grew


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    data = tmp_path_factory.mktemp("demo") / "data"
    result = run_demo(data, *DEMO_SIZE, *SAME_WORLD)
    return data / "invivo.duckdb", output_lines(result.stdout, data)


def test_every_table_and_column_of_the_demo_warehouse_is_still_there_with_its_type(demo):
    database, _ = demo
    snapshot = json.loads(SNAPSHOT.read_text())["tables"]
    broken, added = schema_changes(snapshot, warehouse_schema(database))
    for line in added:
        print(line)
    assert not broken, "\n".join(broken)


def test_the_demo_prints_what_it_printed(demo):
    _, lines = demo
    snapshot = json.loads(SNAPSHOT.read_text())["stdout"]
    broken, grew = output_changes(snapshot, lines)
    for line in grew:
        print("dbt counts grew:", line)
    assert not broken, "\n".join(broken)


def write_snapshot() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        result = run_demo(data, *DEMO_SIZE, *SAME_WORLD)
        snapshot = {
            "demo": ["invivo", "demo", "--quiet", *DEMO_SIZE],
            "tables": warehouse_schema(data / "invivo.duckdb"),
            "stdout": output_lines(result.stdout, data),
        }
    SNAPSHOT.parent.mkdir(exist_ok=True)
    SNAPSHOT.write_text(json.dumps(snapshot, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {SNAPSHOT.relative_to(ROOT)}: {len(snapshot['tables'])} tables")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(
            f"usage: python -m {__spec__.name} --write   (runs invivo demo, rewrites {SNAPSHOT.name})"
        )
    write_snapshot()
