"""``invivo demo`` end to end (at a small scale): the summary, a TGI table per efficacy study,
the reports, and next steps whose commands work as printed."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from invivo_pipeline_tests.support.cli import ROOT, clean_env, run_demo

pytestmark = pytest.mark.slow  # end to end: see docs/development.md


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    data = tmp_path_factory.mktemp("demo") / "data"
    return run_demo(data, "--studies", "3", "--animals-per-study", "15"), data


def test_the_summary_counts_what_was_loaded(demo):
    result, data = demo
    found = re.search(
        r"Loaded (\d+) studies, ([\d,]+) animals, ([\d,]+) measurements", result.stdout
    )
    assert found, result.stdout
    # Three dose-response studies and the demo's combination study, 15 animals each.
    assert int(found[1]) == 4 and int(found[2].replace(",", "")) == 60
    assert str(data / "invivo.duckdb") in result.stdout
    assert "Welcome to Dagster" not in result.stdout + result.stderr


def test_a_tgi_table_per_efficacy_study(demo):
    result, _ = demo
    out = result.stdout
    assert "Tumour growth inhibition" in out
    titles = re.findall(r"^(ONC-\d+-\d+ · .+?)\s*$", out, flags=re.M)
    # The two oncology studies with data and the combination study; not the tox study.
    assert len(titles) == 3, out
    assert sum("combination of" in t for t in titles) == 1
    assert not re.search(r"^TOX-", out, flags=re.M)
    header = [line for line in out.splitlines() if "TGI %" in line]
    assert len(header) == 3 and all("group" in h and "n treated" in h for h in header)
    rows = re.findall(r"│ (G\d [^│]+?)\s+│\s+(\d+) │\s+(-?[\d.]+) │\s+([\d.]+) │\s+(\d+) │", out)
    assert len(rows) == 11, out  # four treated groups in each study, three in the combination
    assert all(1 <= int(n) <= 4 for *_, n in rows)  # 15 animals: three (four) per group


def test_the_demo_builds_the_growth_model_and_the_synergy_of_its_combination(demo):
    _, data = demo
    with duckdb.connect(str(data / "invivo.duckdb"), read_only=True) as con:
        statuses = con.execute(
            "select status, count(*) from marts.rpt_growth_model group by status"
        ).fetchall()
        synergy = con.execute(
            "select reference, rate_excess from marts.rpt_combination_synergy order by 1"
        ).fetchall()
    assert dict(statuses).get("ok", 0) >= 13  # 5 + 5 groups of two studies, 4 of the combination
    assert [r for r, _ in synergy] == ["bliss", "hsa"]
    assert all(excess is not None for _, excess in synergy)


def test_the_reports_and_the_next_steps_are_there_and_work(demo):
    result, data = demo
    index = data / "reports" / "index.html"
    assert f"open {index}" in result.stdout and index.is_file()
    pages = list((data / "reports").glob("*.html"))
    assert len(pages) == 5  # four studies and the index
    assert sum("Growth-rate ratios" in p.read_text() for p in pages) == 3
    lines = result.stdout.splitlines()
    ui = lines[lines.index("  the Dagster UI:") + 1]
    assert f"DAGSTER_HOME={data / 'dagster_home'}" in ui
    assert f"cd {ROOT} && " in ui and " dg dev " in ui  # from the checkout: no SupersessionWarning
    query = lines[lines.index("  query DuckDB:") + 1].strip()
    args = shlex.split(query)
    assert args[0] == "python"
    ran = subprocess.run(
        [sys.executable, *args[1:]], capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 0, ran.stderr
    assert "tgi_pct" in ran.stdout and "G5" in ran.stdout


def test_the_demo_instance_loads_with_the_deployed_event_log_and_holds_the_runs(demo, monkeypatch):
    import dagster as dg

    from invivo_pipeline.assets.event_storage import PooledSqliteEventLogStorage

    _, data = demo
    monkeypatch.setenv("DAGSTER_HOME", str(data / "dagster_home"))
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        runs = instance.get_runs()
        assert runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        assert instance.get_materialized_partitions(dg.AssetKey(["invivo_raw", "measurements"]))


def test_help_lists_every_command():
    result = subprocess.run(
        [sys.executable, "-m", "invivo_pipeline", "--help"],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for command in ("demo", "sync", "simulator", "webhooks", "doctor"):
        assert re.search(rf"│ {command}\s", result.stdout), command
