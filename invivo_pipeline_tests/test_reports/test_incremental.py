"""Reports redraw only the studies whose inputs changed, and what they keep is what a full
rebuild of the same warehouse writes, page for page and figure for figure."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from invivo_pipeline.reports.build import PLOT_TITLES, WrittenReports, write_reports
from invivo_pipeline.reports.data import TABLES_READ
from invivo_pipeline.reports.fingerprints import STATE_FILE, study_fingerprints
from invivo_pipeline.reports.limits import BodyWeightLimits
from invivo_pipeline.warehouse.duckdb_file import existing_tables, open_reader
from invivo_pipeline_tests.support.dbt import dbt_build
from invivo_pipeline_tests.support.reports import copy_of

pytestmark = pytest.mark.slow

GENERATED = re.compile(rb"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")


def _without_timestamp(path: Path) -> bytes:
    return GENERATED.sub(b"generated <time>", path.read_bytes())


Figures = dict[str, dict[str, bytes | None]]


def _write(
    db: Path, out: Path, *, incremental: bool = True, **kwargs
) -> tuple[WrittenReports, Figures]:
    """The run's result, and the figures ``on_plots`` was given (what the plot assets show)."""
    seen: Figures = {}
    written = write_reports(
        db,
        out,
        png_dir=out / "png",
        incremental=incremental,
        on_plots=lambda study, plots, files: seen.__setitem__(study.study_id, dict(plots)),
        **kwargs,
    )
    return written, seen


def _files(out: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(out)): p
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def _amend_one_study(db: Path) -> str:
    """A later day's data for one study, as dbt would leave it: its name and its growth means."""
    with duckdb.connect(str(db)) as con:
        (study_id,) = con.execute(
            "select study_id from marts.rpt_group_day_summary "
            "where metric = 'tumor_volume_mm3' and plot_ok order by study_id limit 1"
        ).fetchone()
        con.execute(
            "update marts.rpt_study_overview set study_name = study_name || ' (amended)' "
            "where study_id = ?",
            [study_id],
        )
        con.execute(
            "update marts.rpt_group_day_summary set mean = mean * 1.25 "
            "where study_id = ? and metric = 'tumor_volume_mm3'",
            [study_id],
        )
    return study_id


def test_one_changed_study_is_redrawn_and_the_result_equals_a_full_rebuild(materialized, tmp_path):
    db = copy_of(materialized.db, tmp_path / "warehouse")
    out = tmp_path / "incremental"
    first, first_seen = _write(db, out)
    assert first.drawn == list(first.pages) and len(first.drawn) == 5  # nothing to keep yet
    before = {name: p.stat().st_mtime_ns for name, p in _files(out).items()}

    again, again_seen = _write(db, out)
    assert again.drawn == []
    kept = {name: p.stat().st_mtime_ns for name, p in _files(out).items()}
    del kept["index.html"]  # always written
    assert kept == {name: t for name, t in before.items() if name != "index.html"}, (
        "an unchanged study's page and figures are not written again"
    )
    assert again_seen == first_seen, "the plot assets still see every figure, read from file"

    changed = _amend_one_study(db)
    after, after_seen = _write(db, out)
    assert after.drawn == [changed]
    full, full_seen = _write(db, tmp_path / "full", incremental=False)
    assert full.drawn == list(full.pages)

    incremental_files, full_files = _files(out), _files(tmp_path / "full")
    assert set(incremental_files) == set(full_files)
    for name, path in full_files.items():
        assert _without_timestamp(incremental_files[name]) == _without_timestamp(path), name
    assert "(amended)" in after.pages[changed].read_text()
    assert after_seen == full_seen

    stem = after.pages[changed].stem
    rewritten = {
        name for name, p in incremental_files.items() if p.stat().st_mtime_ns != before.get(name)
    }
    assert {f"{stem}.html", "index.html"} <= rewritten
    assert all(
        name in {"index.html", f"{stem}.html"} or name.startswith(f"png/{stem}-")
        for name in rewritten
    ), rewritten


def test_a_missing_file_or_other_settings_redraw(materialized, tmp_path):
    db = copy_of(materialized.db, tmp_path / "warehouse")
    out = tmp_path / "reports"
    first, _ = _write(db, out)
    study_id, page = next(iter(first.pages.items()))
    page.unlink()
    assert _write(db, out)[0].drawn == [study_id] and page.is_file()
    figure = next((out / "png").iterdir())
    figure.unlink()
    assert len(_write(db, out)[0].drawn) == 1 and figure.is_file()

    other_limits = BodyWeightLimits(alert_pct=12.5, endpoint_pct=25.0)
    assert _write(db, out, limits=other_limits)[0].drawn == list(first.pages)
    assert _write(db, out, limits=other_limits)[0].drawn == []

    (out / STATE_FILE).write_text("not json")
    assert _write(db, out, limits=other_limits)[0].drawn == list(first.pages)


def test_building_the_marts_again_from_the_same_data_changes_no_study(materialized, tmp_path):
    """DuckDB sums in whatever order its threads finish, so a mart's means differ in their last
    bits from one build to the next, and the growth model's fit amplified that to 1e-7: every
    study looked changed after every build, and nothing was ever kept."""
    db = copy_of(materialized.db, tmp_path / "warehouse")
    with open_reader(db) as con:
        before = study_fingerprints(con)
    run = dbt_build(db, tmp_path)
    assert run.returncode == 0, run.output[-2000:]
    with open_reader(db) as con:
        assert study_fingerprints(con) == before
        # The build did write the marts again (the test is not comparing a file with itself).
        (built,) = con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'marts'"
        ).fetchone()
    assert built > 0 and run.statuses().get("rpt_growth_model") == "success"


def _withdraw_rename_and_empty(db: Path) -> tuple[str, str, str]:
    """As dbt leaves the marts when the API no longer lists one study, another study's code was
    changed and a third study's waterfall lost its rows: the three studies, in that order."""
    with duckdb.connect(str(db)) as con:
        gone, renamed, emptied = (
            row[0]
            for row in con.execute(
                "select study_id from marts.rpt_study_overview "
                "order by study_id in (select study_id from marts.rpt_animal_waterfall), "
                "study_code, study_id"
            ).fetchall()[-3:]
        )
        present = existing_tables(con, {schema for schema, _ in TABLES_READ})
        for schema, name in TABLES_READ:
            if (schema, name) in present:
                con.execute(f"delete from {schema}.{name} where study_id = ?", [gone])
        con.execute(
            "update marts.rpt_study_overview set study_code = study_code || '-B' "
            "where study_id = ?",
            [renamed],
        )
        con.execute("delete from marts.rpt_animal_waterfall where study_id = ?", [emptied])
    return gone, renamed, emptied


def _left_by(files: dict[str, Path], stem: str) -> set[str]:
    """The files named for a study whose page is ``<stem>.html``: its page and its figures."""
    named = {f"{stem}.html"} | {f"png/{stem}-{kind}.png" for kind in PLOT_TITLES}
    return named & set(files)


def _own_files(out: Path) -> list[Path]:
    """Files somebody else put in the reports folders."""
    own = [out / "team-notes.html", out / "png" / "own-figure.png"]
    for path in own:
        path.write_text("not the pipeline's")
    return own


def test_what_a_gone_renamed_or_emptied_study_left_is_removed_and_nothing_else(
    materialized, tmp_path
):
    db = copy_of(materialized.db, tmp_path / "warehouse")
    out = tmp_path / "incremental"
    first, _ = _write(db, out)
    own = {str(p.relative_to(out)) for p in _own_files(out)}
    before = _files(out)

    gone, renamed, emptied = _withdraw_rename_and_empty(db)
    after, _ = _write(db, out)
    assert sorted(after.drawn) == sorted([renamed, emptied])
    stale = (
        _left_by(before, first.pages[gone].stem)
        | _left_by(before, first.pages[renamed].stem)
        | {f"png/{first.pages[emptied].stem}-waterfall.png"}
    )
    assert len(stale) > 8 and stale <= set(before)
    assert sorted(after.removed) == sorted(out / name for name in stale)
    left = _files(out)
    assert not stale & set(left), "a stale page or figure was left"
    assert own <= set(left), "a file that is not the pipeline's was removed"
    assert after.pages[renamed].name == f"{first.pages[renamed].stem}-B.html"

    _write(db, tmp_path / "full", incremental=False)
    full_files = _files(tmp_path / "full")
    assert set(left) - own == set(full_files)
    for name, path in full_files.items():
        assert _without_timestamp(left[name]) == _without_timestamp(path), name
    assert _write(db, out)[0].removed == [], "nothing is stale twice"


def test_a_run_removes_only_what_it_replaces_and_the_next_removes_the_rest(materialized, tmp_path):
    db = copy_of(materialized.db, tmp_path / "warehouse")
    out = tmp_path / "reports"
    first, _ = _write(db, out)
    gone, renamed, _ = _withdraw_rename_and_empty(db)
    stems = {study: first.pages[study].stem for study in (gone, renamed)}

    # One kind, no pages: the index still links the gone study's page, so the page stays (and
    # the other kinds' figures, which this run did not draw); its spider goes.
    spiders = write_reports(db, out, pages=False, kinds=["spider"], png_dir=out / "png")
    assert sorted(spiders.removed) == sorted(
        out / "png" / f"{stem}-spider.png" for stem in stems.values()
    )
    assert (
        first.pages[gone].is_file() and (out / "png" / f"{stems[gone]}-growth_forest.png").is_file()
    )

    # Other settings than the run before: every study is drawn again, and what the first run
    # left for the gone and renamed studies is still known, and removed.
    pages, _ = _write(db, out)
    assert pages.drawn == list(pages.pages)
    left = _files(out)
    for stem in stems.values():
        assert not _left_by(left, stem), stem
    assert not _write(db, out)[0].removed, "nothing is stale twice"


def test_two_studies_with_one_code_keep_a_figure_file_each(materialized, tmp_path):
    """Real tenants have them (a study copied, or re-created under its old code). The pages were
    kept apart by the study id; the figures were written to one file, the second study's over
    the first's, and the plot assets listed that file for both."""
    db = copy_of(materialized.db, tmp_path / "warehouse")
    with duckdb.connect(str(db)) as con:
        first, second = (
            row[0]
            for row in con.execute(
                "select study_id from marts.rpt_study_overview where study_id in "
                "(select study_id from marts.rpt_animal_waterfall) order by study_id limit 2"
            ).fetchall()
        )
        con.execute(
            "update marts.rpt_study_overview set study_code = "
            "(select study_code from marts.rpt_study_overview where study_id = ?) "
            "where study_id = ?",
            [first, second],
        )
    out = tmp_path / "reports"
    seen: dict[str, tuple[dict, dict]] = {}
    written = write_reports(
        db,
        out,
        png_dir=out / "png",
        incremental=True,
        on_plots=lambda study, plots, files: seen.__setitem__(study.study_id, (plots, files)),
    )
    assert written.pages[first] != written.pages[second]
    (plots_1, files_1), (plots_2, files_2) = seen[first], seen[second]
    assert plots_1["waterfall"] != plots_2["waterfall"], "two studies' data, two figures"
    assert set(files_1.values()).isdisjoint(files_2.values())
    for plots, files in (seen[first], seen[second]):
        assert files and all(files[kind].read_bytes() == plots[kind] for kind in files)
