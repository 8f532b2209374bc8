"""The dbt project keeps dbt Labs' layout: staging per source, renamed and cast only; intermediate
models per domain in their own schema; one yml per folder; the relations the warehouse contract
publishes unchanged; and no reference to a document outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

from invivo_pipeline.assets.dbt import DBT_PROJECT_DIR, MANIFEST, invivo_dbt

MODELS = DBT_PROJECT_DIR / "models"
CONTRACT_RELATIONS_BUILT_IN_INTERMEDIATE = {
    "int_fcs_files_tagged": "staging.stg_cytobank_fcs_files",
    "int_population_stats_with_parents": "staging.stg_cytobank_population_stats",
}
"""Joined Cytobank tables the contract publishes in staging: their joins are intermediate work."""


def _models() -> list[dict]:
    return [n for n in MANIFEST["nodes"].values() if n["resource_type"] == "model"]


def _folder(node: dict) -> Path:
    return Path(node["original_file_path"]).parent.relative_to("models")


def test_staging_models_are_per_source_and_only_rename_and_cast_its_tables():
    staging = [n for n in _models() if _folder(n).parts[0] == "staging"]
    assert len(staging) >= 16
    for node in staging:
        folder = _folder(node)
        assert len(folder.parts) == 2, node["original_file_path"]
        source = folder.parts[1]
        assert re.fullmatch(rf"stg_{source}__[a-z0-9_]+", node["name"]), node["name"]
        # Their own source's tables only (stg_invivo__entity_metadata unions ten of them).
        upstream = node["depends_on"]["nodes"]
        assert upstream and all(u.startswith(f"source.invivo.{source}_raw.") for u in upstream), (
            node["name"],
            upstream,
        )
        sql = node["raw_code"].lower()
        assert not re.search(r"\bjoin\b|\bgroup\s+by\b", sql), f"{node['name']} joins or aggregates"


def test_every_relation_is_published_where_the_contract_has_it():
    for node in _models():
        layer = _folder(node).parts[0]
        relation = f"{node['schema']}.{node['alias']}"
        if node["config"]["materialized"] == "ephemeral":
            assert layer == "staging", node["name"]  # inputs of the flow joins, no relation
        elif node["name"] in CONTRACT_RELATIONS_BUILT_IN_INTERMEDIATE:
            assert layer == "intermediate"
            assert relation == CONTRACT_RELATIONS_BUILT_IN_INTERMEDIATE[node["name"]]
        else:
            assert node["schema"] == layer, relation
        if node["name"].startswith("stg_") and node["config"]["materialized"] != "ephemeral":
            assert node["alias"] == node["name"].replace(f"stg_{_folder(node).parts[1]}__", "stg_")
        if node["alias"].startswith("int_"):
            assert node["schema"] == "intermediate", relation


def test_dagster_keys_models_and_names_checks_after_the_relations_they_publish():
    keys = {key.to_user_string() for key in invivo_dbt.keys}
    assert {"staging/stg_animals", "staging/stg_cytobank_fcs_files"} <= keys
    assert {"intermediate/int_study_dates", "marts/dim_animal"} <= keys
    assert not [key for key in keys if "__" in key]  # no model file name
    checks = {spec.key.name for spec in invivo_dbt.check_specs}
    assert "relationships_stg_animals_group_id__group_id__ref_stg_study_groups_" in checks
    assert "unique_stg_cytobank_fcs_files_fcs_file_id" in checks
    assert not [name for name in checks if re.search(r"stg_[a-z]+__|int_fcs|int_population", name)]


def test_one_yml_per_folder_named_after_it():
    folders = {p.parent for p in MODELS.rglob("*") if p.suffix in (".sql", ".py")}
    assert folders, MODELS
    for folder in folders:
        ymls = sorted(p.name for p in folder.glob("*.yml"))
        models = [y for y in ymls if y.endswith("__models.yml")]
        assert models == [f"_{folder.name}__models.yml"], (folder, ymls)
        assert set(ymls) - set(models) <= {f"_{folder.name}__sources.yml"}, (folder, ymls)


def test_the_project_cites_only_documents_of_the_repository():
    for path in DBT_PROJECT_DIR.rglob("*"):
        if path.suffix not in (".sql", ".py", ".yml") or {"target", "logs"} & set(path.parts):
            continue
        text = path.read_text()
        assert not re.search(r"/work/|\.\./shared|preclinical-reporting", text), path
        if "§" in text:  # a file citing a section names the document it is in
            assert "docs/reporting-specification.md" in text, path


def test_dbt_sends_no_usage_telemetry():
    """dbt posts usage events to dbt Labs unless the project says otherwise; the manifest records
    what dbt itself resolved."""
    assert MANIFEST["metadata"]["send_anonymous_usage_stats"] is False
