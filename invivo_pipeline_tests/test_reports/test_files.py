"""Where reports go, and whole-file writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from invivo_pipeline.reports.files import (
    REPORTS_DIR_ENV,
    SLUG_MAX,
    reports_dir,
    slug,
    write_atomic,
)


def test_reports_go_beside_the_warehouse_unless_configured(tmp_path):
    db = tmp_path / "demo" / "invivo.duckdb"
    assert reports_dir(db, env={}) == tmp_path / "demo" / "reports"
    assert reports_dir(db, env={REPORTS_DIR_ENV: str(tmp_path / "elsewhere")}) == (
        tmp_path / "elsewhere"
    )
    assert reports_dir(Path("data/invivo.duckdb"), env={}).is_absolute()


def test_a_file_is_replaced_whole_and_leaves_no_temporary_behind(tmp_path):
    target = tmp_path / "out" / "index.html"
    write_atomic(target, "old")
    write_atomic(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert [p.name for p in target.parent.iterdir()] == ["index.html"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "index.html"
    write_atomic(target, "old")
    with pytest.raises(TypeError):
        write_atomic(target, 42)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]


@pytest.mark.parametrize(
    ("code", "expected"), [("ONC-26-001", "ONC-26-001"), ("a/b c", "a-b-c"), ("../..", "study")]
)
def test_study_codes_become_safe_file_names(code, expected):
    assert slug(code) == expected


def test_a_very_long_code_makes_a_short_name_that_keeps_two_codes_apart(tmp_path):
    first, second = "S" * 250 + "-1", "S" * 250 + "-2"
    names = {slug(first), slug(second)}
    assert len(names) == 2 and all(len(name) <= SLUG_MAX for name in names)
    for name in names:  # a real file of that name, with the suffixes the reports add
        write_atomic(tmp_path / f"{name}-{'x' * 40}-tumour_growth.png", b"png")
