"""The dbt project (``dbt_project/``) as Dagster assets: staging and marts models, the seed, and every
dbt test as an asset check, in one lineage graph with the ingestion assets.

- dbt sources are the ingestion assets: source ``invivo_raw.<table>`` maps to
  ``AssetKey(["invivo_raw", <table>])``, so a model's upstream is the table the ingestion loads.
- Dagster names dbt nodes by the relation they publish, not by their file: a model or seed is keyed
  ``[schema, alias]`` (``models/staging/invivo/stg_invivo__animals.sql`` is
  ``staging/stg_animals``, the table the warehouse contract names; ``intermediate/int_study_dates``;
  ``marts/dim_animal``), and a test's check name says the relation names too
  (``not_null_stg_animals_animal_id``), so keys and checks stay put when files move. Models are
  grouped ``staging`` (the staging schema) or ``marts`` (the marts, their seed, and the
  intermediate models they are built from).
- The manifest is produced on demand: importing this module runs ``dbt parse`` when
  ``target/manifest.json`` is missing or older than a file of the project (a few seconds, once), so
  ``dagster dev``, ``invivo sync`` and the tests work from a fresh clone with no build step.
- DuckDB has one writer: ``dbt build`` runs under the warehouse's cross-process writer lock, the
  same one every ingestion load takes, so loads and builds queue instead of colliding; dbt is
  pointed at the warehouse resource's file through ``INVIVO_DUCKDB_PATH`` and keeps its artifacts
  beside it (``<file>.dbt/``).
- A failed model or error-severity test fails the step with one line naming it; warn-severity
  tests only show as failed checks of WARN severity (non-blocking: dagster-dbt takes both from the
  test's dbt severity). The integrity tests (keys, relationships between loaded tables) are errors;
  the data-quality tests on the tenant's records (``DQ_TESTS``) warn by default, and each of their
  failing rows is a row of ``marts.dq_findings``.
"""

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtProjectPreparer,
    DagsterDbtTranslator,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from invivo_pipeline.assets.dbt_guard import PARENT_PID_ENV
from invivo_pipeline.assets.dbt_metadata import unchanged_results, with_table_metadata
from invivo_pipeline.assets.dbt_resource import InVivoDbtCliResource, dbt_executable
from invivo_pipeline.assets.raw_tables import OWNERS, raw_asset_key
from invivo_pipeline.assets.warehouse_resource import WarehouseResource
from invivo_pipeline.marts import scope as marts_scope
from invivo_pipeline.warehouse import writer_lock
from invivo_pipeline.warehouse.duckdb_file import DUCKDB_PATH_ENV, connect

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
STATISTICS_DIR = Path(__file__).resolve().parents[1] / "statistics"


class InVivoDbtPreparer(DagsterDbtProjectPreparer):
    """``dbt parse`` (and ``dbt deps``) with ``dbt_executable()``: dagster-dbt's own preparer
    (``DbtProject.preparer``, not replaceable on the project) runs plain ``dbt``, which is not
    found when the venv is not on PATH."""

    def _prepare_packages(self, project: DbtProject) -> None:
        dbt_cli(project).cli(["deps", "--quiet"], target_path=project.target_path).wait()

    def _prepare_manifest(self, project: DbtProject) -> None:
        dbt_cli(project).cli(self._prepare_project_cli_args, target_path=project.target_path).wait()


def dbt_cli(project: DbtProject) -> InVivoDbtCliResource:
    """The dbt resource of the code location (and of the manifest's preparation)."""
    return InVivoDbtCliResource(project_dir=project, dbt_executable=dbt_executable())


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)


class DbtBuildError(Exception):
    """``dbt build`` failed; the message names the first failing node in one line."""


def _newest_source_mtime(project_dir: Path) -> float:
    return max((p.stat().st_mtime for p in marts_scope.source_files(project_dir)), default=0.0)


def manifest_is_stale(project: DbtProject = dbt_project) -> bool:
    manifest = project.manifest_path
    return not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(
        Path(project.project_dir)
    )


def ensure_manifest(project: DbtProject = dbt_project) -> Path:
    """Run ``dbt parse`` if the manifest is missing or older than the project's files.

    dagster-dbt's preparer serialises concurrent callers on a lock file and skips the parse when
    another process has just written the manifest.
    """
    if manifest_is_stale(project):
        InVivoDbtPreparer().prepare(project)
    return project.manifest_path


def published_name(node: Mapping[str, Any]) -> str:
    """The relation a model or seed publishes (its alias); the node's name otherwise."""
    if node["resource_type"] in ("model", "seed"):
        return node.get("alias") or node["name"]
    return node["name"]


def with_published_test_names(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with every test named after the relations it tests rather than the model files.

    dbt names a generic test after the model's name (``not_null_stg_invivo__animals_animal_id``);
    Dagster takes its check names from the manifest, in the definitions and in the run's events
    alike, so renaming here names both ``not_null_stg_animals_animal_id``, as before the models'
    files were named after their source. dbt selects tests by their fqn, which is left as it is.
    """
    renamed = {
        node["name"]: published_name(node)
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed") and published_name(node) != node["name"]
    }
    longest_first = sorted(renamed, key=len, reverse=True)
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test":
            for name in longest_first:
                node["name"] = node["name"].replace(name, renamed[name])
    return manifest


class InVivoDbtTranslator(DagsterDbtTranslator):
    """Sources onto the ingestion assets; models keyed by the relation they publish."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed"):
            return dg.AssetKey([dbt_resource_props["schema"], published_name(dbt_resource_props)])
        if dbt_resource_props["resource_type"] == "source":
            # Each dbt source is named after its raw schema (invivo_raw, cytobank_raw).
            return raw_asset_key(dbt_resource_props["source_name"], dbt_resource_props["name"])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # The intermediate models stay in the marts' group, which the freshness policies and the
        # reports automation follow: they are the marts' building blocks, rebuilt with them.
        return "staging" if dbt_resource_props.get("schema") == "staging" else "marts"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return list(OWNERS)

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        metadata = dict(super().get_metadata(dbt_resource_props))
        schema = dbt_resource_props.get("schema")
        if dbt_resource_props["resource_type"] in ("model", "seed") and schema:
            metadata["dagster/table_name"] = f"{schema}.{published_name(dbt_resource_props)}"
        return metadata

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        test = manifest["nodes"][unique_id]
        description = test.get("description") or _generic_test_description(test)
        return spec._replace(description=description)


def _generic_test_description(test: Mapping[str, Any]) -> str:
    metadata = test.get("test_metadata") or {}
    column = test.get("column_name")
    name = metadata.get("name", test["name"])
    return f"dbt test {name}" + (f" on {column}" if column else "")


TRANSLATOR = InVivoDbtTranslator()


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set variables for a child process started inside the block, then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def build_target(db_path: Path) -> Path:
    """Where dbt writes its artifacts and log for builds of ``db_path``: next to the file.

    Builds of one file are serialised by its writer lock, so they share the folder: one folder per
    warehouse rather than one per run under the project, and dbt's partial parse carries over from
    one build to the next.
    """
    return db_path.with_name(db_path.name + ".dbt")


def failure_summary(run_results: Mapping[str, Any] | None) -> str:
    """One line naming the first failing model or error-severity test of a ``dbt build``."""
    failed = [
        r for r in (run_results or {}).get("results", []) if r.get("status") in ("error", "fail")
    ]
    if not failed:
        return "dbt build failed before running any model; see the dbt log in the run's logs"
    first = failed[0]
    # model.invivo.<name>, seed.invivo.<name>, test.invivo.<name>[.<hash>]
    kind, _, name = first["unique_id"].split(".")[:3]
    node = MANIFEST["nodes"].get(first["unique_id"])
    name = published_name(node) if node else name
    if first["status"] == "fail":
        rows = first.get("failures")
        found = f"{rows} failing row{'' if rows == 1 else 's'}" if rows else "failing rows"
        what = f"dbt test {name} failed: {found}"
    else:
        message = (first.get("message") or "").strip().splitlines()
        what = f"dbt {kind} {name} errored: {message[0] if message else 'no message'}"
    more = f" (and {len(failed) - 1} more failed)" if len(failed) > 1 else ""
    return what + more


MANIFEST: dict[str, Any] = with_published_test_names(json.loads(ensure_manifest().read_text()))
MODEL_KEYS: frozenset[dg.AssetKey] = frozenset(
    TRANSLATOR.get_asset_key(node)
    for node in MANIFEST["nodes"].values()
    if node["resource_type"] == "model" and node["config"].get("materialized") != "ephemeral"
)
"""The dbt models (not seeds): what ``invivo sync`` counts as models built."""
DQ_TESTS: frozenset[str] = frozenset(
    node["name"]
    for node in MANIFEST["nodes"].values()
    if node["resource_type"] == "test" and not node.get("test_metadata")
)
"""The data-quality tests (dbt_project/tests/*.sql, singular tests): one failing row is one finding
of ``marts.dq_findings``, so their failed-row counts add up to its rows."""


_PARTITIONED = [
    node
    for node in MANIFEST["nodes"].values()
    if node["resource_type"] == "model"
    and node["config"].get("materialized") == "study_partitioned"
]
"""The models rebuilt study by study (dbt_project/macros/study_partitioned.sql)."""
PARTITIONED_RELATIONS = frozenset((node["schema"], published_name(node)) for node in _PARTITIONED)
PARTITIONED_KEYS = frozenset(TRANSLATOR.get_asset_key(node) for node in _PARTITIONED)
BUILT_NODES: dict[dg.AssetKey, Mapping[str, Any]] = {
    TRANSLATOR.get_asset_key(MANIFEST["nodes"][uid]): MANIFEST["nodes"][uid]
    for uid in TopologicalSorter(
        {
            uid: node.get("depends_on", {}).get("nodes", [])
            for uid, node in MANIFEST["nodes"].items()
        }
    ).static_order()
    if uid in MANIFEST["nodes"]
    and MANIFEST["nodes"][uid]["resource_type"] in ("model", "seed")
    and MANIFEST["nodes"][uid]["config"].get("materialized") != "ephemeral"
}
"""The tables a build makes (models and seeds), by asset key, each after those it reads (the
order Dagster takes their materializations in)."""
BUILT_RELATIONS = frozenset((node["schema"], published_name(node)) for node in BUILT_NODES.values())
PROJECT_KEY = marts_scope.project_key(DBT_PROJECT_DIR, STATISTICS_DIR)
"""The dbt project and the code its Python models run: a change rebuilds every study."""


class DbtBuildConfig(dg.Config):
    """``full_refresh``: rebuild every study, not only those whose records changed."""

    full_refresh: bool = False


@dbt_assets(
    manifest=MANIFEST,
    project=dbt_project,
    dagster_dbt_translator=TRANSLATOR,
    name="invivo_dbt",
    pool="duckdb_writer",
)
def invivo_dbt(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    config: DbtBuildConfig,
) -> Iterator[Any]:
    """``dbt build`` of the selected models, seeds and tests against the warehouse file, for the
    studies whose records changed since the last build (``marts_scope``), or every study."""
    wh = warehouse.warehouse()
    path = wh.path
    with writer_lock(path, timeout=warehouse.lock_timeout_s):
        if not path.exists():
            raise DbtBuildError(f"no warehouse at {path}: load the In Vivo tables first")
        # Another program (a notebook, a SQL client) may hold the file: wait for it a little,
        # then fail naming it, as the ingestion does, instead of letting every model error.
        with closing(connect(path, read_only=False, busy_timeout=wh.busy_timeout)) as con:
            scope = marts_scope.plan(
                con,
                project=PROJECT_KEY,
                partitioned=PARTITIONED_RELATIONS,
                built=BUILT_RELATIONS,
                full_refresh=config.full_refresh,
            )
            if scope.up_to_date:
                marts_scope.finish(con, scope, record=False)  # a killed build's scope table
            else:
                marts_scope.begin(con, scope)
        context.log.info(scope.describe())
        if scope.up_to_date:
            # A run that loaded nothing new (a no-op sync, discovery re-finding a study a webhook
            # run loaded) would otherwise hold the writer for a whole dbt start-up and test pass.
            keys = context.selected_asset_keys
            selected = {k: node for k, node in BUILT_NODES.items() if k in keys}
            yield from unchanged_results(selected, path, busy_timeout=wh.busy_timeout)
            return
        succeeded = False
        try:
            # The child dies with this process (dbt_guard), so it never writes without the lock.
            with _environment(**{DUCKDB_PATH_ENV: str(path), PARENT_PID_ENV: str(os.getpid())}):
                invocation = dbt.cli(
                    ["build"], context=context, raise_on_error=False, target_path=build_target(path)
                )
            # Row counts and column types of every model, read once dbt has exited and still
            # under the writer lock, so that no load changes a table between its build and its
            # count.
            yield from with_table_metadata(
                invocation.stream(), path, MANIFEST, busy_timeout=wh.busy_timeout
            )
            succeeded = invocation.is_successful()
        finally:
            # A build of some models only (a subset selected in the UI) leaves the others to
            # build for these studies later: only a build of every model is recorded.
            every_model = set(context.selected_asset_keys) >= PARTITIONED_KEYS
            with closing(connect(path, read_only=False, busy_timeout=wh.busy_timeout)) as con:
                marts_scope.finish(con, scope, record=succeeded and every_model)
    if not succeeded:
        try:
            run_results = invocation.get_artifact("run_results.json")
        except (OSError, ValueError):
            run_results = None
        raise DbtBuildError(failure_summary(run_results))
