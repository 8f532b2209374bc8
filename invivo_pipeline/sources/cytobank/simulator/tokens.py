"""JWT-shaped HS256 tokens like Cytobank's: the R wrapper reads ``user_id`` from the payload, so
the simulator issues real three-part JWTs with ``user_id``, ``iat``, ``nbf`` and ``exp``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import orjson


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    def __init__(self, ttl_s: float, site: str = "http://127.0.0.1/") -> None:
        self.ttl_s = ttl_s
        self._key = secrets.token_bytes(32)
        self._site = site

    def issue(self, user_id: int) -> str:
        now = time.time()
        header = _b64(orjson.dumps({"typ": "JWT", "alg": "HS256"}))
        payload = _b64(
            orjson.dumps(
                {
                    "jti": secrets.token_hex(16),
                    "user_id": user_id,
                    "iat": int(now),
                    "nbf": int(now),
                    # Fractional exp so a test TTL of a second or two is honoured exactly.
                    "exp": now + self.ttl_s,
                    "aud": "cytobank_api_v1_users",
                    "iss": self._site,
                    "sub": "cytobank_api_v1",
                }
            )
        )
        signature = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    def check(self, token: str) -> str | None:
        """None for a valid token, else the API's error text for it."""
        parts = token.split(".")
        if len(parts) != 3:
            return "Not Authenticated -- invalid or missing auth token"
        expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            valid = hmac.compare_digest(expected, _unb64(parts[2]))
            claims = orjson.loads(_unb64(parts[1]))
        except (ValueError, orjson.JSONDecodeError):
            return "Not Authenticated -- invalid or missing auth token"
        if not valid:
            return "Not Authenticated -- invalid or missing auth token"
        if float(claims.get("exp", 0)) <= time.time():
            return "Authentication Timeout"
        return None
