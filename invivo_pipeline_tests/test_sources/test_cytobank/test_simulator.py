"""The Cytobank simulator over raw HTTP, as the notes describe the real API: login envelope,
Bearer tokens that expire, ``{"experiments": [...]}`` / ``{"experiment": {...}}`` envelopes,
``{"errors": [...]}`` bodies, a fixed-window limit answered with 429 + ``Retry-After``, the TSV."""

from __future__ import annotations

import time

import httpx
import pytest

from invivo_pipeline.sources.cytobank.simulator.server import CytobankSimulatorServer
from invivo_pipeline.sources.cytobank.simulator.settings import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    CytobankSimulatorSettings,
)
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig

WORLD = WorldConfig(seed=7, studies=3, animals_per_study=6, days=5)


def login(http: httpx.Client, root: str, password: str = DEMO_PASSWORD) -> httpx.Response:
    return http.post(f"{root}/authenticate", json={"username": DEMO_USERNAME, "password": password})


@pytest.fixture(scope="module")
def sim():
    with CytobankSimulatorServer(WORLD) as server:
        yield server


def test_login_returns_a_token_that_opens_the_experiment_envelopes(sim):
    with httpx.Client() as http:
        user = login(http, sim.api_root).json()["user"]
        headers = {"Authorization": f"Bearer {user['authToken']}"}
        listing = http.get(f"{sim.api_root}/experiments", headers=headers)
        first = listing.json()["experiments"][0]
        shown = http.get(f"{sim.api_root}/experiments/{first['id']}", headers=headers)
    assert user["username"] == DEMO_USERNAME
    assert listing.status_code == 200
    assert [e["id"] for e in listing.json()["experiments"]] == [e.id for e in sim.world.experiments]
    assert shown.json() == {"experiment": first}


def test_errors_come_as_an_errors_list(sim):
    with httpx.Client() as http:
        wrong = login(http, sim.api_root, password="not-it")
        anonymous = http.get(f"{sim.api_root}/experiments")
        token = login(http, sim.api_root).json()["user"]["authToken"]
        missing = http.get(
            f"{sim.api_root}/experiments/987654321", headers={"Authorization": f"Bearer {token}"}
        )
    assert wrong.status_code == 401 and wrong.json() == {"errors": ["Invalid username or password"]}
    assert anonymous.status_code == 401 and isinstance(anonymous.json()["errors"], list)
    assert missing.status_code == 404 and missing.json() == {"errors": ["Resource not found"]}


def test_the_sample_tags_download_is_a_tsv_naming_every_file(sim):
    experiment = next(e for e in sim.world.experiments if e.fcs_files)
    with httpx.Client() as http:
        token = login(http, sim.api_root).json()["user"]["authToken"]
        tsv = http.get(
            f"{sim.api_root}/experiments/{experiment.id}/download_sample_tags",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert tsv.headers["content-type"].startswith("text/tab-separated-values")
    header, *rows = tsv.text.splitlines()
    assert header.split("\t")[0] == "FCS Filename"
    assert sorted(r.split("\t")[0] for r in rows) == sorted(
        f["filename"] for f in experiment.fcs_files
    )


def test_a_token_expires_after_its_lifetime():
    settings = CytobankSimulatorSettings(token_ttl_s=1, rate_limit=None)
    with CytobankSimulatorServer(WORLD, settings) as sim, httpx.Client() as http:
        token = login(http, sim.api_root).json()["user"]["authToken"]
        headers = {"Authorization": f"Bearer {token}"}
        fresh = http.get(f"{sim.api_root}/experiments", headers=headers)
        time.sleep(1.5)
        expired = http.get(f"{sim.api_root}/experiments", headers=headers)
    assert fresh.status_code == 200
    assert expired.status_code == 401 and isinstance(expired.json()["errors"], list)


def test_past_the_limit_the_window_answers_429_with_retry_after():
    settings = CytobankSimulatorSettings(rate_limit=4, rate_limit_window_s=30)
    with CytobankSimulatorServer(WORLD, settings) as sim, httpx.Client() as http:
        token = login(http, sim.api_root).json()["user"]["authToken"]  # counts: 1 of 4
        headers = {"Authorization": f"Bearer {token}"}
        answers = [http.get(f"{sim.api_root}/experiments", headers=headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 30
    assert isinstance(refused.json()["errors"], list)
