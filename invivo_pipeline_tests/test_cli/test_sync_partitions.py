"""``invivo sync`` selects exactly the listed studies, whatever order a persistent Dagster instance
registered them in, and an id that cannot be a partition key costs that study, not the sync."""

from __future__ import annotations

import dataclasses

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef

from invivo_pipeline.reports.build import PLOT_TITLES
from invivo_pipeline.reports.files import reports_dir, slug
from invivo_pipeline.sources.invivo.partitions import STUDY_PARTITIONS_NAME
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline_tests.support.cli import SMALL_WORLD, assert_matches_world, pointing_at

pytestmark = pytest.mark.slow  # end to end: see docs/development.md

WORLD = WorldConfig(seed=41, **SMALL_WORLD)


def _instance(home) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))


def test_every_listed_study_loads_whatever_order_the_instance_registered_them_in(cli, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    with SimulatorServer(WORLD) as server:
        listed = [s.id for s in server.world.studies]
        with _instance(home) as inst:
            # As a sensor may have: in reverse, one study deleted and re-created (now last), and
            # a study the API no longer lists.
            inst.add_dynamic_partitions(STUDY_PARTITIONS_NAME, [*reversed(listed), "sdy_gone"])
            inst.delete_dynamic_partition(STUDY_PARTITIONS_NAME, listed[1])
            inst.add_dynamic_partitions(STUDY_PARTITIONS_NAME, [listed[1]])

        result = cli.run("sync", DAGSTER_HOME=str(home), **pointing_at(server))

        assert result.returncode == 0, result.stderr
        assert f"studies: {len(listed)} " in result.stdout
        assert_matches_world(cli.db, server)
        with _instance(home) as inst:
            assert sorted(inst.get_dynamic_partitions(STUDY_PARTITIONS_NAME)) == sorted(listed)
            (run,) = inst.get_runs()
            loaded = inst.get_materialized_partitions(
                dg.AssetKey(["invivo_raw", "animals"]), before_cursor=None
            )
        assert sorted(loaded) == sorted(listed), "every listed study, and no other"
        assert run.tags["dagster/asset_partition_range_start"] in listed


ODD_BUT_FINE = [" sdy padded ", "sdy,comma", "sdy..dots", "sdy-é-ß"]
REFUSED = {
    "": "is empty",
    "sdy/../x": "contains a slash",
    "sdy\nforged log line": "contains a control character",
    "sdy...range": "contains '...'",
}
"""A 300-character id is refused too (``test_partition_keys``). A long id that is accepted (up to
255 characters) no longer fails the reports step: its file names cut a long study code or id and
keep a hash of the whole (``slug`` in ``reports/files.py``; ``test_reports/test_files.py``)."""


def test_odd_study_ids_load_or_are_skipped_with_one_line_each(cli):
    with SimulatorServer(WORLD) as server:
        world = server.world
        extra = [dataclasses.replace(world.studies[0], id=i) for i in [*ODD_BUT_FINE, *REFUSED]]
        world.set_records(
            "studies", world.records("studies") + [world.shaper.study(s) for s in extra]
        )

        result = cli.run("sync", **pointing_at(server))

        assert result.returncode == 0, result.stderr
        normal = len(world.studies)
        assert f"studies: {normal + len(ODD_BUT_FINE)} " in result.stdout
        skipped = [line for line in result.stdout.splitlines() if line.startswith("skipped ")]
        assert len(skipped) == len(REFUSED), result.stdout
        for line, reason in zip(skipped, REFUSED.values(), strict=True):
            assert line.startswith("skipped study id ") and reason in line, line
        assert_matches_world(cli.db, server)


def test_a_study_the_api_stops_listing_leaves_the_reports_on_the_next_sync(cli, tmp_path):
    """Its page and figures are removed (a withdrawn study's data is not left readable by
    whoever kept the link); the other studies' files and a file of the team's own stay."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    reports = reports_dir(cli.db)
    with SimulatorServer(WORLD) as server:
        assert cli.run("sync", DAGSTER_HOME=str(home), **pointing_at(server)).returncode == 0
        pages = {p.name for p in reports.glob("*.html")}
        figures = {p.name for p in (reports / "png").glob("*.png")}
        gone = server.world.studies[0]
        stem = slug(gone.code)
        gone_files = ({f"{stem}.html"} | {f"{stem}-{kind}.png" for kind in PLOT_TITLES}) & (
            pages | figures
        )
        assert f"{stem}.html" in gone_files and len(gone_files) > 1
        (reports / "team-notes.html").write_text("ours")

        world = server.world
        world.set_records(
            "studies", [r for r in world.records("studies") if r.keys["id"] != gone.id]
        )
        result = cli.run("sync", DAGSTER_HOME=str(home), **pointing_at(server))

    assert result.returncode == 0, result.stderr
    assert {p.name for p in reports.glob("*.html")} == pages - gone_files | {"team-notes.html"}
    assert {p.name for p in (reports / "png").glob("*.png")} == figures - gone_files
    assert f"{stem}.html" not in (reports / "index.html").read_text()
