"""The Cytobank client against the Cytobank simulator over real HTTP, the rate limit always on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from invivo_pipeline.core.errors import ApiError, AuthenticationError
from invivo_pipeline.sources.cytobank.client import CytobankClient
from invivo_pipeline_tests.support.cytobank import (
    config,
    cytobank_warehouse,
    load_everything,
    simulator,
)


def _max_in_window(arrivals: list[float], window: float) -> int:
    """Most arrivals in any interval [t, t + window)."""
    best, start = 0, 0
    for end, t in enumerate(arrivals):
        while arrivals[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_a_full_load_lands_every_simulator_record_exactly_once(tmp_path: Path) -> None:
    with simulator() as sim:  # the documented 100 requests a minute, server and client
        wh = cytobank_warehouse(tmp_path / "w.duckdb")
        run = load_everything(config(sim), wh)
        world = sim.world
        assert wh.row_counts() == world.counts()
        assert sim.stats()["by_status"] == {200: run.metrics["requests"]}
    with wh.reader() as con:
        files = con.execute(
            "SELECT experiment_id, id, filename FROM cytobank_raw.fcs_files ORDER BY id"
        ).fetchall()
        stats = con.execute(
            "SELECT count(DISTINCT (fcs_file_id, gate_set_id)), count(*) "
            "FROM cytobank_raw.statistics"
        ).fetchall()[0]
        missing_tag = con.execute(
            "SELECT count(*) FROM cytobank_raw.sample_tags WHERE dimension = 'Sample ID' "
            "AND value IS NULL"
        ).fetchall()[0][0]
    expected = sorted(
        (str(e.id), f["id"], f["filename"]) for e in world.experiments for f in e.fcs_files
    )
    assert files == expected
    assert stats[0] == stats[1] == sum(len(e.statistics) for e in world.experiments)
    # '-' in the TSV is null: controls, the stray file and the filename-only files.
    assert missing_tag == sum(1 for e in world.experiments for t in e.tags if t["Sample ID"] == "-")
    # One authentication, then one request per table and experiment: the minimum.
    assert run.metrics["requests"] == run.metrics["minimum_requests"] + 1


def test_the_client_never_exceeds_its_rate_limit(tmp_path: Path) -> None:
    window, limit = 1.0, 6
    with simulator(rate_limit=limit + 2, rate_limit_window_s=window) as sim:
        cfg = config(sim, requests_per_minute=limit, rate_window_s=window)
        load_everything(cfg, cytobank_warehouse(tmp_path / "w.duckdb"))
        stats = sim.stats()
    arrivals = stats["arrivals"]
    assert len(arrivals) > 3 * limit  # long enough to have crossed several windows
    assert "429" not in {str(k) for k in stats["by_status"]}
    # Arrival times carry a few ms of network jitter on top of the client's start times.
    assert _max_in_window(arrivals, window - 0.02) <= limit


def test_server_429s_are_waited_out_and_the_load_completes(tmp_path: Path) -> None:
    # A window long enough that a load slowed down by a busy machine still crosses the limit.
    with simulator(rate_limit=3, rate_limit_window_s=2.0) as sim:
        wh = cytobank_warehouse(tmp_path / "w.duckdb")
        first = str(sim.world.experiments[0].id)
        run = load_everything(config(sim), wh, only=[first])  # client side: 100 a minute
        stats = sim.stats()
        assert stats["by_status"].get(429, 0) > 0
        assert run.metrics["retries_by_cause"].get("rate_limited", 0) == stats["by_status"][429]
        assert wh.row_counts()["fcs_files"] == len(sim.world.experiments[0].fcs_files)


@pytest.mark.slow  # waits out a real token lifetime
def test_an_expired_token_is_renewed_and_the_run_goes_on(tmp_path: Path) -> None:
    # The server's tokens live 1 s; the client believes the documented 8 h and learns otherwise
    # from "Authentication Timeout"; its rate limit stretches the run over several tokens.
    with simulator(token_ttl_s=1.0) as sim:
        cfg = config(sim, requests_per_minute=4, rate_window_s=1.0)
        wh = cytobank_warehouse(tmp_path / "w.duckdb")
        load_everything(cfg, wh)
        stats = sim.stats()
        assert stats["authentications"] >= 3
        assert stats["by_status"].get(401, 0) >= 1
        assert wh.row_counts() == sim.world.counts()


def test_not_authorized_is_surfaced_verbatim_without_the_token(tmp_path: Path) -> None:
    forbidden = 29_500  # the first experiment of every world
    with simulator(forbidden_experiments=frozenset({forbidden})) as sim:

        async def fetch() -> None:
            async with CytobankClient(config(sim)) as client:
                await client.fetch_experiment(forbidden)

        with pytest.raises(ApiError) as caught:
            asyncio.run(fetch())
    message = str(caught.value)
    assert "HTTP 403" in message and "Not Authorized To Access Resource" in message
    assert "\n" not in message and "Bearer" not in message and "eyJ" not in message


def test_wrong_credentials_fail_in_one_line_without_the_password() -> None:
    with simulator() as sim:

        async def fetch() -> None:
            async with CytobankClient(config(sim, password="hunter2-wrong")) as client:
                await client.list_experiments()

        with pytest.raises(AuthenticationError) as caught:
            asyncio.run(fetch())
    message = str(caught.value)
    assert "Invalid username or password" in message
    assert "hunter2-wrong" not in message and "\n" not in message


def test_an_experiment_cytobank_no_longer_lists_loses_its_rows(tmp_path: Path) -> None:
    with simulator() as sim:
        wh = cytobank_warehouse(tmp_path / "w.duckdb")
        load_everything(config(sim), wh)
        gone = sim.world.experiments.pop()  # deleted in Cytobank between two syncs
        assert gone.fcs_files, "the vanished experiment had rows to lose"
        run = load_everything(config(sim), wh)
        expected = sim.world.counts()
    assert run.purged.get("fcs_files") == len(gone.fcs_files)
    assert wh.row_counts() == expected
    with wh.reader() as con:
        left = con.execute(
            "SELECT count(*) FROM cytobank_raw.fcs_files WHERE experiment_id = ?", [str(gone.id)]
        ).fetchone()
    assert left == (0,)
