"""The Laravel-style list envelope ``{data, links, meta}``, assembled from pre-serialised records.

Like the real API, ``links`` carry only ``?page=N``: ``perPage`` and the filters are dropped, so a
client that follows ``links.next`` verbatim silently changes page size and loses its filters.
"""

from __future__ import annotations

import orjson

from invivo_pipeline.sources.invivo.simulator.serve.query import Page


def list_body(page: Page, url: str) -> bytes:
    """``url`` is the absolute URL of the list without its query string."""
    start = (page.page - 1) * page.per_page
    items = page.records[start : start + page.per_page]
    last = page.last_page
    links = {
        "first": f"{url}?page=1",
        "last": f"{url}?page={last}",
        "prev": f"{url}?page={page.page - 1}" if page.page > 1 else None,
        "next": f"{url}?page={page.page + 1}" if page.page < last else None,
    }
    meta = {
        "from": start + 1 if items else None,
        "path": url,
        "to": start + len(items) if items else None,
        "total": page.total,
        "current_page": page.page,
        "last_page": last,
        "per_page": page.per_page,
    }
    data = b",".join(record.raw for record in items)
    return b"".join(
        (
            b'{"data":[',
            data,
            b'],"links":',
            orjson.dumps(links),
            b',"meta":',
            orjson.dumps(meta),
            b"}",
        )
    )
