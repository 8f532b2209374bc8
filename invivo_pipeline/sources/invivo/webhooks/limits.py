"""What a webhook event may look like before anything reads it: field lengths and nesting depth.

The receiver refuses an event outside these bounds (422, with the reason); the sensor checks the
same bounds again before it reads a stored event, because events stored before a bound existed
(or written into the store by other means) must not stop it either. The reference's events nest
at most four levels (``payload.animal.study.id``); 32 leaves room for new shapes while keeping
every reader that recurses (ours, pydantic's, Dagster's serialiser) far from Python's limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from invivo_pipeline.core.response_limits import nesting_depth

MAX_ID_LENGTH = 200
MAX_EVENT_LENGTH = 100
MAX_TEXT_FIELD_LENGTH = 200
"""``client_id`` and ``version``."""
MAX_DEPTH = 32


def nests_deeper_than(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the payload of an event (``body``, its JSON bytes) nests containers more than
    ``limit`` levels deep. The envelope holds the payload one level down, and its other fields are
    text, so that is the body nesting past ``limit + 1``: read from the bytes by the client's
    ``nesting_depth``, the one depth check, which never recurses and stops at the limit."""
    return nesting_depth(body, limit + 1) is None


def field_problems(fields: Mapping[str, Any]) -> list[str]:
    """What is wrong with an envelope's text fields: ``id`` (1 to 200 printable characters),
    ``event`` (at most 100), ``client_id`` and ``version`` (at most 200). Names, never values."""
    problems = []
    event_id = fields.get("id")
    if isinstance(event_id, str) and not (
        0 < len(event_id) <= MAX_ID_LENGTH and event_id.isprintable()
    ):
        problems.append(f"id: must be 1 to {MAX_ID_LENGTH} printable characters")
    event = fields.get("event")
    if isinstance(event, str) and len(event) > MAX_EVENT_LENGTH:
        problems.append(f"event: must be at most {MAX_EVENT_LENGTH} characters")
    for name in ("client_id", "version"):
        text = fields.get(name)
        if isinstance(text, str) and len(text) > MAX_TEXT_FIELD_LENGTH:
            problems.append(f"{name}: must be at most {MAX_TEXT_FIELD_LENGTH} characters")
    return problems
