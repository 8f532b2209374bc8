"""The Dagster UI as a scientist's data engineer first sees it, in a real browser: after one
``invivo sync`` against the simulator, ``dagster-webserver`` serves the instance and Debian's
Chromium, driven by Playwright, opens the lineage graph, the catalog, assets' checks, table assets'
row counts and columns, and the tumour growth curves. What must be there is read from the code
location's definitions and the DuckDB file; what is there is read off the rendered pages. Every page is saved as a screenshot under
``test-artifacts/browser/`` (or ``$INVIVO_TEST_ARTIFACTS/browser/``) for a person to look at.

Skips, saying why, only where ``/usr/bin/chromium`` is missing or cannot start (``.ci/run``
installs it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from playwright.sync_api import Browser, Error, Page, expect, sync_playwright

from invivo_pipeline.definitions import defs
from invivo_pipeline.warehouse.duckdb_file import open_reader
from invivo_pipeline_tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DISMISS_COMMUNITY_DIALOG,
    artifacts_dir,
)
from invivo_pipeline_tests.support.materialized import Materialized
from invivo_pipeline_tests.support.ui_stack import UiStack, served_ui

GRAPH = defs.resolve_asset_graph()
GROWTH_CURVES = dg.AssetKey(["reports", "tumour_growth_curves"])
# An asset in the middle of the lineage: its neighbours are raw tables and mart models.
STAGING_MODEL = dg.AssetKey(["staging", "stg_studies"])
CHECKED_ASSETS = [dg.AssetKey(["invivo_raw", "animals"]), dg.AssetKey(["marts", "rpt_tgi_by_day"])]
# A raw table loaded per study partition, and a dbt mart: their keys are their DuckDB names.
TABLE_ASSETS = [
    dg.AssetKey(["invivo_raw", "measurements"]),
    dg.AssetKey(["marts", "rpt_tgi_by_day"]),
]
WAIT_MS = 60_000  # the machine is shared; a page waits this long for what it must show
SCREEN = {"width": 1600, "height": 1000}
expect.set_options(timeout=WAIT_MS)


def _path(key: dg.AssetKey) -> str:
    return "/".join(key.path)


def _graph_node(page: Page, name: str):
    """An asset's (or group's) box in the lineage graph: SVG ``foreignObject`` whose text starts
    with the name (then "Latest event…" for an asset, the asset count for a group)."""
    return page.locator("svg foreignObject").filter(
        has_text=re.compile(rf"^{re.escape(name)}(?![a-z_])")
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (.ci/run installs Debian's chromium)")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
        except Error as exc:
            pytest.skip(f"{CHROMIUM} cannot start: {str(exc).splitlines()[0]}")
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def ui(browser: Browser, materialized: Materialized) -> Iterator[UiStack]:
    """Asks for the session's sync after the browser, so a machine without Chromium skips first."""
    # The webserver's log is kept beside the screenshots, for a failed CI run.
    with served_ui(materialized, logs=artifacts_dir() / "logs") as stack:
        yield stack


@pytest.fixture
def page(browser: Browser, ui: UiStack) -> Iterator[Page]:
    # A new context is a new profile: no state carries over from one test to the next.
    context = browser.new_context(viewport=SCREEN, base_url=ui.url)
    context.add_init_script(DISMISS_COMMUNITY_DIALOG)
    context.set_default_timeout(WAIT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def _screenshot(page: Page, name: str) -> Path:
    path = artifacts_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_the_lineage_graph_shows_every_group_and_the_layers_around_a_staging_model(page):
    page.goto("/asset-groups")
    groups = {GRAPH.get(key).group_name for key in GRAPH.get_all_asset_keys()}
    assert {"invivo_raw", "staging", "marts", "reports"} <= groups
    for group in groups:
        expect(_graph_node(page, group)).to_be_visible()
    # Each group box says "N assets (fetching statuses)" until it shows their status counts; then
    # a single (green) count of all its assets: every one materialized, none failed or missing.
    expect(page.get_by_text("fetching statuses")).to_have_count(0)
    for group in groups:
        size = sum(GRAPH.get(key).group_name == group for key in GRAPH.get_all_asset_keys())
        expect(_graph_node(page, group)).to_have_text(re.compile(rf"^{group}\s*{size}$"))
    _screenshot(page, "asset-graph-groups")

    page.goto(f"/assets/{_path(STAGING_MODEL)}?view=lineage")
    node = GRAPH.get(STAGING_MODEL)
    neighbours = {STAGING_MODEL, *node.parent_keys, *node.child_keys}
    # Intermediate models are keyed by their own schema and drawn in the marts' group frame.
    assert {k.path[0] for k in neighbours} == {"invivo_raw", "staging", "intermediate", "marts"}
    assert {GRAPH.get(k).group_name for k in neighbours} == {"invivo_raw", "staging", "marts"}
    for key in neighbours:
        box = _graph_node(page, key.path[-1])
        expect(box).to_be_visible()
        expect(box).to_contain_text("Materialized")
    for group in ("invivo_raw", "staging", "marts"):  # the frames the layers are drawn in
        expect(_graph_node(page, group).first).to_be_visible()
    _screenshot(page, "asset-graph-lineage")


def test_the_catalog_lists_every_asset_of_every_group_materialized(page):
    keys = sorted(GRAPH.get_all_asset_keys())
    # The catalog renders only the rows in view: a screen tall enough shows them all.
    page.set_viewport_size({"width": SCREEN["width"], "height": 300 + 70 * len(keys)})
    page.goto("/assets")
    for key in keys:
        link = page.locator(f'a[href="/assets/{_path(key)}"]')
        expect(link).to_be_visible()
        expect(link).to_contain_text(" / ".join(key.path))
    unpartitioned = [k for k in keys if GRAPH.get(k).partitions_def is None]
    status = page.get_by_text(re.compile(r"^Materialized$"))
    expect(status).to_have_count(len(unpartitioned))
    expect(page.get_by_text("Never materialized")).to_have_count(0)
    _screenshot(page, "asset-catalog")


@pytest.mark.parametrize("key", CHECKED_ASSETS, ids=_path)
def test_an_assets_checks_are_listed_and_passed(page, key):
    names = sorted(c.name for c in GRAPH.get_check_keys_for_assets({key}))
    assert names, f"{_path(key)} has no checks to show"
    page.goto(f"/assets/{_path(key)}?view=checks")
    expect(page.get_by_text(f"Checks ({len(names)})")).to_be_visible()
    for name in names:  # the list on the left: the check's name, then its latest status
        entry = page.locator(f'span:has(> div[title="{name}"])')
        expect(entry).to_be_visible()
        expect(entry).to_contain_text("Succeeded")
    expect(page.get_by_text("Passed").first).to_be_visible()
    _screenshot(page, f"asset-checks-{key.path[-1]}")


@pytest.mark.parametrize("key", TABLE_ASSETS, ids=_path)
def test_a_table_asset_shows_the_row_count_and_columns_the_warehouse_has(page, ui, key):
    schema, table = key.path
    with open_reader(ui.warehouse) as con:
        rows = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
        columns = [
            name
            for (name,) in con.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [schema, table],
            ).fetchall()
        ]
    assert rows > 0 and columns
    page.set_viewport_size({"width": SCREEN["width"], "height": 900 + 40 * len(columns)})
    page.goto(f"/assets/{_path(key)}")
    row_count = page.get_by_text("Row count", exact=True).locator("xpath=..")
    expect(row_count).to_contain_text(f"{rows:,}")
    schema_table = page.locator("table").filter(has_text="Column name")
    expect(schema_table.locator("tbody tr td:first-child")).to_have_text(columns)
    _screenshot(page, f"table-asset-{table}")


def test_the_growth_curve_asset_shows_one_rendered_plot_per_study(page):
    assert GROWTH_CURVES in GRAPH.get_all_asset_keys()
    # Tall enough that the screenshot reaches the per-study rows under the file list.
    page.set_viewport_size({"width": SCREEN["width"], "height": 1800})
    page.goto(f"/assets/{_path(GROWTH_CURVES)}")
    expect(page.get_by_text("Latest materialization")).to_be_visible()
    plotted = page.locator("tr").filter(has_text=re.compile(r"^\s*studies_plotted"))
    expect(plotted).to_be_visible()
    studies = int(plotted.locator("td").last.inner_text())
    assert studies >= 1, "the default world has efficacy studies with tumour volumes"
    links = page.get_by_text("[Show Markdown]", exact=True)
    expect(links).to_have_count(studies)
    _screenshot(page, "growth-curves-asset")
    for i in range(studies):
        links.nth(i).click()
        dialog = page.get_by_role("dialog")
        image = dialog.locator('img[src^="data:image/png;base64,"]')
        expect(image).to_have_count(1)
        expect(image).to_have_attribute("alt", re.compile(r"^tumour growth curves — "))
        # Decoded and laid out: a broken data URI leaves naturalWidth at 0.
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
        width, height = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert width > 200 and height > 150, (width, height)
        if i == 0:
            _screenshot(page, "growth-curves-plot")
        dialog.get_by_role("button", name="Close").click()
        expect(dialog).to_have_count(0)
