"""Settings of the In Vivo API client, checked before anything touches the network.

The API reference says every call must use HTTPS; a plain-http URL to a remote host would send the
client secret in clear text, so it is refused here rather than discovered in a packet capture.
Plain http stays allowed on the loopback interface, where the simulator and the tests run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from invivo_pipeline.core.errors import ConfigError
from invivo_pipeline.core.urls import is_loopback, refuse_userinfo
from invivo_pipeline.sources.invivo.table import API_PREFIX, DEFAULT_API_VERSION

ENV_PREFIX = "INVIVO_"


def normalize_base_url(url: str) -> str:
    """The server root (``scheme://host[:port][/prefix]``) without ``/api/public/v1`` or a slash.

    Accepting both spellings lets people paste either the tenant URL or the API root they see in the
    reference; the client always appends the prefix itself.
    """
    raw = url.strip()
    refuse_userinfo(raw, "INVIVO_BASE_URL")
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"base_url must be an http(s) URL with a host, got {raw!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"the base URL must not carry a query or fragment: {raw!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            f"refusing plain http to {parts.hostname}: the In Vivo API requires HTTPS "
            "(http is only allowed for localhost, 127.0.0.0/8 and ::1)"
        )
    path = parts.path.rstrip("/")
    if path.endswith(API_PREFIX):
        path = path[: -len(API_PREFIX)]
    return f"{parts.scheme}://{parts.netloc}{path}"


@dataclass(frozen=True)
class ClientConfig:
    """How to reach one In Vivo tenant and how hard the client may push it."""

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    api_version: str = DEFAULT_API_VERSION
    requested_per_page: int = 500
    """Asked for on page 1; the server grants what it grants and the client follows ``meta.per_page``."""
    concurrency: int = 8
    requests_per_minute: float | None = None
    """Client-side budget: at most ``floor(R)`` requests start in any rolling 60 s window."""
    shared_budget_path: str | None = None
    """The SQLite file where every process naming it keeps one ``requests_per_minute`` window, so
    that together they stay under it (``shared_budget``); unset, each client has its own window.
    ``from_env`` puts it beside the Dagster instance (``$DAGSTER_HOME``) when there is one."""
    timeout_s: float = 30.0
    connect_timeout_s: float = 10.0
    max_retries: int = 6
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    connect_retries: int = 2
    """Retries after a failed connect: few and quick, so a wrong URL fails in about a second."""
    retry_after_max_s: float = 300.0
    """A 429 asking to wait longer than this fails instead of stalling the run."""
    request_deadline_s: float = 120.0
    """One attempt's connect and every read together: a drip-fed answer fails here, not never."""
    run_deadline_s: float | None = None
    """Every request of one client (one run, sensor tick or doctor) together; unset = no limit."""
    max_page_bytes: int = 64 * 1024 * 1024
    """An answer larger than this fails before it is read whole."""
    max_json_depth: int = 64
    """An answer nested deeper than this fails before a parser recurses into it."""
    ingest_processes: int = 2
    """Worker processes that fetch, check and flatten studies while this process writes them, in
    a run of at least ``study_processes.FROM_STUDIES`` studies; 0 keeps it all in one process.
    ``concurrency`` is shared among them. Two make a large run about 15 % faster on two cores,
    for about 400 MB more memory in all (no process of a run larger than before)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", normalize_base_url(self.base_url))
        if not self.client_id or not self.client_id.strip():
            raise ConfigError("client_id is empty (INVIVO_CLIENT_ID)")
        if not self.client_secret or not self.client_secret.strip():
            raise ConfigError("client_secret is empty (INVIVO_CLIENT_SECRET)")
        if not self.api_version:
            raise ConfigError("api_version is empty (INVIVO_API_VERSION)")
        for name in ("requested_per_page", "concurrency"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("max_retries", "connect_retries", "ingest_processes"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative, got {getattr(self, name)}")
        for name in (
            "timeout_s",
            "connect_timeout_s",
            "backoff_max_s",
            "retry_after_max_s",
            "request_deadline_s",
            "max_page_bytes",
            "max_json_depth",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.backoff_base_s < 0:
            raise ConfigError(f"backoff_base_s must not be negative, got {self.backoff_base_s}")
        if self.requests_per_minute is not None and self.requests_per_minute <= 0:
            raise ConfigError(
                f"requests_per_minute must be positive or unset, got {self.requests_per_minute}"
            )
        if self.run_deadline_s is not None and self.run_deadline_s <= 0:
            raise ConfigError(
                f"run_deadline_s must be positive or unset, got {self.run_deadline_s}"
            )

    @property
    def api_root(self) -> str:
        return self.base_url + API_PREFIX

    @classmethod
    def environment_variables(cls) -> dict[str, str]:
        """Field → the variable that sets it: ``INVIVO_`` + the field's name in capitals, unless
        ``_ENV_ALIASES`` names it otherwise. Every field is settable; the settings registry
        (``invivo_pipeline.core.env_settings``) must list each of these variables."""
        return {f.name: _ENV_ALIASES.get(f.name, ENV_PREFIX + f.name.upper()) for f in fields(cls)}

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **overrides: Any) -> ClientConfig:
        """Read ``INVIVO_*`` variables; keyword overrides win over the environment."""
        values: dict[str, Any] = {}
        for name, var in cls.environment_variables().items():
            if name in overrides:
                values[name] = overrides[name]
                continue
            raw = env.get(var)
            if raw is None or raw.strip() == "":
                if name in _REQUIRED:
                    raise ConfigError(f"environment variable {var} is not set")
                continue
            values[name] = _parse(var, raw.strip(), _PARSERS.get(name, str))
        if "shared_budget_path" not in values:
            values["shared_budget_path"] = shared_budget_path_from_env(env)
        unknown = set(overrides) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"unknown ClientConfig fields: {', '.join(sorted(unknown))}")
        return cls(**values)


SHARED_BUDGET_FILE = "invivo_request_budget.sqlite"


def shared_budget_path_from_env(env: Mapping[str, str] = os.environ) -> str | None:
    """``INVIVO_SHARED_BUDGET_PATH``, else the deployment's one request window beside its Dagster
    instance (``$DAGSTER_HOME/invivo_request_budget.sqlite``), else none."""
    if explicit := env.get("INVIVO_SHARED_BUDGET_PATH", "").strip():
        return explicit
    if home := env.get("DAGSTER_HOME", "").strip():
        return os.path.join(home, SHARED_BUDGET_FILE)
    return None


_REQUIRED = {"base_url", "client_id", "client_secret"}
_ENV_ALIASES = {"requested_per_page": "INVIVO_PER_PAGE"}
_PARSERS: dict[str, Callable[[str], Any]] = {
    "requested_per_page": int,
    "concurrency": int,
    "requests_per_minute": float,
    "timeout_s": float,
    "connect_timeout_s": float,
    "max_retries": int,
    "backoff_base_s": float,
    "backoff_max_s": float,
    "connect_retries": int,
    "retry_after_max_s": float,
    "request_deadline_s": float,
    "run_deadline_s": float,
    "max_page_bytes": int,
    "max_json_depth": int,
    "ingest_processes": int,
}


def _parse(var: str, raw: str, parser: Callable[[str], Any]) -> Any:
    if var == "INVIVO_CLIENT_SECRET":
        return raw
    try:
        return parser(raw)
    except ValueError:
        raise ConfigError(f"environment variable {var} is not a valid number: {raw!r}") from None
