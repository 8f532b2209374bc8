"""Settings of the Cytobank client, from ``CYTOBANK_*`` variables; unset base URL = source off."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from invivo_pipeline.core.errors import ConfigError
from invivo_pipeline.core.urls import is_loopback, refuse_userinfo
from invivo_pipeline.sources.cytobank.table import (
    LONG_TIMEOUT_S,
    REQUESTS_PER_MINUTE,
    SHORT_TIMEOUT_S,
    TOKEN_TTL_S,
)

BASE_URL_ENV = "CYTOBANK_BASE_URL"


def cytobank_configured(env: Mapping[str, str] = os.environ) -> bool:
    """The Cytobank source is on exactly when ``CYTOBANK_BASE_URL`` is set."""
    return bool(env.get(BASE_URL_ENV, "").strip())


@dataclass(frozen=True)
class CytobankConfig:
    """How to reach one Cytobank site. Attribute names shared with ``ClientConfig`` are the ones
    the shared ``Requester`` reads (timeouts, retries, concurrency, ``client_secret``)."""

    base_url: str
    """The API root, e.g. ``https://premium.cytobank.org/cytobank/api/v1``."""
    username: str = ""
    password: str = field(default="", repr=False)
    api_token: str = field(default="", repr=False)
    """A token generated in the Cytobank UI (SSO users); used instead of username/password."""
    requests_per_minute: float = REQUESTS_PER_MINUTE
    rate_window_s: float = 60.0
    """The limit's window: a minute, unless a test wants it quick."""
    token_ttl_s: float = TOKEN_TTL_S
    concurrency: int = 4
    timeout_s: float = SHORT_TIMEOUT_S
    long_timeout_s: float = LONG_TIMEOUT_S
    connect_timeout_s: float = 10.0
    max_retries: int = 6
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    connect_retries: int = 2
    retry_after_max_s: float = 120.0
    request_deadline_s: float = LONG_TIMEOUT_S + 60.0
    """Longer than the statistics query's own timeout, which may legitimately take that long."""
    run_deadline_s: float | None = None
    max_page_bytes: int = 256 * 1024 * 1024
    """Larger than In Vivo's cap: one statistics answer holds every file, population and channel."""
    max_json_depth: int = 64
    api_version: str = ""

    def __post_init__(self) -> None:
        raw = self.base_url.strip().rstrip("/")
        refuse_userinfo(raw, BASE_URL_ENV)
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{BASE_URL_ENV} must be an http(s) URL with a host, got {raw!r}")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ConfigError(
                f"refusing plain http to {parts.hostname}: Cytobank is served over HTTPS "
                "(http is only allowed for loopback)"
            )
        object.__setattr__(self, "base_url", raw)
        if not self.api_token and not (self.username and self.password):
            raise ConfigError(
                "Cytobank needs CYTOBANK_USERNAME and CYTOBANK_PASSWORD, or CYTOBANK_API_TOKEN"
            )
        if self.requests_per_minute <= 0 or self.rate_window_s <= 0 or self.concurrency < 1:
            raise ConfigError("Cytobank rate limit, window and concurrency must be positive")

    @property
    def client_secret(self) -> str:
        """What the shared requester redacts from every message."""
        return self.password or self.api_token

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **overrides: str) -> CytobankConfig:
        """Read ``CYTOBANK_*`` variables: the one reader of the CLI, doctor, resource and schedule.
        Keyword overrides (what a Dagster resource was given) win over the environment."""
        values: dict[str, object] = {
            "base_url": env.get(BASE_URL_ENV, ""),
            "username": env.get("CYTOBANK_USERNAME", "").strip(),
            "password": env.get("CYTOBANK_PASSWORD", ""),
            "api_token": env.get("CYTOBANK_API_TOKEN", "").strip(),
        }
        if unknown := set(overrides) - set(values):
            raise ConfigError(f"unknown CytobankConfig overrides: {', '.join(sorted(unknown))}")
        values.update(overrides)
        if not str(values["base_url"]).strip():
            raise ConfigError(f"environment variable {BASE_URL_ENV} is not set")
        if rpm := env.get("CYTOBANK_REQUESTS_PER_MINUTE", "").strip():
            try:
                values["requests_per_minute"] = float(rpm)
            except ValueError:
                raise ConfigError(
                    f"CYTOBANK_REQUESTS_PER_MINUTE is not a number: {rpm!r}"
                ) from None
        return cls(**values)  # type: ignore[arg-type]
