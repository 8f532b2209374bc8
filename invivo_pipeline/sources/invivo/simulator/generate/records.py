"""Served records, kept as pre-serialised JSON that shares its embedded objects.

At benchmark scale the world holds close to a million records, and each of them embeds the same few
objects (its study, its animal, its user). Holding every body as a Python dict, or even as one
bytes string per record, costs several GB. A record instead keeps the bytes that are its own plus
*references* to ``Shared`` fragments, one per study, animal or user; a page is the concatenation of
those pieces. A shared fragment can later be replaced in place (an animal gets terminated), and every
record that embeds it serves the new state with no rebuild.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson


class Shared:
    """One embedded JSON object that many records include by reference."""

    __slots__ = ("raw",)

    def __init__(self, value: Any) -> None:
        self.raw: bytes = orjson.dumps(value, default=_fragment)

    def set(self, value: Any) -> None:
        self.raw = orjson.dumps(value, default=_fragment)

    @property
    def value(self) -> Any:
        return orjson.loads(self.raw)


def _fragment(value: Any) -> orjson.Fragment:
    if isinstance(value, Shared):
        return orjson.Fragment(value.raw)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> bytes:
    """``orjson.dumps`` that also accepts ``Shared`` values anywhere in ``value``."""
    return orjson.dumps(value, default=_fragment)


def _encode_parts(body: dict[str, Any]) -> tuple[bytes | Shared, ...]:
    """Split ``body`` into its own bytes and references to the ``Shared`` fragments it embeds."""
    parts: list[bytes | Shared] = []
    pending: dict[str, Any] = {}
    opened = b"{"

    def flush(trailing: bool) -> bytes:
        # Serialise the run of plain fields and cut the braces off, so runs can be spliced.
        nonlocal pending
        text = orjson.dumps(pending, default=_fragment)[1:-1] if pending else b""
        pending = {}
        return text + (b"," if text and trailing else b"")

    for key, value in body.items():
        if isinstance(value, Shared):
            head = flush(trailing=True)
            parts.append(opened + head + orjson.dumps(key) + b":")
            parts.append(value)
            opened = b","
        else:
            pending[key] = value
    tail = flush(trailing=False)
    if tail:
        parts.append(opened + tail + b"}")
    elif opened == b"{":
        parts.append(b"{}")
    else:
        parts.append(b"}")
    return _merge_bytes(parts)


def _merge_bytes(parts: Iterable[bytes | Shared]) -> tuple[bytes | Shared, ...]:
    merged: list[bytes | Shared] = []
    for part in parts:
        if merged and type(part) is bytes and type(merged[-1]) is bytes:
            merged[-1] = merged[-1] + part  # type: ignore[operator]
        else:
            merged.append(part)
    return tuple(merged)


class Record:
    """One record exactly as the API serves it, plus the attributes routes filter it by.

    ``keys`` holds strings: the scope of the record (``id``, ``study_id``, ``animal_id``, ...) and
    the attributes its documented filters compare (``name``, ``sex``, ``measured_at``, ...);
    metadata is there as ``metadata:<key>``. ``body`` decodes the served bytes on each access, so
    it is always a fresh dict with the served key order.
    """

    __slots__ = ("_parts", "keys")

    def __init__(self, body: dict[str, Any], keys: dict[str, str]) -> None:
        self._parts = _encode_parts(body)
        self.keys = keys

    @property
    def raw(self) -> bytes:
        parts = self._parts
        if len(parts) == 1 and type(parts[0]) is bytes:
            return parts[0]
        return b"".join(p if type(p) is bytes else p.raw for p in parts)  # type: ignore[union-attr,misc]

    @property
    def body(self) -> dict[str, Any]:
        return orjson.loads(self.raw)

    def __repr__(self) -> str:
        return f"Record(keys={self.keys!r})"
