"""The In Vivo API client, driven by the resource table: no code here knows a resource by name.

Typical use from synchronous code (a Dagster asset)::

    async def pull(study_id):
        async with InVivoClient(ClientConfig.from_env()) as client:
            return await client.fetch_study(study_id), client.metrics.snapshot()

    batches, metrics = run_sync(pull("sdy_..."))

Create the client inside the coroutine: its connection pool belongs to the event loop it first
runs on.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from invivo_pipeline.core.batches import Batch, OnBatch, gather
from invivo_pipeline.core.errors import ApiError, MalformedResponseError
from invivo_pipeline.core.metrics import ClientMetrics
from invivo_pipeline.core.ratelimit import RateLimiter, SlidingWindowLimiter, Unlimited
from invivo_pipeline.core.requester import FromBytes
from invivo_pipeline.core.resource_spec import Resource, Route, Scope
from invivo_pipeline.core.shared_budget import SharedWindowLimiter
from invivo_pipeline.core.validation import validate_object, validate_page, validate_records
from invivo_pipeline.sources.invivo import table as resource_table
from invivo_pipeline.sources.invivo.config import ClientConfig
from invivo_pipeline.sources.invivo.models import PageMeta
from invivo_pipeline.sources.invivo.pagination import (
    FetchedPage,
    PrimaryKeys,
    check_first_page,
    later_pages,
    parse_envelope,
)
from invivo_pipeline.sources.invivo.requester import InVivoRequester
from invivo_pipeline.sources.invivo.table import STUDY

logger = logging.getLogger("invivo_pipeline.client")

T = TypeVar("T")
RESERVED_PARAMS = frozenset({"page", "perPage"})
PAGE = FromBytes(parse_envelope)


def _resource(resource: Resource | str) -> Resource:
    return resource if isinstance(resource, Resource) else resource_table.get(resource)


def _path(template: str, resource: Resource, values: Mapping[str, str]) -> str:
    placeholders = Route(template).placeholders
    missing = [p for p in placeholders if not values.get(p)]
    if missing:
        raise ValueError(f"{resource.name}: {template} needs {', '.join(missing)}")
    return template.format(**{p: quote(str(values[p]), safe="") for p in placeholders})


def _single_object(body: Any) -> dict[str, Any]:
    """A retrieve answer: the bare object, or (defensively) one wrapped as ``{"data": {...}}``."""
    if isinstance(body, dict) and set(body) == {"data"} and isinstance(body["data"], dict):
        body = body["data"]
    if not isinstance(body, dict):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")
    return body


def budget(config: ClientConfig) -> RateLimiter:
    """The request budget ``config`` asks for: none, this client's own window, or the window
    shared through ``config.shared_budget_path`` by every process of the deployment."""
    rpm = config.requests_per_minute
    if not rpm:
        return Unlimited()
    if config.shared_budget_path:
        return SharedWindowLimiter.per_minute(config.shared_budget_path, rpm)
    return SlidingWindowLimiter.per_minute(rpm)


class InVivoClient:
    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        """``rate_limiter`` replaces the one built from ``config.requests_per_minute`` (tests use a
        short period); ``transport`` lets tests or an in-process simulator stand in for the network.
        """
        self.config = config
        self.metrics = ClientMetrics()
        self.stands_alone = transport is not None or rate_limiter is not None
        """Whether this client has a transport or a limiter given here rather than built from
        its config: a worker process's client, built from the config, would not share them."""
        if rate_limiter is None:
            rate_limiter = budget(config)
        self._requester = InVivoRequester(
            config, metrics=self.metrics, rate_limiter=rate_limiter, transport=transport
        )

    async def __aenter__(self) -> InVivoClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._requester.aclose()

    # -- for a worker process's client (``study_processes``) ------------------------------------

    async def token_handoff(self) -> tuple[str, float] | None:
        return await self._requester.token_handoff()

    def adopt_token(self, handed: tuple[str, float] | None) -> None:
        self._requester.adopt_token(handed)

    def run_seconds_left(self) -> float | None:
        return self._requester.run_seconds_left()

    # -- one resource -------------------------------------------------------------------------

    async def iter_pages(
        self,
        resource: Resource | str,
        context: Mapping[str, str] | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> AsyncIterator[Batch]:
        """One ``Batch`` per page, in page order; later pages are fetched concurrently."""
        res = _resource(resource)
        if res.single:
            raise ValueError(f"{res.name} is a single object per context; use retrieve()")
        ctx = {p: str((context or {}).get(p, "")) for p in res.route.placeholders}
        url = self.config.api_root + _path(res.route.path, res, ctx)
        params: dict[str, str | int] = dict(filters or {})
        if clash := RESERVED_PARAMS & set(params):
            raise ValueError(f"filters must not set {', '.join(sorted(clash))}; the client pages")
        keys = PrimaryKeys(res.primary_key, ctx)
        stats = self.metrics[res.name]

        async def fetch(number: int, per_page: int) -> FetchedPage:
            (meta, page), page_url = await self._requester.get(
                url,
                {**params, "page": number, "perPage": per_page},
                resource=res.name,
                parse=PAGE,
            )
            checked = validate_page(res.model, page.data, page.records)
            unique = keys.first_seen(checked.records)
            if checked.kept is not None:
                unique = [checked.kept[i] for i in unique]
            return FetchedPage(number, meta, page, page_url, unique, checked.rejects)

        def batch(page: FetchedPage) -> Batch:
            records, unique, rejects = page.records, page.unique, page.rejects
            duplicates = len(records) - len(unique) - len(rejects)
            stats.pages += 1
            stats.records += len(unique)
            stats.duplicates += duplicates
            if duplicates:
                logger.info("%s: dropped %d duplicate records on %s", res.name, duplicates, url)
            if rejects:
                logger.warning(
                    "%s: %d records set aside on %s: %s",
                    res.name, len(rejects), page.url, rejects[0].reason,
                )  # fmt: skip
            if duplicates or rejects:
                return Batch(res.name, dict(ctx), raw=[records[i] for i in unique], rejects=rejects)
            return Batch(res.name, dict(ctx), raw=records, data=page.page.data)

        first = await fetch(1, self.config.requested_per_page)
        check_first_page(first)
        granted, total = first.meta.per_page, first.meta.total
        try:
            yield batch(first)

            async def fetch_granted(number: int) -> FetchedPage:
                return await fetch(number, granted)

            async for page in later_pages(fetch_granted, first, lookahead=self.config.concurrency):
                total = max(total, page.meta.total)
                yield batch(page)
        finally:
            self.metrics.record_listing(res.name, total, granted)

    async def list_all(
        self,
        resource: Resource | str,
        context: Mapping[str, str] | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        return [r async for b in self.iter_pages(resource, context, filters) for r in b.records]

    async def retrieve(
        self, resource: Resource | str, context: Mapping[str, str], id: str | None = None
    ) -> dict[str, Any]:
        """One object: by ``id`` through the resource's retrieve route, or a single route (preset)."""
        res = _resource(resource)
        record, record_url = await self._retrieve_unchecked(res, context, id)
        validate_records(res.name, res.model, [record], record_url)
        self.metrics[res.name].records += 1
        return record

    async def _retrieve_unchecked(
        self, res: Resource, context: Mapping[str, str], id: str | None = None
    ) -> tuple[dict[str, Any], str]:
        if res.single:
            template = res.route.path
        elif res.retrieve is None:
            raise ValueError(f"{res.name} has no retrieve route")
        elif not id:
            raise ValueError(f"retrieving {res.name} needs an id")
        else:
            template = res.retrieve
        url = self.config.api_root + _path(template, res, {**context, "id": id or ""})
        self.metrics[res.name].minimum_requests += 1
        return await self._requester.get(url, None, resource=res.name, parse=_single_object)

    async def probe(
        self,
        resource: Resource | str,
        context: Mapping[str, str] | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> PageMeta:
        """``meta`` of page 1 at one record a page: how many records a list holds (``total``) for
        one request, whatever its size. Change detection compares totals between ticks."""
        res = _resource(resource)
        if res.single:
            raise ValueError(
                f"{res.name} is a single object per context; there is nothing to count"
            )
        ctx = {p: str((context or {}).get(p, "")) for p in res.route.placeholders}
        url = self.config.api_root + _path(res.route.path, res, ctx)
        params: dict[str, str | int] = dict(filters or {})
        if clash := RESERVED_PARAMS & set(params):
            raise ValueError(f"filters must not set {', '.join(sorted(clash))}; the probe pages")
        (meta, _page), _url = await self._requester.get(
            url, {**params, "page": 1, "perPage": 1}, resource=res.name, parse=PAGE
        )
        self.metrics[res.name].minimum_requests += 1
        return meta

    async def list_study_ids(self) -> list[str]:
        return [record["id"] for record in await self.list_all("studies")]

    # -- a whole partition --------------------------------------------------------------------

    async def fetch_global(self, names: Collection[str] | None = None) -> list[Batch]:
        """Every GLOBAL resource (or those in ``names``), children fanned out over their parents."""
        return await self._collect(Scope.GLOBAL, {}, names)

    async def fetch_study(self, study_id: str, names: Collection[str] | None = None) -> list[Batch]:
        """Every STUDY resource of one study (or those in ``names``); no preset, no preset batch."""
        return await self._collect(STUDY, {"study_id": study_id}, names)

    async def stream_global(self, names: Collection[str] | None, on_batch: OnBatch) -> None:
        """``fetch_global``, but each page goes to ``on_batch`` as it arrives and is not kept."""
        await self._fetch_scope(Scope.GLOBAL, {}, names, lambda batch, _: on_batch(batch))

    async def stream_study(
        self, study_id: str, names: Collection[str] | None, on_batch: OnBatch
    ) -> None:
        """``fetch_study``, but each page goes to ``on_batch`` as it arrives and is not kept, so a
        caller that turns pages into something compact holds one page of dicts, not a study."""
        await self._fetch_scope(
            STUDY, {"study_id": study_id}, names, lambda batch, _: on_batch(batch)
        )

    async def _collect(
        self, scope: Scope, base: dict[str, str], names: Collection[str] | None
    ) -> list[Batch]:
        received: list[tuple[tuple[int, int], Batch]] = []
        await self._fetch_scope(scope, base, names, lambda b, at: received.append((at, b)))
        # Resource-table order, then parent-record order, then page order (a stable sort).
        return [b for _, b in sorted(received, key=lambda item: item[0])]

    async def _fetch_scope(
        self,
        scope: Scope,
        base: dict[str, str],
        names: Collection[str] | None,
        on_batch: Callable[[Batch, tuple[int, int]], None],
    ) -> None:
        """``on_batch(batch, (resource position, context position))`` for each page received."""
        members = [r for r in resource_table.RESOURCES if r.scope is scope]
        in_scope = {r.name for r in members}
        if orphans := [r.name for r in members if r.parent and r.parent not in in_scope]:
            raise ValueError(f"{scope} resources whose parent is not {scope}: {orphans}")
        wanted = in_scope if names is None else set(names)
        if unknown := wanted - in_scope:
            raise ValueError(f"not {scope} resources: {sorted(unknown)}")
        # A selected child needs its parent's records to know what to ask for, so the parent is
        # fetched too, but only what was asked for is returned.
        needed = set(wanted)
        for res in members:
            parent = res.parent
            while res.name in wanted and parent is not None:
                needed.add(parent)
                parent = resource_table.get(parent).parent

        async def fetch_tree(res: Resource, contexts: list[dict[str, str]]) -> None:
            children = [c for c in members if c.parent == res.name and c.name in needed]
            # Only a parent's pages are kept (its children need the ids); the rest flow through.
            kept: list[list[Batch]] = [[] for _ in contexts]
            position = members.index(res)
            relay = _InOrder(len(contexts), lambda b, at: on_batch(b, (position, at)))

            async def fetch(at: int, ctx: dict[str, str]) -> None:
                def received(batch: Batch) -> None:
                    if children:
                        kept[at].append(batch)
                    if res.name in wanted:
                        relay.put(at, batch)

                await self._fetch_one(res, ctx, received)
                relay.done(at)

            await gather(fetch(i, ctx) for i, ctx in enumerate(contexts))
            parents = [b for group in kept for b in group]
            await gather(fetch_tree(c, _child_contexts(c, parents)) for c in children)

        roots = [r for r in members if r.parent is None and r.name in needed]
        await gather(fetch_tree(r, [dict(base)]) for r in roots)

    async def _fetch_one(self, res: Resource, context: dict[str, str], on_batch: OnBatch) -> None:
        if not res.single:
            async for batch in self.iter_pages(res, context, dict(res.route.complete)):
                on_batch(batch)
            return
        path = {p: context[p] for p in res.route.placeholders}
        try:
            record, _url = await self._retrieve_unchecked(res, context)
        except ApiError as exc:
            if exc.status == 404:
                logger.info("%s: none for %s (HTTP 404)", res.name, context)
                return
            raise
        self.metrics[res.name].pages += 1
        # Part of a partition: a bad object is set aside like a bad record of a page.
        if (reject := validate_object(res.model, record)) is not None:
            on_batch(Batch(res.name, path, [], rejects=[reject]))
            return
        self.metrics[res.name].records += 1
        on_batch(Batch(res.name, path, [record]))


class _InOrder:
    """Passes on the pages of concurrent listings in listing order, whatever order they arrive in.

    A partition's rows then always come in the same order, so its fingerprint is the same from one
    run to the next. Only the pages of a listing that finished before an earlier one wait here.
    """

    def __init__(self, listings: int, out: Callable[[Batch, int], None]) -> None:
        self._out = out
        self._waiting: list[list[Batch]] = [[] for _ in range(listings)]
        self._done = [False] * listings
        self._current = 0

    def put(self, at: int, batch: Batch) -> None:
        if at == self._current:
            self._out(batch, at)
        else:
            self._waiting[at].append(batch)

    def done(self, at: int) -> None:
        self._done[at] = True
        while self._current < len(self._done) and self._done[self._current]:
            self._current += 1
            if self._current < len(self._done):
                for batch in self._waiting[self._current]:
                    self._out(batch, self._current)
                self._waiting[self._current] = []


def _child_contexts(child: Resource, parent_batches: list[Batch]) -> list[dict[str, str]]:
    """One context per parent record (rejected ones with an id included): the parent's context
    plus the placeholder it fills."""
    contexts: list[dict[str, str]] = []
    for parent in parent_batches:
        missing = [p for p in child.route.placeholders if p not in parent.context]
        if len(missing) != 1:
            raise ValueError(
                f"{child.name}: route {child.route.path} must add exactly one placeholder to its "
                f"parent's {sorted(parent.context)}, found {missing}"
            )
        for record in parent.records:
            if "id" not in record:
                raise MalformedResponseError(
                    f"{parent.resource} record without an id cannot fill {missing[0]} "
                    f"for {child.name}",
                    method="GET",
                    url=child.route.path,
                )
            contexts.append({**parent.context, missing[0]: str(record["id"])})
        # A parent set aside is still asked for its children: they are records of the partition
        # in their own right, and a parent's fault is not theirs.
        for reject in parent.rejects:
            if reject.record_id is not None:
                contexts.append({**parent.context, missing[0]: reject.record_id})
    return contexts
