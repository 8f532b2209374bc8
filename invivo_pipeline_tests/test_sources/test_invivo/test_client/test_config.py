"""Settings are checked before any network I/O: a bad config never reaches the wire."""

from __future__ import annotations

import pytest

from invivo_pipeline.core.errors import ConfigError
from invivo_pipeline.sources.invivo.config import ClientConfig
from invivo_pipeline.sources.invivo.table import DEFAULT_API_VERSION

ENV = {
    "INVIVO_BASE_URL": "https://tenant.example.com",
    "INVIVO_CLIENT_ID": "client",
    "INVIVO_CLIENT_SECRET": "top-secret-value",
}


@pytest.mark.parametrize(
    "url",
    [
        "https://tenant.example.com",
        "https://tenant.example.com/",
        "https://tenant.example.com/api/public/v1",
        "https://tenant.example.com/api/public/v1/",
    ],
)
def test_base_url_with_or_without_api_prefix(url):
    config = ClientConfig(url, "id", "secret")
    assert config.base_url == "https://tenant.example.com"
    assert config.api_root == "https://tenant.example.com/api/public/v1"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "http://127.5.6.7", "http://localhost:9000/", "http://[::1]:8000"],
)
def test_plain_http_allowed_on_loopback(url):
    assert ClientConfig(url, "id", "secret").base_url.startswith("http://")


@pytest.mark.parametrize(
    "url", ["http://example.com", "http://10.0.0.5:8000", "http://tenant.example.com/api/public/v1"]
)
def test_plain_http_to_a_remote_host_is_refused(url, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("no network I/O may happen")

    monkeypatch.setattr("socket.getaddrinfo", no_network)
    monkeypatch.setattr("socket.socket.connect", no_network)
    with pytest.raises(ConfigError, match="requires HTTPS"):
        ClientConfig(url, "id", "secret")


@pytest.mark.parametrize("url", ["ftp://example.com", "example.com", "https://", ""])
def test_not_a_url(url):
    with pytest.raises(ConfigError):
        ClientConfig(url, "id", "secret")


def test_from_env_reads_everything():
    env = {
        **ENV,
        "INVIVO_API_VERSION": "2023-01-01",
        "INVIVO_REQUESTS_PER_MINUTE": "120",
        "INVIVO_CONCURRENCY": "4",
        "INVIVO_PER_PAGE": "250",
        "INVIVO_INGEST_PROCESSES": "2",
    }
    config = ClientConfig.from_env(env)
    assert config.base_url == "https://tenant.example.com"
    assert config.client_secret == "top-secret-value"
    assert config.api_version == "2023-01-01"
    assert config.requests_per_minute == 120.0
    assert config.concurrency == 4
    assert config.requested_per_page == 250
    assert config.ingest_processes == 2


def test_from_env_defaults_and_overrides():
    config = ClientConfig.from_env(ENV, concurrency=2)
    assert config.api_version == DEFAULT_API_VERSION
    assert config.requests_per_minute is None
    assert config.concurrency == 2


@pytest.mark.parametrize("missing", sorted(ENV))
def test_from_env_names_the_missing_variable(missing):
    env = {k: v for k, v in ENV.items() if k != missing}
    with pytest.raises(ConfigError, match=f"environment variable {missing} is not set"):
        ClientConfig.from_env(env)


def test_from_env_rejects_a_bad_number_by_name():
    with pytest.raises(ConfigError, match="INVIVO_CONCURRENCY is not a valid number: 'many'"):
        ClientConfig.from_env({**ENV, "INVIVO_CONCURRENCY": "many"})


@pytest.mark.parametrize(
    "overrides",
    [{"concurrency": 0}, {"requested_per_page": 0}, {"requests_per_minute": 0}, {"timeout_s": 0}],
)
def test_nonsense_numbers_are_refused(overrides):
    with pytest.raises(ConfigError):
        ClientConfig("https://x.example.com", "id", "secret", **overrides)


def test_secret_not_in_repr_or_errors():
    config = ClientConfig.from_env(ENV)
    assert "top-secret-value" not in repr(config)
    with pytest.raises(ConfigError) as info:
        ClientConfig.from_env({**ENV, "INVIVO_BASE_URL": "http://example.com"})
    assert "top-secret-value" not in str(info.value)


def test_from_env_reads_timeouts_and_retries():
    config = ClientConfig.from_env(
        {**ENV, "INVIVO_TIMEOUT_S": "5", "INVIVO_MAX_RETRIES": "1", "INVIVO_BACKOFF_MAX_S": "3"}
    )
    assert (config.timeout_s, config.max_retries, config.backoff_max_s) == (5.0, 1, 3.0)


def test_every_field_has_a_variable_and_from_env_reads_each():
    variables = ClientConfig.environment_variables()
    assert variables["requested_per_page"] == "INVIVO_PER_PAGE"
    assert variables["timeout_s"] == "INVIVO_TIMEOUT_S"
    numbers = {field: "7" for field in variables if field not in ("base_url", "client_id")}
    numbers |= {"client_secret": "s", "api_version": "v"}
    config = ClientConfig.from_env(
        {**ENV, **{variables[field]: value for field, value in numbers.items()}}
    )
    for field, value in numbers.items():
        assert str(getattr(config, field)).removesuffix(".0") == value, field


PASSWORD = "pa55-w0rd-in-the-url"


@pytest.mark.parametrize(
    "url",
    [
        f"https://me:{PASSWORD}@tenant.example.com",
        f"https://me:{PASSWORD}@tenant.example.com/?q=1#f",
        f"ftp://me:{PASSWORD}@tenant.example.com",
        f"https://me:{PASSWORD}@",
        f"me:{PASSWORD}@tenant.example.com",
        f"http://me:{PASSWORD}@example.com",
    ],
)
def test_a_url_with_userinfo_is_refused_without_printing_it(url):
    with pytest.raises(ConfigError) as caught:
        ClientConfig.from_env({**ENV, "INVIVO_BASE_URL": url})
    message = str(caught.value)
    assert "INVIVO_BASE_URL must not carry credentials" in message
    assert PASSWORD not in message


def test_cytobank_url_with_userinfo_is_refused_not_sent_as_basic_auth():
    from invivo_pipeline.sources.cytobank.config import CytobankConfig

    with pytest.raises(ConfigError) as caught:
        CytobankConfig.from_env(
            {
                "CYTOBANK_BASE_URL": f"https://me:{PASSWORD}@site.cytobank.org/cytobank/api/v1",
                "CYTOBANK_API_TOKEN": "a-token",
            }
        )
    assert "CYTOBANK_BASE_URL must not carry credentials" in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_deadlines_and_caps_are_read_from_the_environment():
    config = ClientConfig.from_env(
        {
            **ENV,
            "INVIVO_REQUEST_DEADLINE_S": "7.5",
            "INVIVO_RUN_DEADLINE_S": "3600",
            "INVIVO_MAX_PAGE_BYTES": "1000",
            "INVIVO_MAX_JSON_DEPTH": "10",
        }
    )
    assert (config.request_deadline_s, config.run_deadline_s) == (7.5, 3600)
    assert (config.max_page_bytes, config.max_json_depth) == (1000, 10)
    defaults = ClientConfig.from_env(ENV)
    assert defaults.run_deadline_s is None and defaults.request_deadline_s == 120
    with pytest.raises(ConfigError):
        ClientConfig.from_env({**ENV, "INVIVO_RUN_DEADLINE_S": "0"})


def test_a_negative_number_of_ingest_processes_is_refused():
    with pytest.raises(ConfigError, match="ingest_processes must not be negative"):
        ClientConfig.from_env({**ENV, "INVIVO_INGEST_PROCESSES": "-1"})
