"""Which studies a dbt build must rebuild: those whose raw inputs changed since the marts were last
built (issue 19).

Every per-study model is materialized ``study_partitioned`` (``dbt_project/macros/
study_partitioned.sql``): while ``invivo_raw._marts_scope`` exists, a build deletes and rebuilds
only the rows of the studies it lists. This module decides that list, under the writer lock,
before ``dbt build`` runs, and records what the marts were built from once the build succeeded.

The inputs of a study are keyed from what the warehouse holds, not from the runs that loaded it:
the ingestion's fingerprint of each of the study's partitions (``_load_state``), the study's own
record and its cages' records. So the scope is right whoever loaded the file and however many
loads came between two builds, a study deleted from the tenant shows as a key that vanished, and a
failed build, which records nothing, leaves its studies in the next build's scope. Anything else
rebuilds every study: a change to a tenant-wide table (users, the glossary, Cytobank), to the dbt
project or to the statistics code its Python models run, a model table that is missing, or the
first build.
"""

import hashlib
import importlib.metadata
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from invivo_pipeline.warehouse.schema import LOAD_STATE_TABLE

SCHEMA = "invivo_raw"
SCOPE_TABLE = "_marts_scope"
"""The studies the running build rebuilds; only there while the pipeline's build runs."""
BUILT_FROM_TABLE = "_marts_built_from"
"""What the marts were last built from: a key per study, the tenant-wide key, the project key."""

_TENANT = "tenant"
_PROJECT = "project"
_STUDY = "study"
_STUDY_TABLES = ("studies", "cages")
"""Global tables whose rows belong to a study: keyed with that study, not with the tenant. The
other partitioned tables that are not per study (a project's user roles, a metadata field's
options) are the tenant's."""

_STUDY_KEYS_SQL = f"""
with partitions as (
    select partition_key as study_id,
           string_agg(table_name || '=' || fingerprint, ';' order by table_name) as k
    from {SCHEMA}.{LOAD_STATE_TABLE}
    where partition_key in (select id from {SCHEMA}.studies) group by all
), study_rows as (
    select id as study_id, md5(_record::varchar) as k from {SCHEMA}.studies where id is not null
), cage_rows as (
    select study_id, md5(string_agg(_record::varchar, ';' order by id, _record::varchar)) as k
    from {SCHEMA}.cages where study_id is not null group by all
)
select study_id, md5(concat_ws('|', p.k, s.k, c.k))
from partitions as p
full join study_rows as s using (study_id)
full join cage_rows as c using (study_id)
"""


@dataclass(frozen=True)
class InputKeys:
    """What a build reads: a key per study, one for the tenant-wide tables, one for the project."""

    studies: Mapping[str, str]
    tenant: str
    project: str


@dataclass(frozen=True)
class MartsScope:
    """``studies`` is None for a full build; ``reason`` says why in a few words, for the log."""

    studies: tuple[str, ...] | None
    reason: str
    inputs: InputKeys = field(repr=False)
    up_to_date: bool = False
    """No input changed since the last recorded build and every table it made is there: a build
    would make the same tables, so none is run."""

    @property
    def full(self) -> bool:
        return self.studies is None

    def describe(self) -> str:
        if self.up_to_date:
            return "dbt has nothing to build: no input changed since the last build"
        if self.studies is None:
            return f"dbt builds every study ({self.reason})"
        return (
            f"dbt rebuilds {len(self.studies)} of {len(self.inputs.studies)} studies "
            f"({self.reason})"
        )


def project_key(
    *roots: Path, packages: Iterable[str] = ("dbt-core", "dbt-duckdb", "duckdb")
) -> str:
    """A digest of every source file under ``roots`` (the dbt project, the code its Python models
    import) and of the versions of ``packages``: when any changes, every study is rebuilt."""
    digest = hashlib.sha256()
    for name in packages:
        digest.update(f"{name}={importlib.metadata.version(name)}\n".encode())
    for root in roots:
        for path in sorted(source_files(root)):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


_SKIPPED_DIRS = frozenset({"target", "logs", "dbt_packages", "__pycache__"})
_SOURCE_SUFFIXES = frozenset({".sql", ".py", ".yml", ".yaml", ".csv", ".md"})


def source_files(root: Path) -> Iterator[Path]:
    """The files of a dbt project (or of a Python package) whose change can change what it
    builds: not dbt's target, logs or packages, nor caches and hidden folders."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith(".")]
        for name in files:
            if Path(name).suffix in _SOURCE_SUFFIXES:
                yield Path(folder, name)


def input_keys(
    con: duckdb.DuckDBPyConnection, project: str, tables: set[tuple[str, str]]
) -> InputKeys:
    """The keys of what the warehouse holds now; ``tables``: its (schema, table) pairs."""
    has_studies = all((SCHEMA, t) in tables for t in (*_STUDY_TABLES, LOAD_STATE_TABLE))
    studies = dict(con.execute(_STUDY_KEYS_SQL).fetchall()) if has_studies else {}
    tenant = hashlib.sha256()
    for schema in _schemas_with_load_state(con):
        # Every partition of every source, but In Vivo's study partitions and its global tables
        # whose rows belong to studies: those are in the studies' keys.
        of_studies = (
            f"partition_key in (select id from {SCHEMA}.studies) or (partition_key = '' and "
            f"table_name in {tuple(_STUDY_TABLES)})"
            if schema == SCHEMA and has_studies
            else "false"
        )
        rows = con.execute(
            f"select table_name, partition_key, fingerprint from {schema}.{LOAD_STATE_TABLE} "
            f"where not ({of_studies}) order by all"
        ).fetchall()
        for row in rows:
            tenant.update(f"{schema}\0{row[0]}\0{row[1]}\0{row[2]}\n".encode())
    return InputKeys(studies=studies, tenant=tenant.hexdigest(), project=project)


def _schemas_with_load_state(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select schema_name from duckdb_tables() where table_name = ? order by 1",
        [LOAD_STATE_TABLE],
    ).fetchall()
    return [r[0] for r in rows]


def built_from(con: duckdb.DuckDBPyConnection, tables: set[tuple[str, str]]) -> InputKeys | None:
    """What the marts were last built from, or None if no build was ever recorded; ``tables``:
    the warehouse's (schema, table) pairs."""
    if (SCHEMA, BUILT_FROM_TABLE) not in tables:
        return None
    rows = con.execute(f"select kind, key, fingerprint from {SCHEMA}.{BUILT_FROM_TABLE}").fetchall()
    single = {kind: fp for kind, _, fp in rows if kind != _STUDY}
    if _TENANT not in single or _PROJECT not in single:
        return None
    studies = {key: fp for kind, key, fp in rows if kind == _STUDY}
    return InputKeys(studies=studies, tenant=single[_TENANT], project=single[_PROJECT])


def plan(
    con: duckdb.DuckDBPyConnection,
    *,
    project: str,
    partitioned: Iterable[tuple[str, str]],
    built: Iterable[tuple[str, str]] = (),
    full_refresh: bool = False,
) -> MartsScope:
    """The studies to rebuild, or a full build and why.

    ``partitioned``: the (schema, table) of every study_partitioned model; a missing one cannot be
    patched study by study. ``built``: every table a build makes; while one is missing, the marts
    are not up to date even if no input changed.
    """
    tables = _tables(con)
    now = input_keys(con, project, tables)
    before = built_from(con, tables)
    missing = sorted(f"{s}.{t}" for s, t in set(partitioned) - tables)
    reason = (
        "asked for a full refresh"
        if full_refresh
        else "no build recorded"
        if before is None
        else "the dbt project or the statistics code changed"
        if before.project != now.project
        else "a tenant-wide table changed"
        if before.tenant != now.tenant
        else f"{missing[0]} is missing"
        if missing
        else None
    )
    if reason is not None or before is None:
        return MartsScope(None, reason or "no build recorded", now)
    changed = sorted(
        study
        for study in now.studies.keys() | before.studies.keys()
        if now.studies.get(study) != before.studies.get(study)
    )
    return MartsScope(
        tuple(changed),
        "studies whose records changed since the last build",
        now,
        up_to_date=not changed and set(built) <= tables,
    )


def begin(con: duckdb.DuckDBPyConnection, scope: MartsScope) -> None:
    """Tell the build what to rebuild: the scope table for a partial build, none for a full one."""
    con.execute(f"drop table if exists {SCHEMA}.{SCOPE_TABLE}")
    if scope.studies is not None:
        con.execute(f"create table {SCHEMA}.{SCOPE_TABLE} (study_id varchar primary key)")
        con.execute(
            f"insert into {SCHEMA}.{SCOPE_TABLE} select unnest(?::varchar[])",
            [list(scope.studies)],
        )


def finish(con: duckdb.DuckDBPyConnection, scope: MartsScope, *, record: bool) -> None:
    """After the build: drop the scope table and, if the build succeeded over every model
    (``record``), remember what the marts were built from, in one transaction."""
    con.execute("begin transaction")
    con.execute(f"drop table if exists {SCHEMA}.{SCOPE_TABLE}")
    if record:
        keys = scope.inputs
        con.execute(
            f"create or replace table {SCHEMA}.{BUILT_FROM_TABLE} "
            "(kind varchar, key varchar, fingerprint varchar)"
        )
        con.execute(
            f"insert into {SCHEMA}.{BUILT_FROM_TABLE} select ?, unnest(?::varchar[]), "
            "unnest(?::varchar[])",
            [_STUDY, list(keys.studies), list(keys.studies.values())],
        )
        con.execute(
            f"insert into {SCHEMA}.{BUILT_FROM_TABLE} values (?, '', ?), (?, '', ?)",
            [_TENANT, keys.tenant, _PROJECT, keys.project],
        )
    con.execute("commit")


def scoped(relation: Any, session: duckdb.DuckDBPyConnection) -> Any:
    """``relation`` limited to the studies the running build rebuilds (all while no scope table
    exists): what a Python model reads its inputs through, as the SQL models are filtered by
    their materialization."""
    if not _exists(session, SCOPE_TABLE):
        return relation
    studies = [
        r[0] for r in session.execute(f"select study_id from {SCHEMA}.{SCOPE_TABLE}").fetchall()
    ]
    return _of_studies(relation, studies)


def _of_studies(relation: Any, studies: list[str]) -> Any:
    """``relation``'s rows of ``studies`` (none for no study)."""
    if not studies:
        return relation.filter("false")
    constants = [duckdb.ConstantExpression(s) for s in studies]
    return relation.filter(duckdb.ColumnExpression("study_id").isin(*constants))


STUDIES_PER_BATCH = 50
"""Studies a Python model holds in pandas at once (``in_study_batches``). At 800 studies the
growth and synergy models each held the whole tenant's tumour volumes, and running side by side
they took dbt's process from about 0.8 to 1.7 GB (docs/performance.md)."""


def in_study_batches(
    relation: Any,
    session: duckdb.DuckDBPyConnection,
    studies: Iterable[str] | None = None,
    size: int = STUDIES_PER_BATCH,
) -> Iterator[tuple[list[str], Any]]:
    """``scoped(relation)`` ``size`` studies at a time, as (the batch's study ids, the relation
    limited to them), in the order Python sorts the ids: a Python model that fits each study on
    its own then holds a few studies in memory, not the tenant.

    The studies are ``studies`` if given (whether or not the relation has rows for them), else
    those the scoped relation has. Yields at least one batch, empty when there is no study, so
    the model still gets its columns."""
    relation = scoped(relation, session)
    if studies is None:
        present = relation.query("r", "select distinct study_id from r").fetchall()
        studies = (r[0] for r in present)
    ids = sorted({s for s in studies if s is not None})
    for start in range(0, max(1, len(ids)), size):
        batch = ids[start : start + size]
        yield batch, _of_studies(relation, batch)


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    rows = con.execute(
        "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
        [SCHEMA, table],
    ).fetchall()
    return bool(rows[0][0])


def _tables(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    return {
        (s, t)
        for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
    }
