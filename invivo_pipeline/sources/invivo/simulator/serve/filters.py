"""How each documented query filter compares against record keys.

The reference names the filters but not their matching rules; these follow what a Laravel API on a
case-insensitive database does: identifiers and codes compare equal ignoring case, free-text
filters (names, titles, e-mails) match a substring.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Literal

Match = Literal["exact", "contains", "member"]


@dataclass(frozen=True)
class Filter:
    keys: tuple[str, ...]
    """Record keys compared; a record matches if any of them matches."""
    match: Match = "exact"
    check: Callable[[str], str | None] | None = None
    """Returns the validation message for an unacceptable value."""

    def accepts(self, keys: dict[str, str], wanted: str) -> bool:
        for key in self.keys:
            value = keys.get(key)
            if value is None:
                continue
            if self.match == "exact" and value.casefold() == wanted:
                return True
            if self.match == "contains" and wanted in value.casefold():
                return True
            if self.match == "member" and wanted in value.casefold().split():
                return True
        return False


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _check_date(value: str) -> str | None:
    try:
        if _DATE.match(value):
            date.fromisoformat(value)
            return None
    except ValueError:
        pass
    return "must be a valid date in the format Y-m-d."


def _check_sex(value: str) -> str | None:
    return None if value.lower() in ("m", "f") else "must be one of: m, f."


FILTERS: dict[str, Filter] = {
    "code": Filter(("code",)),
    "name": Filter(("name",), "contains"),
    "catalog": Filter(("catalog",)),
    "sex": Filter(("sex",), check=_check_sex),
    "cage_id": Filter(("cage_id",)),
    "study_id": Filter(("study_id",)),
    "animal_id": Filter(("animal_id",)),
    "type": Filter(("type",)),
    "title": Filter(("title",), "contains"),
    "email": Filter(("email",), "contains"),
    "measured_at": Filter(("measured_at",), check=_check_date),
    "treatment_id": Filter(("treatment_ids",), "member"),
    "role_name": Filter(("role_name",), "contains"),
    "user_name": Filter(("user_name",), "contains"),
    "user_email": Filter(("user_email",), "contains"),
    "query": Filter(("value",), "contains"),
}
"""Plain filters by query parameter; ``metadata``, ``include_inactive``, ``sort`` and ``order``
have their own handling in ``query``."""

OVERRIDES: dict[tuple[str, str], Filter] = {
    # The glossaries' "type" is their group (samples, observations, euthanize_reasons); a team
    # glossary item also has a scoring type (numeric), which the filter accepts too.
    ("glossary", "type"): Filter(("group",)),
    ("team_glossary", "type"): Filter(("group", "type")),
}

SPECIAL = frozenset({"metadata", "include_inactive", "sort", "order"})

SAMPLE_SORTS = ("animal", "cage", "date", "group", "sample", "study", "type")
"""``?sort=`` values of the sample routes; the record keys are ``sort:<value>``."""


def filter_for(resource_name: str, name: str) -> Filter | None:
    return OVERRIDES.get((resource_name, name)) or FILTERS.get(name)
