"""The HTML pages: self-contained, one section per kind of data present, extensible by one entry."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pytest

from invivo_pipeline.reports.data import load_studies
from invivo_pipeline.reports.drawing import draw
from invivo_pipeline.reports.flow_tables import DEFAULT_POPULATION
from invivo_pipeline.reports.html import (
    SECTIONS,
    ReportContext,
    section,
    study_page,
    table_html,
)
from invivo_pipeline.warehouse.duckdb_file import open_reader
from invivo_pipeline_tests.support.reports import PNG_MAGIC, by_kind


class Links(HTMLParser):
    """Every src and href of a page, and its section titles."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.headings: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.refs.append((tag, name, value))
        self._in_h2 = tag == "h2"

    def handle_data(self, data):
        if self._in_h2:
            self.headings.append(data)
            self._in_h2 = False


def parse(page: str) -> Links:
    links = Links()
    links.feed(page)
    return links


@pytest.fixture(scope="module")
def pages(materialized):
    with open_reader(materialized.db) as con:
        kinds = by_kind(load_studies(con))
        return {
            kind: study_page(ReportContext(study, draw(study).figures, con))
            for kind, study in kinds.items()
        }


def test_a_study_page_needs_nothing_outside_itself(pages):
    links = parse(pages["oncology"])
    images = [value for tag, _, value in links.refs if tag == "img"]
    assert len(images) == 6  # growth, forest plot, waterfall, spider, Kaplan–Meier, body weight
    for ref in images:
        assert ref.startswith("data:image/png;base64,")
        assert base64.b64decode(ref.split(",", 1)[1])[:8] == PNG_MAGIC
    assert [r for r in links.refs if not r[2].startswith("data:")] == []
    assert not re.search(r"<(script|link)\b", pages["oncology"])


def test_sections_follow_the_data(pages):
    oncology = parse(pages["oncology"]).headings
    # Flow cytometry is there when Cytobank has this study's files (its own test below).
    assert [h for h in oncology if h != "Flow cytometry (Cytobank)"] == [
        "Study overview",
        "How to read this report",
        "Tumour growth",
        "Tumour growth inhibition",
        "Growth model",
        "Best response by animal",
        "Tumour volume by animal",
        "Survival (Kaplan–Meier)",
        "Body weight",
        "Data quality",
    ]
    tox = parse(pages["tox"]).headings
    assert "Tumour growth" not in tox and "Tumour growth inhibition" not in tox
    assert "Growth model" not in tox
    assert "Best response by animal" not in tox and "Tumour volume by animal" not in tox
    assert "Body weight" in tox
    assert parse(pages["draft"]).headings[-2:] == ["No measurements yet", "Data quality"]


def test_the_tgi_table_shows_each_treated_group_on_the_evaluation_day(materialized, pages):
    with open_reader(materialized.db) as con:
        rows = con.execute(
            """select group_name, round(tgi_delta_pct, 1) from marts.rpt_tgi_by_day t
            join marts.rpt_study_overview o using (study_id)
            where is_eval_day and o.status = 'completed' and o.study_code like 'ONC%'"""
        ).fetchall()
    assert rows
    page = pages["oncology"]
    for group, tgi in rows:
        assert re.search(
            rf"<td>{re.escape(group)}</td><td class=\"num\">\d+</td>.*?{tgi:,.1f}</td>", page
        )


def test_a_new_section_is_one_more_entry(materialized):
    seen: list[str] = []

    def extra_section(ctx: ReportContext) -> str | None:
        assert ctx.con is not None, "sections may query the warehouse"
        (n,) = ctx.con.execute(
            "select count(*) from invivo_raw.samples where study_id = ?", [ctx.study.study_id]
        ).fetchone()
        seen.append(ctx.study.study_id)
        return section("Extra", f"<p>{n} samples</p>")

    with open_reader(materialized.db) as con:
        study = by_kind(load_studies(con))["tox"]
        page = study_page(ReportContext(study, {}, con), [*SECTIONS, extra_section])
    assert parse(page).headings[-1] == "Extra"
    assert seen == [study.study_id]


def test_tables_escape_text_and_format_numbers():
    import pandas as pd

    frame = pd.DataFrame(
        {"g": ["<b>A&B</b>"], "x": [1234.567], "n": [None], "d": [pd.Timestamp("2026-10-11")]}
    ).assign(k=pd.array([12345], dtype="Int64"), na=pd.array([None], dtype="Int64"))
    html = table_html(
        frame, {"g": "Group", "x": "Value", "n": "Missing", "d": "Day 0", "k": "n", "na": "NA"}
    )
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in html
    assert '<td class="num">1,234.6</td>' in html
    assert "<td>–</td>" in html
    assert "<td>2026-10-11</td>" in html
    assert '<td class="num">12,345</td><td>–</td></tr>' in html


def test_a_study_with_flow_data_shows_its_fcs_files_and_a_population_by_group(materialized):
    with open_reader(materialized.db) as con:
        linked = con.execute(
            """select study_id, count(*) from marts.fct_flow_sample
            where study_id is not null group by 1 order by 2 desc limit 1"""
        ).fetchall()
        assert linked, "the Cytobank world links files to this world's animals"
        study_id, n_files = linked[0]
        study = next(s for s in load_studies(con) if s.study_id == study_id)
        groups = {
            g
            for (g,) in con.execute(
                "select distinct group_name from marts.rpt_flow_population_stats "
                "where study_id = ? and population_name = ?",
                [study_id, DEFAULT_POPULATION],
            ).fetchall()
        }
        page = study_page(ReportContext(study, {}, con))
        tox_page = study_page(ReportContext(by_kind(load_studies(con))["tox"], {}, con))
    assert parse(page).headings[-2:] == ["Flow cytometry (Cytobank)", "Data quality"]
    flow = page[page.index("Flow cytometry (Cytobank)") :]
    assert f"{n_files} FCS files matched" in flow
    assert len(groups) >= 2
    for group in groups:
        assert f"<td>{group}</td>" in flow
    assert "Flow cytometry" not in "".join(parse(tox_page).headings)
