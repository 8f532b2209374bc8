"""The report assets as Dagster shows them, and what a real sync attached to them: each study's
figure as a Markdown image the UI renders, and the HTML pages' paths."""

from __future__ import annotations

import base64
import re
from html import unescape
from pathlib import Path

import dagster as dg
import pytest
from markdown_it import MarkdownIt

from invivo_pipeline.assets import report_pages as reports
from invivo_pipeline.assets.follow_upstream import FOLLOW_UPSTREAM
from invivo_pipeline.assets.report_pages import PLOT_ASSETS, STUDY_REPORTS, invivo_reports
from invivo_pipeline.assets.warehouse_resource import WarehouseResource
from invivo_pipeline.definitions import defs
from invivo_pipeline.reports.snapshot import snapshot_prefix
from invivo_pipeline.warehouse.duckdb_file import open_reader
from invivo_pipeline_tests.support.reports import (
    PNG_MAGIC,
    copy_of,
    png_size,
    write_from_another_process,
)

IMAGE = re.compile(r"^!\[(?P<alt>[^\]]+)\]\(data:image/png;base64,(?P<png>[A-Za-z0-9+/=]+)\)$")


def test_the_report_assets_follow_the_marts_they_draw():
    graph = defs.resolve_asset_graph()
    assert set(invivo_reports.keys) == {*PLOT_ASSETS.values(), STUDY_REPORTS}
    assert PLOT_ASSETS["tumour_growth"] == dg.AssetKey(["reports", "tumour_growth_curves"])
    for key in invivo_reports.keys:
        node = graph.get(key)
        assert node.group_name == "reports"
        assert {"python", "matplotlib"} <= set(node.kinds)
        assert node.owners == ["team:preclinical-data"]
        assert node.description
        assert node.automation_condition == FOLLOW_UPSTREAM
        assert dg.AssetKey(["marts", "rpt_study_overview"]) in node.parent_keys
    assert (
        dg.AssetKey(["marts", "rpt_group_day_summary"])
        in graph.get(PLOT_ASSETS["tumour_growth"]).parent_keys
    )
    assert dg.AssetKey(["marts", "rpt_km_curve"]) in graph.get(PLOT_ASSETS["survival"]).parent_keys
    assert dg.AssetKey(["marts", "rpt_tgi_by_day"]) in graph.get(STUDY_REPORTS).parent_keys
    sync = defs.resolve_job_def("invivo_sync")
    assert set(invivo_reports.keys) <= sync.asset_layer.executable_asset_keys


def _studies_with(materialized, sql: str) -> set[str]:
    with open_reader(materialized.db) as con:
        return {f"{code} · {name}" for code, name in con.execute(sql).fetchall()}


def test_each_study_with_tumours_has_its_growth_curve_in_the_ui(materialized):
    metadata = materialized.latest_metadata(PLOT_ASSETS["tumour_growth"])
    expected = _studies_with(
        materialized,
        """select distinct o.study_code, o.study_name from marts.rpt_group_day_summary s
        join marts.rpt_study_overview o using (study_id)
        where s.metric = 'tumor_volume_mm3' and s.plot_ok""",
    )
    images = {k: v for k, v in metadata.items() if isinstance(v, dg.MarkdownMetadataValue)}
    assert set(images) == expected and len(expected) >= 2
    assert metadata["studies_plotted"].value == len(expected)
    for title, value in images.items():
        found = IMAGE.match(value.value)
        assert found, value.value[:120]
        assert found["alt"] == f"tumour growth curves — {title}"
        png = base64.b64decode(found["png"])
        assert png[:8] == PNG_MAGIC and png_size(png)[0] >= 800
    for path in metadata["png_files"].value:
        assert Path(path).read_bytes()[:8] == PNG_MAGIC


def test_each_fitted_study_has_its_growth_rate_forest_plot_in_the_ui(materialized):
    metadata = materialized.latest_metadata(PLOT_ASSETS["growth_forest"])
    expected = _studies_with(
        materialized,
        """select distinct o.study_code, o.study_name from marts.rpt_growth_model m
        join marts.rpt_study_overview o using (study_id)
        where m.growth_rate_ratio_ci_lo is not null""",
    )
    images = {k: v for k, v in metadata.items() if isinstance(v, dg.MarkdownMetadataValue)}
    assert set(images) == expected and len(expected) >= 2
    for title, value in images.items():
        found = IMAGE.match(value.value)
        assert found and found["alt"] == f"growth-rate forest plot — {title}"
    assert (
        dg.AssetKey(["marts", "rpt_growth_model"])
        in defs.resolve_asset_graph().get(PLOT_ASSETS["growth_forest"]).parent_keys
    )


def test_survival_and_body_weight_cover_the_tox_study_too(materialized):
    tox = _studies_with(
        materialized,
        "select study_code, study_name from marts.rpt_study_overview where study_code like 'TOX%'",
    )
    for kind in ("survival", "body_weight"):
        metadata = materialized.latest_metadata(PLOT_ASSETS[kind])
        assert tox <= set(metadata), kind
        for title in tox:
            assert IMAGE.match(metadata[title].value)


def test_the_study_reports_asset_points_at_the_pages(materialized):
    metadata = materialized.latest_metadata(STUDY_REPORTS)
    index = Path(metadata["index"].value)
    assert index == materialized.reports / "index.html" and index.is_file()
    assert metadata["open"].value == index.as_uri()
    pages = metadata["pages"].value
    assert metadata["studies"].value == len(pages) == 5
    assert metadata["studies_redrawn"].value == 5  # the first run into a new folder draws all
    assert all(Path(p).is_file() for p in pages.values())
    db = materialized.db
    assert list(db.parent.glob(snapshot_prefix(db) + "*")) == [], "the snapshot was deleted"


def test_a_writer_gets_in_while_the_reports_draw(materialized, tmp_path, monkeypatch):
    """The step holds the writer lock only to copy what it reads: an ingestion run in another
    process gets the lock and the file within 2 s while the figures are drawn."""
    db = copy_of(materialized.db, tmp_path / "warehouse")
    monkeypatch.delenv("INVIVO_REPORTS_DIR", raising=False)
    writes = []
    add = reports._Shown.add

    def write_then_add(self, study, png, file):
        if not writes:  # the first study's figures are drawn, the others not yet
            writes.append(write_from_another_process(db, "create table main.written as select 1"))
        add(self, study, png, file)

    monkeypatch.setattr(reports._Shown, "add", write_then_add)
    result = dg.materialize(
        [invivo_reports], resources={"warehouse": WarehouseResource(path=str(db), lock_timeout_s=5)}
    )
    assert result.success
    assert len(writes) == 1 and writes[0].returncode == 0, writes[0].stderr
    with open_reader(db) as con:
        assert con.execute("from main.written").fetchall() == [(1,)]
    (pages,) = [
        e.materialization.metadata["studies"].value
        for e in result.get_asset_materialization_events()
        if e.asset_key == STUDY_REPORTS
    ]
    assert pages == 5
    assert list(db.parent.glob(snapshot_prefix(db) + "*")) == []


def test_a_plot_asset_shows_a_bounded_number_of_figures_but_lists_every_file(tmp_path, monkeypatch):
    """Hundreds of studies would otherwise put hundreds of inlined PNGs in one event. (The
    reports write the files, ``write_reports(png_dir=...)``; the asset lists them.)"""
    from invivo_pipeline.assets import report_pages as reports
    from invivo_pipeline.reports.data import StudyData
    from invivo_pipeline.reports.files import png_path, write_atomic

    monkeypatch.setattr(reports, "FIGURES_IN_METADATA", 2)
    shown = reports._Shown("survival")
    for n in range(5):
        study = StudyData(f"sdy_{n}", {"study_code": f"S-{n}", "study_name": f"n{n}"}, None)
        png = PNG_MAGIC + bytes([n])
        file = write_atomic(png_path(tmp_path / reports.PNG_DIR, study.code, "survival"), png)
        shown.add(study, png, file)
    shown.add(StudyData("sdy_x", {"study_code": "S-X"}, None), None, None)
    shown.add(StudyData("sdy_y", {"study_code": "S-Y"}, None), None, None)
    failed = {"sdy_y": {"survival": "ValueError: no"}, "sdy_0": {"spider": "KeyError: 'x'"}}
    metadata = shown.metadata(failed)
    assert metadata["studies_plotted"] == 5 and metadata["figures_shown_here"] == 2
    assert [k for k in metadata if k.startswith("S-")] == ["S-0 · n0", "S-1 · n1"]
    assert len(metadata["png_files"].data) == 5
    assert all(Path(f).read_bytes().startswith(PNG_MAGIC) for f in metadata["png_files"].data)
    assert metadata["studies_without_data"].data == ["S-X"]
    assert metadata["figures_failed"].data == {"sdy_y": "ValueError: no"}, "this kind's only"


HOSTILE_TITLES = [
    "ONC-1 · x](https://evil.example/a.png) ![y",
    "ONC-2 · <img src=https://evil.example/b.png> and [a link](https://evil.example)",
    "ONC-3 · \\](https://evil.example/c.png) `code](https://evil.example/d)` \n![z](https://evil.example/e.png)",
]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_a_study_title_shows_as_text_in_the_ui_never_as_a_link_or_a_remote_image(title):
    """The figures' Markdown, rendered as a CommonMark renderer (the UI's) renders it: exactly one
    image, the inlined PNG, whose alt text is the title as written; nothing from another host."""
    png = PNG_MAGIC + b"not really a png"
    html = (
        MarkdownIt("commonmark", {"html": True})
        .enable("linkify")
        .render(reports.image_markdown(f"tumour growth curves — {title}", png))
    )
    images = re.findall(r"<img [^>]*>", html)
    assert len(images) == 1, html
    assert re.search(r'src="data:image/png;base64,', images[0])
    assert "evil.example" not in "".join(re.findall(r'(?:src|href)="([^"]*)"', html)), html
    assert "<a " not in html
    alt = re.search(r'alt="([^"]*)"', images[0])[1]
    assert unescape(alt) == f"tumour growth curves — {' '.join(title.split())}"
