"""``invivo doctor`` says what works and exactly what does not."""

from __future__ import annotations

from invivo_pipeline.sources.cytobank.simulator.server import CytobankSimulatorServer
from invivo_pipeline.sources.cytobank.simulator.settings import DEMO_PASSWORD, DEMO_USERNAME
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline_tests.support.cli import pointing_at

TINY = WorldConfig(seed=41, studies=2, animals_per_study=2, days=2)


def test_a_healthy_setup_passes_every_check(cli):
    with SimulatorServer(TINY) as server:
        result = cli.run("doctor", **pointing_at(server))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ credentials" in result.stdout
    assert "the API lists 2 studies" in result.stdout
    assert "will be created by the first sync" in result.stdout
    assert "✗" not in result.stdout


def test_each_problem_is_named(cli):
    with SimulatorServer(TINY) as server:
        wrong = cli.run("doctor", INVIVO_CLIENT_SECRET="not-it", **pointing_at(server))
    assert wrong.returncode == 1
    assert "✗ credentials: invalid client credentials" in wrong.stdout
    assert "not-it" not in wrong.stdout + wrong.stderr

    unreachable = cli.run("doctor", INVIVO_BASE_URL="http://127.0.0.1:9")
    assert unreachable.returncode == 1
    assert "✗ connectivity: cannot reach http://127.0.0.1:9" in unreachable.stdout

    missing = cli.run("doctor", INVIVO_CLIENT_ID="")
    assert missing.returncode == 1
    assert "✗ configuration: set INVIVO_BASE_URL, INVIVO_CLIENT_ID" in missing.stdout


def test_cytobank_is_checked_only_when_configured(cli):
    with (
        SimulatorServer(TINY) as server,
        CytobankSimulatorServer(world=server.world) as cytobank,
    ):
        off = cli.run("doctor", **pointing_at(server))
        login = {
            "CYTOBANK_BASE_URL": cytobank.api_root,
            "CYTOBANK_USERNAME": DEMO_USERNAME,
            "CYTOBANK_PASSWORD": DEMO_PASSWORD,
        }
        on = cli.run("doctor", **pointing_at(server), **login)
        wrong = cli.run(
            "doctor", **pointing_at(server), **(login | {"CYTOBANK_PASSWORD": "not-it"})
        )
        experiments = len(cytobank.world.experiments)
    assert off.returncode == 0 and "Cytobank: off (CYTOBANK_BASE_URL is not set)" in off.stdout
    assert on.returncode == 0, on.stdout + on.stderr
    assert f"✓ Cytobank: {cytobank.api_root} lists {experiments} experiments" in on.stdout
    assert wrong.returncode == 1
    assert "✗ Cytobank credentials:" in wrong.stdout
    assert "not-it" not in wrong.stdout + wrong.stderr
