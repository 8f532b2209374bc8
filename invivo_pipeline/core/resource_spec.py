"""What a source's table of API resources is made of: one ``Resource`` row per readable resource.

Each source keeps one table of these rows (``sources/<source>/table.py``); its client, assets,
simulator and the warehouse's DDL are all driven by it. Nothing here knows a source: a row names
its DuckDB schema, and its ``Scope`` names the column its partitions are keyed by (``study_id``
for In Vivo, ``experiment_id`` for Cytobank), so the warehouse and the Dagster glue handle every
source alike.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass, field

from pydantic import BaseModel

PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Scope:
    """How a resource is split: one global table, or one slice per partition of its source (a
    study, an experiment), keyed by ``partition_column``."""

    name: str
    partition_column: str | None = None
    """The column a partition's rows share, and are deleted by when it is replaced."""

    GLOBAL: typing.ClassVar[Scope]

    def __str__(self) -> str:
        return self.name

    @property
    def partitioned(self) -> bool:
        return self.partition_column is not None


Scope.GLOBAL = Scope("global")


@dataclass(frozen=True)
class Route:
    """One GET list endpoint (or single-object endpoint when ``single``) and its documented filters.

    ``path`` is relative to the source's API prefix; a ``{placeholder}`` names the record attribute
    the path scopes by (``study_id``, ``animal_id``, ...), ``{id}`` the record's own id."""

    path: str
    filters: tuple[str, ...] = ()
    single: bool = False
    complete: tuple[tuple[str, str], ...] = ()
    """Parameters a full extract must send because the API hides records by default."""

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(PLACEHOLDER.findall(self.path))

    def format(self, **params: str) -> str:
        return self.path.format(**params)


@dataclass(frozen=True)
class Resource:
    """One API resource: where it is read from, how it is keyed, what shape it has, and which
    DuckDB table it lands in."""

    name: str
    model: type[BaseModel]
    primary_key: tuple[str, ...]
    scope: Scope
    route: Route
    """The route ingestion uses: the one that needs the fewest requests."""
    description: str
    parent: str | None = None
    """Resource whose records fill ``route``'s placeholders beyond the partition's own."""
    retrieve: str | None = None
    references: tuple[tuple[str, str], ...] = ()
    """``(column, table)`` pairs: ids in that warehouse column must exist in that table's ``id``."""
    schema: str = field(default="", kw_only=True)
    """The DuckDB schema of the resource's table: one per source."""

    def __post_init__(self) -> None:
        if not self.schema:
            raise ValueError(f"resource {self.name!r} names no DuckDB schema")

    @property
    def context_keys(self) -> tuple[str, ...]:
        """Path placeholders of the ingestion route: columns every row of this table carries."""
        return self.route.placeholders

    @property
    def single(self) -> bool:
        return self.route.single
