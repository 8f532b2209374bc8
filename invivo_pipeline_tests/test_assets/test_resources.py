"""The Dagster resources read the environment through the same reader as the CLI and doctor."""

from __future__ import annotations

import dagster as dg
import pytest

from invivo_pipeline.sources.cytobank.assets import CytobankApiResource
from invivo_pipeline.sources.cytobank.config import CytobankConfig
from invivo_pipeline.sources.invivo.api_resource import InVivoApiResource
from invivo_pipeline.sources.invivo.config import ClientConfig

REQUIRED = {
    "INVIVO_BASE_URL": "https://tenant.example.com",
    "INVIVO_CLIENT_ID": "client",
    "INVIVO_CLIENT_SECRET": "top-secret-value",
}
TUNED = {
    "INVIVO_PER_PAGE": "50",
    "INVIVO_TIMEOUT_S": "5",
    "INVIVO_MAX_RETRIES": "1",
    "INVIVO_CONNECT_TIMEOUT_S": "2",
    "INVIVO_RETRY_AFTER_MAX_S": "40",
    "INVIVO_API_VERSION": "2023-01-01",
    "INVIVO_CONCURRENCY": "3",
    "INVIVO_REQUESTS_PER_MINUTE": "120",
}


@pytest.fixture
def tuned_env(monkeypatch):
    for name, value in {**REQUIRED, **TUNED}.items():
        monkeypatch.setenv(name, value)


def test_the_resource_obeys_every_variable_the_cli_obeys(tuned_env):
    resource = InVivoApiResource(
        base_url=dg.EnvVar("INVIVO_BASE_URL"),
        client_id=dg.EnvVar("INVIVO_CLIENT_ID"),
        client_secret=dg.EnvVar("INVIVO_CLIENT_SECRET"),
    )
    with dg.build_resources({"invivo_api": resource}) as built:
        config = built.invivo_api.client_config()
    assert config == ClientConfig.from_env()
    assert (config.requested_per_page, config.timeout_s, config.max_retries) == (50, 5.0, 1)
    assert config.connect_timeout_s == 2.0 and config.retry_after_max_s == 40.0
    assert config.api_version == "2023-01-01"
    assert (config.concurrency, config.requests_per_minute) == (3, 120.0)


def test_the_code_location_s_resource_is_that_resource(tuned_env):
    from invivo_pipeline.definitions import defs

    with dg.build_resources({"invivo_api": defs.resources["invivo_api"]}) as built:
        assert built.invivo_api.client_config() == ClientConfig.from_env()


def test_what_the_resource_is_given_wins_over_the_environment(tuned_env):
    resource = InVivoApiResource(
        base_url="https://other.example.com",
        client_id="other",
        client_secret="other-secret",
        concurrency=2,
    )
    config = resource.client_config()
    assert (config.base_url, config.client_id, config.concurrency) == (
        "https://other.example.com",
        "other",
        2,
    )
    assert config.requested_per_page == 50  # not given: the environment's


def test_the_secret_stays_an_env_var_name_in_the_resource_s_config(tuned_env):
    from invivo_pipeline.definitions import defs

    shown = repr(defs.resources["invivo_api"])
    assert "INVIVO_CLIENT_SECRET" in shown
    assert "top-secret-value" not in shown


def test_the_cytobank_resource_reads_through_the_cytobank_reader(monkeypatch):
    monkeypatch.setenv("CYTOBANK_BASE_URL", "https://cyto.example.com/cytobank/api/v1")
    monkeypatch.setenv("CYTOBANK_API_TOKEN", "token-value")
    monkeypatch.setenv("CYTOBANK_REQUESTS_PER_MINUTE", "30")
    resource = CytobankApiResource(username="ann", password="pw")
    config = resource.client_config()
    assert config == CytobankConfig.from_env(username="ann", password="pw")
    assert (config.username, config.requests_per_minute) == ("ann", 30.0)
    assert config.api_token == "token-value"
