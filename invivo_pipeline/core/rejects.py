"""A record set aside instead of loaded: what the API client and the warehouse both hand on.

One bad record must not cost a whole sync, so validation (``client.validation``) and conversion
(``warehouse.flatten``) turn a record they cannot take into a ``Reject``; the loader writes those
to ``<schema>._rejected`` in the run's transaction. It lives here, beside the resource table,
because the client and the warehouse share it and neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reject:
    record: bytes
    """The record's JSON as the API sent it."""
    reason: str
    """One line naming the field and the value, e.g. ``measured_at: ... (got '2024-13-45')``."""
    record_id: str | None = None
    """The record's ``id`` when it has a usable one."""


def record_id_of(record: object) -> str | None:
    """``record["id"]`` as text when it is a string or a whole number, else None."""
    if isinstance(record, dict):
        value = record.get("id")
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return str(value)
    return None
