"""Deterministic In Vivo-style identifiers and random streams.

Every id and every random draw of the synthetic world comes from a stream seeded by the world seed plus
a *name* (``("study", 3, "bio")``), never from one global generator. That way adding a sixth study, or
a few more days, leaves the ids and numbers of the first five studies unchanged, which keeps test
expectations and benchmark data stable while the world grows.
"""

from __future__ import annotations

import hashlib
import random

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ID_LENGTH = 22
"""Characters after ``<prefix>_``: the API's ids are base62-encoded 128-bit numbers."""

# One byte -> one base62 character; the slight modulo bias is irrelevant for synthetic ids.
_TO_BASE62 = bytes(ord(BASE62[b % 62]) for b in range(256))
# A 128-bit number in base62 starts with 1-7, so the first character is drawn from those.
_FIRST = bytes(ord("1234567"[b % 7]) for b in range(256))


def derive_seed(*parts: object) -> int:
    """A 64-bit seed that depends only on ``parts`` (stable across runs and Python versions)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def stream(*parts: object) -> random.Random:
    """An independent random stream named by ``parts``."""
    return random.Random(derive_seed(*parts))


class IdSource:
    """Draws ``<prefix>_<22 base62>`` ids from its own named stream."""

    __slots__ = ("_rng",)

    def __init__(self, *parts: object) -> None:
        self._rng = stream("ids", *parts)

    def new(self, prefix: str) -> str:
        raw = self._rng.randbytes(ID_LENGTH)
        body = raw[:1].translate(_FIRST) + raw[1:].translate(_TO_BASE62)
        return f"{prefix}_{body.decode()}"

    def token(self, length: int = 10) -> str:
        """A short base62 token (external entity ids, request group refs, ...)."""
        return self._rng.randbytes(length).translate(_TO_BASE62).decode()

    def digits(self, length: int) -> str:
        return "".join(str(self._rng.randrange(10)) for _ in range(length))


def stable_id(prefix: str, *parts: object) -> str:
    """The id of an entity that is named by ``parts`` alone (a user, a species, a project)."""
    return IdSource(prefix, *parts).new(prefix)
