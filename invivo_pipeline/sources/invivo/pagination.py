"""Walk a paged list by page number, concurrently, in order, and never one request too many.

Page 1 tells the page size the server granted and how many pages there are; every later page is
asked for by number with that size and the original filters. ``links.next`` is never followed: the
API drops ``perPage`` and the filters from it. Defences against a list that changes while we read:

- each answer must be the page asked for (``meta.current_page``); a smaller number with a smaller
  ``last_page`` means the list shrank and the server clamped, so the walk ends; anything else is a
  malformed answer;
- a ``last_page`` that grows extends the walk; an empty page ends it;
- every page's ``last_page`` must be what its ``total`` and ``per_page`` imply, so the walk is
  bounded by what the server says the list holds;
- records are de-duplicated by primary key, so a record pushed onto the next page by an insert
  comes out once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import msgspec

from invivo_pipeline.core.errors import MalformedResponseError
from invivo_pipeline.core.rejects import Reject
from invivo_pipeline.core.validation import record_value
from invivo_pipeline.sources.invivo.models import PageMeta


@dataclass
class FetchedPage:
    number: int
    meta: PageMeta
    page: RawPage
    url: str
    unique: list[int]
    """Positions of the valid records not seen earlier in the listing."""
    rejects: list[Reject] = field(default_factory=list)
    """The page's records that failed validation (not in ``unique``)."""

    @property
    def records(self) -> list[msgspec.Raw]:
        return self.page.records


@dataclass(frozen=True)
class RawPage:
    """A list answer's ``data``, undecoded: the array's bytes and each record's bytes."""

    data: msgspec.Raw
    records: list[msgspec.Raw]


class _Envelope(msgspec.Struct):
    data: msgspec.Raw
    meta: msgspec.Raw


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_RECORDS = msgspec.json.Decoder(list[msgspec.Raw])


def parse_envelope(content: bytes) -> tuple[PageMeta, RawPage]:
    """``meta`` and ``data`` of a list answer, read from its bytes.

    The records are split, not decoded (msgspec scans them in C): validation and the warehouse
    both read them from these bytes, so no Python dict is ever built for a record.
    """
    envelope = _ENVELOPE.decode(content)
    records = _RECORDS.decode(envelope.data)
    for record in records:
        if memoryview(record)[:1] != b"{":
            raise ValueError("data is not a list of objects")
    return PageMeta.model_validate_json(bytes(envelope.meta)), RawPage(envelope.data, records)


class PrimaryKeys:
    """Remembers the keys seen in one listing; fills key parts the record lacks from the context.

    ``metadata_options`` are keyed by ``(metadata_id, value)`` yet the record only has ``value``:
    the ``metadata_id`` is the path placeholder the listing was made with.
    """

    def __init__(self, primary_key: Sequence[str], context: Mapping[str, str]) -> None:
        self._key = tuple(primary_key)
        self._context = context
        self._seen: set[Any] = set()

    def first_seen(self, records: Sequence[Any]) -> list[int]:
        """Positions of the records not seen before (``records`` as ``validate_page`` returns
        them: twins, or dicts)."""
        context = self._context
        if len(self._key) == 1:  # most resources: one key part, read without building tuples
            keys: list[Any] = [_hashable(_key_part(r, self._key[0], context)) for r in records]
        else:
            keys = [tuple(_hashable(_key_part(r, k, context)) for k in self._key) for r in records]
        unique: list[int] = []
        seen = self._seen
        for at, key in enumerate(keys):
            if key is None or (type(key) is tuple and None in key):
                unique.append(at)
            elif key not in seen:
                seen.add(key)
                unique.append(at)
        return unique


def _key_part(record: Any, key: str, context: Mapping[str, str]) -> Any:
    value = record_value(record, key)
    return context.get(key) if value is None else value


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else repr(value)


def check_first_page(page: FetchedPage) -> None:
    if page.meta.current_page != 1:
        _inconsistent(page, "page 1 is not current_page 1")
    check_page_bounds(page)


def check_page_bounds(page: FetchedPage) -> None:
    """The walk ends where ``total`` and the granted ``per_page`` say, so they must agree.

    ``last_page`` is ``max(1, ceil(total / per_page))`` (Laravel's rule) and no page holds more than
    ``per_page`` records; anything else would let a server keep the walk going forever (a
    ``last_page`` of 10^9 on a short list) or fill the memory, so it is one clear error instead.
    """
    meta = page.meta
    if meta.per_page < 1 or meta.total < 0:
        _inconsistent(page, "per_page must be at least 1 and total not negative")
    implied = max(1, -(-meta.total // meta.per_page))
    if meta.last_page != implied:
        _inconsistent(page, f"{meta.total} records at {meta.per_page} a page make {implied} pages")
    if len(page.records) > meta.per_page:
        _inconsistent(page, f"the page holds {len(page.records)} records")


def _inconsistent(page: FetchedPage, why: str) -> NoReturn:
    meta = page.meta
    raise MalformedResponseError(
        f"GET {page.url} returned inconsistent paging metadata (current_page={meta.current_page}, "
        f"per_page={meta.per_page}, last_page={meta.last_page}, total={meta.total}): {why}",
        method="GET",
        url=page.url,
    )


def _is_past_the_end(page: FetchedPage) -> bool:
    """Whether a wrong page number is the server clamping to a list that shrank under us."""
    meta = page.meta
    if meta.current_page == page.number:
        return False
    if meta.current_page < page.number and meta.last_page < page.number:
        return True
    raise MalformedResponseError(
        f"GET {page.url} answered page {meta.current_page} (last_page={meta.last_page}) "
        f"when asked for page {page.number}",
        method="GET",
        url=page.url,
    )


async def later_pages(
    fetch: Callable[[int], Awaitable[FetchedPage]],
    first: FetchedPage,
    *,
    lookahead: int,
) -> AsyncIterator[FetchedPage]:
    """Pages 2.. in order, at most ``lookahead`` requested ahead of the one being yielded.

    The client's semaphore bounds requests in flight across all listings; ``lookahead`` only bounds
    how many finished pages of this listing can wait in memory for an earlier one.
    """
    last_page = first.meta.last_page
    next_number = 2
    pending: deque[asyncio.Task[FetchedPage]] = deque()
    try:
        while True:
            while next_number <= last_page and len(pending) < lookahead:
                pending.append(asyncio.ensure_future(fetch(next_number)))
                next_number += 1
            if not pending:
                return
            page = await pending.popleft()
            check_page_bounds(page)
            if _is_past_the_end(page) or not page.records:
                return
            last_page = max(last_page, page.meta.last_page)
            yield page
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
