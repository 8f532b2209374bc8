"""The reports a real sync wrote: one page per study and an index linking them."""

from __future__ import annotations

import base64
import re

import duckdb

from invivo_pipeline.assets.dbt import DBT_PROJECT_DIR
from invivo_pipeline.reports import response_plots
from invivo_pipeline.reports.build import (
    LOCK_FILE,
    body_weight_limits,
    load_dbt_vars,
    write_reports,
)
from invivo_pipeline.reports.fingerprints import STATE_FILE
from invivo_pipeline.warehouse.duckdb_file import open_reader
from invivo_pipeline_tests.support.reports import copy_of


def test_the_sync_wrote_one_page_per_study_and_an_index(materialized):
    with open_reader(materialized.db) as con:
        codes = {r[0] for r in con.execute("select code from invivo_raw.studies").fetchall()}
    pages = {p.stem for p in materialized.reports.glob("*.html")} - {"index"}
    assert pages == codes
    index = (materialized.reports / "index.html").read_text()
    links = set(re.findall(r'href="([^"]+)"', index))
    assert links == {f"{code}.html" for code in codes}
    assert all((materialized.reports / link).is_file() for link in links)
    assert f"reports: {materialized.reports / 'index.html'}" in materialized.stdout


BOOKKEEPING = {STATE_FILE, LOCK_FILE}
"""What a reports run keeps beside the pages: the inputs it drew from, and the lock two runs share."""


def test_writing_again_elsewhere_goes_study_by_study_and_inlines_each_figure(
    materialized, tmp_path
):
    seen: list[tuple[str, dict]] = []
    written = write_reports(
        materialized.db, tmp_path, on_plots=lambda study, plots, files: seen.append((study, plots))
    )
    assert [s.study_id for s, _ in seen] == list(written.pages)  # each study once, in order
    assert all(s.growth.empty and s.groups.empty and s.overview for s, _ in seen)  # summaries
    assert written.index == tmp_path / "index.html"
    study, plots = next((s, p) for s, p in seen if p["tumour_growth"] is not None)
    page = written.pages[study.study_id].read_text()
    inlined = base64.b64encode(plots["tumour_growth"]).decode()
    assert f"data:image/png;base64,{inlined}" in page  # the very figure drawn, inlined
    assert sorted(p.name for p in tmp_path.iterdir() if p.name not in BOOKKEEPING) == sorted(
        ["index.html", *(p.name for p in written.pages.values())]
    )

    only_plots = tmp_path / "plots-only"
    kinds: list[set[str]] = []
    again = write_reports(
        materialized.db,
        only_plots,
        pages=False,
        kinds=["survival"],
        on_plots=lambda study, plots, files: kinds.append(set(plots)),
    )
    assert kinds == [{"survival"}] * len(seen) and not again.pages
    assert {p.name for p in only_plots.iterdir()} <= BOOKKEEPING  # no page, no index


def test_the_plots_draw_the_thresholds_dbt_uses():
    limits = body_weight_limits(load_dbt_vars(DBT_PROJECT_DIR))
    assert (limits.alert_pct, limits.endpoint_pct) == (15.0, 20.0)
    assert body_weight_limits({"bw_alert_pct": 12}).alert_pct == 12.0


def test_tenant_text_cannot_overwrite_the_index_or_break_a_figure(materialized, tmp_path):
    """A study coded ``index`` gets a page of its own, not the index's file; names with ``$`` signs
    (money, or one stray sign) are drawn as written instead of failing the report as mathtext."""
    db = copy_of(materialized.db, tmp_path / "db")
    with duckdb.connect(str(db)) as con:
        study_id = con.execute(
            "select study_id from marts.rpt_study_overview order by study_id limit 1"
        ).fetchall()[0][0]
        con.execute(
            "update marts.rpt_study_overview set study_code = 'index', "
            "study_name = 'Costs $x^$ and $5 vs $10 a dose' where study_id = ?",
            [study_id],
        )
    written = write_reports(db, tmp_path / "out")
    index = (tmp_path / "out" / "index.html").read_text()
    assert written.index.name == "index.html"
    assert written.pages[study_id].name == f"index-{study_id}.html"
    links = set(re.findall(r'href="([^"]+)"', index))
    assert {p.name for p in written.pages.values()} == links
    page = written.pages[study_id].read_text()
    assert "Costs $x^$ and $5 vs $10 a dose" in page
    assert "data:image/png;base64," in page  # its figures were drawn


def test_a_figure_that_fails_costs_that_figure_and_is_drawn_again_next_run(
    materialized, tmp_path, monkeypatch
):
    """No tenant data found yet breaks a figure (hostile values and text were tried), so the
    failure is put in: one study's spider raises, as a figure would on data nobody foresaw."""
    db = copy_of(materialized.db, tmp_path / "warehouse")
    out = tmp_path / "reports"
    with open_reader(db) as con:
        with_tumours = [
            row[0]
            for row in con.execute(
                "select distinct study_id from marts.fct_animal_day where pct_dv is not null "
                "order by study_id"
            ).fetchall()
        ]
    victim = with_tumours[0]
    spider_png = response_plots.spider_png

    def failing_spider(study):
        if study.study_id == victim:
            raise ValueError("no room for\n  this animal")
        return spider_png(study)

    monkeypatch.setattr(response_plots, "spider_png", failing_spider)
    first = write_reports(db, out, png_dir=out / "png", incremental=True)

    assert first.failed == {victim: {"spider": "ValueError: no room for this animal"}}
    page = first.pages[victim].read_text()
    assert "Figures that could not be drawn" in page and "no room for this animal" in page
    assert "Tumour growth" in page, "the study's other figures are on its page"
    stem = first.pages[victim].stem
    assert not (out / "png" / f"{stem}-spider.png").exists()
    assert (out / "png" / f"{stem}-tumour_growth.png").is_file()
    assert len(with_tumours) > 1
    assert all("spider" in first.plots[study] for study in with_tumours[1:])
    others = [study for study in first.pages if study != victim]
    assert not any("could not be drawn" in first.pages[s].read_text() for s in others)

    monkeypatch.undo()
    again = write_reports(db, out, png_dir=out / "png", incremental=True)
    assert again.drawn == [victim] and again.failed == {}
    assert "spider" in again.plots[victim] and (out / "png" / f"{stem}-spider.png").is_file()
    assert "could not be drawn" not in again.pages[victim].read_text()
