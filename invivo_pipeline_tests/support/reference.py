"""Access to the API reference's examples, copied into the repository by
``scripts/extract_reference_examples.py`` so that the tests never read outside the repo."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "reference_examples.json"


@cache
def reference() -> dict[str, list[dict]]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def endpoint_examples() -> list[dict]:
    return reference()["examples"]


def webhook_examples() -> list[dict]:
    return reference()["webhooks"]
