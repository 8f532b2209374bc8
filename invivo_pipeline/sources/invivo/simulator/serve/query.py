"""Answering one GET of the API from the world, independent of the web framework.

Every route and retrieve of ``resource_table.RESOURCES`` becomes an ``Endpoint``. A request is
answered in the API's order of checks: the ids in the path must exist and belong together (else
404), the query parameters must be valid (else 422), then the documented filters narrow the
records and the page is cut.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from invivo_pipeline.core.resource_spec import Resource, Route
from invivo_pipeline.sources.invivo import table as resource_table
from invivo_pipeline.sources.invivo.simulator.generate.records import Record
from invivo_pipeline.sources.invivo.simulator.generate.world import World
from invivo_pipeline.sources.invivo.simulator.serve.filters import (
    SAMPLE_SORTS,
    SPECIAL,
    Filter,
    filter_for,
)

Kind = Literal["list", "retrieve", "single"]

PARENTS: dict[str, str] = {
    "study_id": "studies",
    "animal_id": "animals",
    "project_id": "projects",
    "metadata_id": "metadata_glossary",
    "study_group_id": "study_groups",
}
"""Which resource a path placeholder names; an unknown id there is a 404."""

_MOST_SPECIFIC_FIRST = ("animal_id", "study_group_id", "metadata_id", "project_id", "study_id")

PAGING = frozenset({"page", "perPage", "limit"})
KNOWN_PARAMETERS = (
    PAGING | SPECIAL | {f for r in resource_table.RESOURCES for rt in r.routes for f in rt.filters}
)
"""Parameters that are never read as a metadata key, even on routes that do not document them."""

_TRUE, _FALSE = frozenset({"1", "true"}), frozenset({"0", "false"})


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, errors: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


@dataclass(frozen=True)
class Endpoint:
    resource: Resource
    template: str
    kind: Kind
    filters: tuple[str, ...] = ()

    @property
    def placeholders(self) -> tuple[str, ...]:
        return Route(self.template).placeholders


def endpoints() -> list[Endpoint]:
    """Every GET the API offers, straight from the resource table."""
    found: list[Endpoint] = []
    for resource in resource_table.RESOURCES:
        for route in resource.routes:
            kind: Kind = "single" if route.single else "list"
            found.append(Endpoint(resource, route.path, kind, route.filters))
        found.extend(Endpoint(resource, t, "retrieve") for t in resource.retrieves)
    return found


@dataclass(frozen=True)
class Page:
    records: list[Record]
    total: int
    page: int
    per_page: int

    @property
    def last_page(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


class Query:
    """Reads the world for requests; holds no per-request state."""

    def __init__(self, world: World, default_per_page: int, max_per_page: int) -> None:
        self.world = world
        self.default_per_page = default_per_page
        self.max_per_page = max_per_page

    # ------------------------------------------------------------------ scope
    def _check_path(self, params: Mapping[str, str]) -> None:
        """404 unless every id in the path exists and they belong together."""
        for placeholder, parent_name in PARENTS.items():
            if placeholder not in params:
                continue
            parent = self.world.get(parent_name, params[placeholder])
            mismatch = parent is not None and any(
                parent.keys.get(other, value) != value
                for other, value in params.items()
                if other not in ("id", placeholder)
            )
            if parent is None or mismatch:
                raise ApiError(404, f"{_label(parent_name)} {params[placeholder]} not found.")

    def _scoped(self, endpoint: Endpoint, params: Mapping[str, str]) -> list[Record]:
        """Records under the path's ids, in listing order."""
        self._check_path(params)
        name = endpoint.resource.name
        scope = [p for p in _MOST_SPECIFIC_FIRST if p in params]
        if not scope:
            return self.world.records(name)
        records = self.world.index(name, scope[0]).get(params[scope[0]], [])
        if len(scope) > 1:
            records = [r for r in records if all(r.keys.get(p) == params[p] for p in scope[1:])]
        return records

    def retrieve(self, endpoint: Endpoint, params: Mapping[str, str]) -> Record:
        name = endpoint.resource.name
        if endpoint.kind == "single":
            records = self._scoped(endpoint, params)
            if records:
                return records[0]
            raise ApiError(404, f"{_label(name)} not found.")
        self._check_path(params)
        wanted = params["id"]
        for record in self.world.index(name, "id").get(wanted, []):
            if all(record.keys.get(p) == v for p, v in params.items()):
                return record
        raise ApiError(404, f"{_label(name)} {wanted} not found.")

    # ------------------------------------------------------------------ lists
    def list(self, endpoint: Endpoint, params: Mapping[str, str], query: Mapping[str, str]) -> Page:
        records = self._scoped(endpoint, params)
        errors: dict[str, list[str]] = {}
        page = _positive_int(query, "page", 1, errors)
        per_page = min(
            _positive_int(query, "perPage", self.default_per_page, errors), self.max_per_page
        )
        records = self._filter(endpoint, records, query, errors)
        return Page(records, len(records), page, per_page)

    def _filter(
        self,
        endpoint: Endpoint,
        records: list[Record],
        query: Mapping[str, str],
        errors: dict[str, list[str]],
    ) -> list[Record]:
        """The records that pass the route's filters, in the requested order; 422 on ``errors``."""
        tests = _predicates(endpoint, query, errors)
        sort, order = _ordering(endpoint, query, errors)
        _raise_if(errors)
        if tests:
            records = [r for r in records if all(test(r.keys) for test in tests)]
        if sort is not None:
            key = f"sort:{sort}"
            records = sorted(records, key=lambda r: r.keys.get(key, ""), reverse=order == "desc")
        elif order == "desc":
            records = records[::-1]
        return records


Predicate = Callable[[dict[str, str]], bool]


def _predicates(
    endpoint: Endpoint, query: Mapping[str, str], errors: dict[str, list[str]]
) -> list[Predicate]:
    resource = endpoint.resource
    tests: list[Predicate] = []
    for name in endpoint.filters:
        value = query.get(name, "")
        spec = None if name in SPECIAL or value == "" else filter_for(resource.name, name)
        if spec is None:
            continue
        if spec.check and (problem := spec.check(value)):
            errors.setdefault(name, []).append(f"The {name} field {problem}")
            continue
        tests.append(partial(_accepts, spec, value.casefold()))
    if "metadata" in endpoint.filters and (term := query.get("metadata", "")):
        tests.append(partial(_any_metadata_is, term.casefold()))
    if resource.has_metadata:
        # Any other parameter names a metadata key: ?study-internal-id=STUDY-0001
        for key, value in query.items():
            if key not in KNOWN_PARAMETERS and value != "":
                tests.append(partial(_metadata_is, f"metadata:{key}", value.casefold()))
    if "include_inactive" in endpoint.filters and not _boolean(query, "include_inactive", errors):
        tests.append(_active)
    return tests


def _accepts(spec: Filter, wanted: str, keys: dict[str, str]) -> bool:
    return spec.accepts(keys, wanted)


def _any_metadata_is(wanted: str, keys: dict[str, str]) -> bool:
    return any(k.startswith("metadata:") and v.casefold() == wanted for k, v in keys.items())


def _metadata_is(key: str, wanted: str, keys: dict[str, str]) -> bool:
    return keys.get(key, "").casefold() == wanted


def _active(keys: dict[str, str]) -> bool:
    return keys.get("active") != "false"


def _ordering(
    endpoint: Endpoint, query: Mapping[str, str], errors: dict[str, list[str]]
) -> tuple[str | None, str | None]:
    if "sort" not in endpoint.filters:
        return None, None
    sort = query.get("sort") or None
    if sort is not None and sort not in SAMPLE_SORTS:
        errors["sort"] = [f"The selected sort is invalid; use one of: {', '.join(SAMPLE_SORTS)}."]
    order = query.get("order") or None
    if order is not None and order not in ("asc", "desc"):
        errors["order"] = ["The selected order is invalid; use asc or desc."]
    return sort, order


def _label(resource_name: str) -> str:
    """``studies`` -> ``Study``, ``metadata_glossary`` -> ``Metadata glossary``."""
    name = resource_name.replace("_", " ")
    if name.endswith("ies"):
        name = name[:-3] + "y"
    elif name.endswith("s") and name != "species":
        name = name[:-1]
    return name.capitalize()


def _positive_int(
    query: Mapping[str, str], name: str, default: int, errors: dict[str, list[str]]
) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit():
        errors[name] = [f"The {name} field must be an integer."]
        return default
    value = int(raw)
    if value < 1:
        errors[name] = [f"The {name} field must be at least 1."]
        return default
    return value


def _boolean(query: Mapping[str, str], name: str, errors: dict[str, list[str]]) -> bool:
    raw = query.get(name, "").lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE or raw == "":
        return False
    errors[name] = [f"The {name} field must be true or false."]
    return False


def _raise_if(errors: dict[str, list[str]]) -> None:
    if not errors:
        return
    messages = [m for ms in errors.values() for m in ms]
    more = len(messages) - 1
    message = messages[0] + (f" (and {more} more error{'s' if more > 1 else ''})" if more else "")
    raise ApiError(422, message, errors)
