"""Request accounting per resource, so each asset materialization can report what it cost.

``minimum_requests`` is what a perfect client would have needed: one request per page at the
granted page size (``max(1, ceil(total / per_page))`` per listing) plus one per single object.
``requests`` against it shows how much retries and page-size surprises cost.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

TOKEN = "oauth_token"


@dataclass
class ResourceMetrics:
    requests: int = 0
    """HTTP requests sent for this resource, retries included."""
    retries: Counter[str] = field(default_factory=Counter)
    """Retries by cause: rate_limited, server_error, timeout, transport, connect, malformed."""
    pages: int = 0
    records: int = 0
    duplicates: int = 0
    """Records seen twice while paging (the list shifted under us) and dropped."""
    bytes: int = 0
    seconds: float = 0.0
    """Time spent waiting on HTTP responses, summed over requests (concurrent ones overlap)."""
    minimum_requests: int = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "retries": sum(self.retries.values()),
            "retries_by_cause": dict(self.retries),
            "pages": self.pages,
            "records": self.records,
            "duplicates": self.duplicates,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 6),
            "minimum_requests": self.minimum_requests,
        }


@dataclass
class ClientMetrics:
    resources: dict[str, ResourceMetrics] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ResourceMetrics:
        if name not in self.resources:
            self.resources[name] = ResourceMetrics()
        return self.resources[name]

    def take(self) -> ClientMetrics:
        """What was counted so far, which this object then forgets: a worker process hands its
        counts back after each call, and the caller ``merge``s them into its own."""
        taken = ClientMetrics(dict(self.resources))
        self.resources.clear()
        return taken

    def merge(self, other: ClientMetrics) -> None:
        """Add ``other``'s counts to these, field by field (a field added later included)."""
        for name, theirs in other.resources.items():
            mine = self[name]
            for counted in fields(ResourceMetrics):
                value = getattr(theirs, counted.name)
                if isinstance(value, Counter):
                    getattr(mine, counted.name).update(value)
                else:
                    setattr(mine, counted.name, getattr(mine, counted.name) + value)

    def record_listing(self, name: str, total: int, per_page: int) -> None:
        self[name].minimum_requests += max(1, math.ceil(total / per_page))

    @property
    def token_requests(self) -> int:
        return self.resources[TOKEN].requests if TOKEN in self.resources else 0

    @property
    def requests(self) -> int:
        return sum(m.requests for m in self.resources.values())

    @property
    def retries(self) -> int:
        return sum(sum(m.retries.values()) for m in self.resources.values())

    def minimum_requests(self, name: str | None = None) -> int:
        """Fewest requests that could have fetched what was fetched (token requests excluded)."""
        if name is not None:
            return self[name].minimum_requests
        return sum(m.minimum_requests for n, m in self.resources.items() if n != TOKEN)

    def snapshot(self) -> dict[str, Any]:
        causes: Counter[str] = Counter()
        for m in self.resources.values():
            causes.update(m.retries)
        return {
            "requests": self.requests,
            "retries": self.retries,
            "retries_by_cause": dict(causes),
            "token_requests": self.token_requests,
            "minimum_requests": self.minimum_requests(),
            "resources": {
                name: m.snapshot() for name, m in sorted(self.resources.items()) if name != TOKEN
            },
        }
