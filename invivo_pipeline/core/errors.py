"""What can go wrong talking to a source's API, each as one line a person can act on.

Every message names the request (``METHOD URL``) and what the server said, because "HTTP 422" alone
sends people to a debugger. No message ever carries the client secret or an access token: the
client passes server text through ``Redactor`` before it reaches an exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

import orjson

MAX_MESSAGE_CHARS = 300
_WHITESPACE = re.compile(r"\s+")


class FieldsSurvivePickling:
    """Mixed into an exception whose ``__init__`` takes keyword-only fields: pickling rebuilds it
    from its message and fields, not by calling ``__init__`` with the message alone (which
    fails). Worker processes send their errors back to the run this way, as themselves."""

    def __reduce__(self) -> tuple[Any, ...]:
        assert isinstance(self, BaseException)
        return (_rebuilt, (type(self), self.args), self.__dict__)


def _rebuilt(cls: type[BaseException], args: tuple[Any, ...]) -> BaseException:
    error = cls.__new__(cls, *args)
    BaseException.__init__(error, *args)
    return error


class ClientError(FieldsSurvivePickling, Exception):
    """Base of every error the client raises on purpose."""


class ConfigError(ClientError):
    """The settings cannot work (missing variable, plain http to a remote host, ...)."""


class AuthenticationError(ClientError):
    """Wrong client credentials, or a request still unauthorized after one token refresh."""


class _RequestError(ClientError):
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
    """The body was not JSON or not the documented shape, on every attempt; or it broke a limit
    no retry changes (larger than the page cap, nested deeper than the depth cap, not UTF-8, or
    paging metadata that contradicts itself)."""


class DeadlineExceededError(_RequestError):
    """A request did not finish within its deadline (connect and every read together), or the
    client's whole run went past its own; not retried, since a server that drip-feeds an answer
    does so again."""


class RecordValidationError(ClientError):
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


def first_cause(exc: BaseException) -> BaseException:
    """The first real error inside an exception group (nested or not); any other error as is.

    A TaskGroup cancels its other tasks when one fails, so its first sub-exception is the cause and
    the rest are consequences; "unhandled errors in a TaskGroup" tells a user nothing.
    """
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


PARTIAL_SECRET_CHARS = 8
"""An echoed run of this many leading characters of a secret is redacted, not only the whole."""


def _encodings(secret: str) -> set[str]:
    """The forms a server may echo a secret in: as is, JSON-escaped, URL-encoded (both styles)."""
    return {
        secret,
        orjson.dumps(secret).decode()[1:-1],
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
    }


class Redactor:
    """Replaces known secrets (client secret, every token issued) with ``***`` in any text.

    Each secret is matched in every encoding a server might echo it in, and also when only its
    first ``PARTIAL_SECRET_CHARS`` or more characters appear (a cut-off echo still leaks most of it).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._forms: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        if secret:
            self._forms |= _encodings(secret)

    def __call__(self, text: str) -> str:
        for form in sorted(self._forms, key=len, reverse=True):
            text = _redact_prefixes(text, form)
        return text


def _redact_prefixes(text: str, form: str) -> str:
    """``text`` with every run that is ``form`` or a prefix of it (8+ characters) replaced."""
    shortest = min(len(form), PARTIAL_SECRET_CHARS)
    head = form[:shortest]
    out: list[str] = []
    at = 0
    while (found := text.find(head, at)) != -1:
        end = found + shortest
        while end < len(text) and end - found < len(form) and text[end] == form[end - found]:
            end += 1
        out.append(text[at:found] + "***")
        at = end
    out.append(text[at:])
    return "".join(out)
