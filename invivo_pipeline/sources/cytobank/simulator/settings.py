"""How the simulated Cytobank server behaves apart from its data: credentials, limits, faults."""

from __future__ import annotations

from dataclasses import dataclass, field

from invivo_pipeline.sources.cytobank.table import REQUESTS_PER_MINUTE, TOKEN_TTL_S

DEMO_USERNAME = "cytobank-demo"
DEMO_PASSWORD = "cytobank-demo-password"


@dataclass(frozen=True)
class CytobankSimulatorSettings:
    username: str = DEMO_USERNAME
    password: str = field(default=DEMO_PASSWORD, repr=False)
    token_ttl_s: float = TOKEN_TTL_S
    """JWT lifetime; a test sets seconds to watch the client re-authenticate."""
    rate_limit: int | None = REQUESTS_PER_MINUTE
    """Requests admitted per fixed window (the API bins by the server's clock minute) [E]."""
    rate_limit_window_s: float = 60.0
    forbidden_experiments: frozenset[int] = frozenset()
    """Experiments that exist but answer 403 "Not Authorized To Access Resource"."""
