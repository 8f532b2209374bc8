"""One rule for counts read from the environment: unset or empty means the default, a whole
number of at least 1 is taken, anything else is an error naming the variable and its value.
And one registry of every variable, held against the code that reads them and the docs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from invivo_pipeline.core import env_settings
from invivo_pipeline.core.env_settings import (
    BY_NAME,
    SETTINGS,
    TABLE_END,
    TABLE_START,
    positive_int,
    settings_table,
    write_table,
)
from invivo_pipeline.sources.invivo.config import ClientConfig


class SettingError(Exception):
    pass


def test_unset_or_empty_is_the_default_and_a_count_is_taken():
    assert positive_int({}, "N", 7) == 7
    assert positive_int({"N": ""}, "N", 7) == 7
    assert positive_int({"N": "3"}, "N", 7) == 3
    assert positive_int({"N": " 12\n"}, "N", 7) == 12


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5", "1e3", "²"])
def test_anything_else_is_the_caller_s_error_naming_variable_and_value(bad):
    with pytest.raises(SettingError) as caught:
        positive_int({"N": bad}, "N", 7, SettingError)
    assert str(caught.value) == f"N={bad!r} is not a whole number of at least 1"


# --- The registry of variables against the code and the docs ------------------------------------

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "invivo_pipeline"
REGISTRY = Path(env_settings.__file__).resolve()
VARIABLE = re.compile(r"(?:INVIVO|CYTOBANK|DAGSTER)_[A-Z0-9_]*[A-Z0-9]")
DBT_ENV_VAR = re.compile(r"env_var\(\s*['\"]([A-Z0-9_]+)['\"]")


def variables_in_the_code() -> dict[str, set[str]]:
    """Variable → files naming it: every string literal of the package that is a variable's whole
    name (``env.get("INVIVO_X")``, ``X_ENV = "INVIVO_X"``, ``EnvVar("CYTOBANK_Y")``), every
    variable ``ClientConfig.from_env`` derives from its fields, and every ``env_var()`` of the dbt
    project. The registry itself does not count as code reading a variable."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if path == REGISTRY:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and VARIABLE.fullmatch(node.value)
            ):
                found.setdefault(node.value, set()).add(str(path.relative_to(ROOT)))
    for var in ClientConfig.environment_variables().values():
        found.setdefault(var, set()).add(
            "invivo_pipeline/sources/invivo/config.py (ClientConfig field)"
        )
    for path in (ROOT / "dbt_project").rglob("*"):
        if path.suffix in (".yml", ".yaml", ".sql") and "target" not in path.parts:
            for var in DBT_ENV_VAR.findall(path.read_text()):
                found.setdefault(var, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_variable_the_code_reads_is_in_the_registry():
    unregistered = {
        var: sorted(files) for var, files in variables_in_the_code().items() if var not in BY_NAME
    }
    assert not unregistered, (
        "read but not documented: add a Setting line to invivo_pipeline/core/env_settings.py "
        f"and regenerate docs/configuration.md: {unregistered}"
    )


def test_every_registered_variable_is_read_somewhere():
    unread = sorted(set(BY_NAME) - set(variables_in_the_code()))
    assert not unread, f"documented but read nowhere: {unread}"


def test_the_reference_page_is_the_registry_table():
    page = (ROOT / "docs" / "configuration.md").read_text()
    assert settings_table() in page, (
        "docs/configuration.md is stale: python -m invivo_pipeline.core.env_settings "
        "docs/configuration.md"
    )
    documented = re.findall(r"^\| `([A-Z0-9_]+)` \|", page, flags=re.MULTILINE)
    assert sorted(documented) == sorted(BY_NAME)
    assert len(documented) == len(set(documented)), "a variable is listed twice"


def test_the_readme_lists_the_required_variables_and_links_to_the_reference():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `([A-Z0-9_]+)` \|", section, flags=re.MULTILINE)
    assert listed == [s.name for s in SETTINGS if s.required == "yes"]
    assert "docs/configuration.md" in section


def test_regenerating_the_page_replaces_only_the_table(tmp_path):
    page = tmp_path / "configuration.md"
    page.write_text(f"intro\n\n{TABLE_START}\n| stale |\n{TABLE_END}\n\nafter\n")
    write_table(page)
    assert page.read_text() == f"intro\n\n{settings_table()}\n\nafter\n"
