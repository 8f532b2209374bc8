"""OAuth 2.0 client-credentials tokens, as the API's Laravel Passport issues them.

Tokens are opaque random strings with an expiry; a client must fetch one, send it as a Bearer
token, and fetch a new one when it expires (tests use a TTL of a fraction of a second).
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

import orjson

from invivo_pipeline.sources.invivo.simulator.serve.settings import SimulatorSettings

INVALID_CLIENT = {"error": "invalid_client", "message": "Client authentication failed"}
UNSUPPORTED_GRANT = {
    "error": "unsupported_grant_type",
    "message": "The authorization grant type is not supported by the authorization server.",
}
UNAUTHENTICATED = {"message": "Unauthenticated."}


def credentials(content_type: str, body: bytes, authorization: str | None) -> dict[str, str]:
    """The token request's fields from a JSON or form-encoded body (or HTTP Basic auth)."""
    fields: dict[str, str] = {}
    parsed: object = None
    if "json" in content_type or (not content_type and body[:1] == b"{"):
        try:
            parsed = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            parsed = None
    if isinstance(parsed, dict):
        fields = {str(k): str(v) for k, v in parsed.items() if v is not None}
    else:
        fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if authorization and authorization[:6].lower() == "basic ":
        try:
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        except ValueError:
            return fields
        fields.setdefault("client_id", client_id)
        fields.setdefault("client_secret", secret)
    return fields


class TokenStore:
    def __init__(
        self, settings: SimulatorSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def grant(self, fields: dict[str, str]) -> tuple[int, dict[str, object]]:
        """(status, JSON body) of a token request."""
        if fields.get("grant_type") != "client_credentials":
            return 400, UNSUPPORTED_GRANT
        if not (
            secrets.compare_digest(fields.get("client_id", ""), self._settings.client_id)
            and secrets.compare_digest(
                fields.get("client_secret", ""), self._settings.client_secret
            )
        ):
            return 401, INVALID_CLIENT
        token = secrets.token_urlsafe(48)
        now = self._clock()
        with self._lock:
            self._expiry = {t: e for t, e in self._expiry.items() if e > now}
            self._expiry[token] = now + self._settings.token_ttl_s
        return 200, {
            "token_type": "Bearer",
            "expires_in": int(self._settings.token_ttl_s),
            "access_token": token,
        }

    def valid(self, authorization: str | None) -> bool:
        if not authorization or authorization[:7].lower() != "bearer ":
            return False
        expiry = self._expiry.get(authorization[7:].strip())
        return expiry is not None and expiry > self._clock()
