"""How the simulated API server behaves, apart from its data: credentials, paging and faults.

Faults are off by default so a plain simulator is a well-behaved API; tests and benchmarks turn on
the failure modes a production client must survive (rate limits, 5xx, slow responses, truncated
JSON). They are pseudo-random but seeded, so a failing run can be replayed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEMO_CLIENT_ID = "invivo-demo-client"
DEMO_CLIENT_SECRET = "invivo-demo-secret"


@dataclass(frozen=True)
class SimulatorSettings:
    client_id: str = DEMO_CLIENT_ID
    client_secret: str = DEMO_CLIENT_SECRET
    max_per_page: int = 100
    default_per_page: int = 10
    token_ttl_s: float = 86400
    rate_limit_per_minute: int | None = None
    """Sliding window of admitted API requests; beyond it: 429 with ``Retry-After``."""
    rate_limit_window_s: float = 60.0
    """The window ``rate_limit_per_minute`` counts over: a minute, unless a test wants it quick."""
    error_rate: float = 0.0
    """Probability that an API request fails with a JSON 500, 502 or 503."""
    latency_ms: float = 0.0
    """Added to every API request (an ``asyncio.sleep``, so requests overlap)."""
    malformed_rate: float = 0.0
    """Probability that a 200 JSON body is cut off mid-way (invalid JSON)."""
    fault_seed: int = 0
    webhook_url: str | None = None
    """Where ``POST /_simulator/advance`` delivers the webhook events of the days it lives."""
    webhook_secret: str | None = field(default=None, repr=False)
    """Sent as ``X-Invivo-Webhook-Secret`` with every event; never printed (``repr=False``)."""
