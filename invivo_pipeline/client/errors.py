"""What can go wrong talking to In Vivo, each as one line a person can act on.

Every message names the request (``METHOD URL``) and what the server said, because "HTTP 422" alone
sends people to a debugger. No message ever carries the client secret or an access token: the
client passes server text through ``Redactor`` before it reaches an exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson

MAX_MESSAGE_CHARS = 300
_WHITESPACE = re.compile(r"\s+")


class InVivoError(Exception):
    """Base of every error the client raises on purpose."""


class ConfigError(InVivoError):
    """The settings cannot work (missing variable, plain http to a remote host, ...)."""


class AuthenticationError(InVivoError):
    """Wrong client credentials, or a request still unauthorized after one token refresh."""


class _RequestError(InVivoError):
    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class ApiUnreachableError(_RequestError):
    """The host did not accept a connection (DNS, refused, connect timeout) after a few retries."""


class ApiError(_RequestError):
    """The server answered with an error: a non-retryable 4xx, or 5xx/timeouts after the retries."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status: int | None,
        server_message: str = "",
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status = status
        self.server_message = server_message


class MalformedResponseError(_RequestError):
    """The body was not JSON or not the documented shape, on every attempt."""


class RecordValidationError(InVivoError):
    """A record does not match its resource's model; the field path says which value is wrong."""

    def __init__(
        self,
        message: str,
        *,
        resource: str,
        url: str,
        index: int,
        field: str,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.resource = resource
        self.url = url
        self.index = index
        self.field = field
        self.errors = errors or []


def one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Collapse whitespace and cut, so a server's HTML error page cannot flood a log line."""
    flat = _WHITESPACE.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def server_message(body: bytes) -> str:
    """The human part of an error body: JSON ``message``/``error``/``errors``, else the text."""
    if not body:
        return ""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return one_line(body.decode("utf-8", errors="replace"))
    if isinstance(payload, dict):
        parts: list[str] = []
        for key in ("message", "error", "error_description", "detail", "msg"):
            value = payload.get(key)
            if isinstance(value, str) and value and value not in parts:
                parts.append(value)
        errors = payload.get("errors")
        if isinstance(errors, dict):
            parts.extend(f"{field}: {_join(msgs)}" for field, msgs in errors.items())
        elif isinstance(errors, list):
            parts.append(_join(errors))
        elif isinstance(errors, str):
            parts.append(errors)
        if parts:
            return one_line("; ".join(parts))
    return one_line(body.decode("utf-8", errors="replace"))


def _join(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


class Redactor:
    """Replaces known secrets (client secret, every token issued) with ``***`` in any text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = {s for s in secrets if s}

    def add(self, secret: str) -> None:
        if secret:
            self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, "***")
        return text
