"""The reports a real sync wrote: one page per study and an index linking them."""

from __future__ import annotations

import re

from invivo_pipeline.assets.dbt import DBT_PROJECT_DIR
from invivo_pipeline.reports.build import body_weight_limits, load_dbt_vars, write_reports
from invivo_pipeline.warehouse.duckdb_file import open_reader


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


def test_writing_again_elsewhere_reuses_given_figures(materialized, tmp_path):
    sentinel = b"\x89PNG\r\n\x1a\nnot really"
    with open_reader(materialized.db) as con:
        first = con.execute("select study_id from marts.rpt_study_overview limit 1").fetchone()[0]
    written = write_reports(materialized.db, tmp_path, rendered={first: {"body_weight": sentinel}})
    assert set(written.pages) >= {first} and written.index == tmp_path / "index.html"
    page = written.pages[first].read_text()
    assert "data:image/png;base64,iVBORw0KGgpub3QgcmVhbGx5" in page  # the given figure, inlined
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["index.html", *(p.name for p in written.pages.values())]
    )


def test_the_plots_draw_the_thresholds_dbt_uses():
    limits = body_weight_limits(load_dbt_vars(DBT_PROJECT_DIR))
    assert (limits.alert_pct, limits.endpoint_pct) == (15.0, 20.0)
    assert body_weight_limits({"bw_alert_pct": 12}).alert_pct == 12.0
