"""The Benchling In Vivo REST API client: pure async Python (httpx), no Dagster.

Driven by ``invivo_pipeline.resource_table``: it pages every list by number at the granted page
size, fans out over parent records, keeps the OAuth token fresh, stays inside a client-side rate
budget, retries what is worth retrying and fails in one clear line otherwise.
"""

from invivo_pipeline.client.client import Batch, InVivoClient, run_sync
from invivo_pipeline.client.config import ClientConfig
from invivo_pipeline.client.errors import (
    ApiError,
    ApiUnreachableError,
    AuthenticationError,
    ConfigError,
    InVivoError,
    MalformedResponseError,
    RecordValidationError,
)
from invivo_pipeline.client.metrics import ClientMetrics, ResourceMetrics
from invivo_pipeline.client.ratelimit import SlidingWindowLimiter

__all__ = [
    "ApiError",
    "ApiUnreachableError",
    "AuthenticationError",
    "Batch",
    "ClientConfig",
    "ClientMetrics",
    "ConfigError",
    "InVivoClient",
    "InVivoError",
    "MalformedResponseError",
    "RecordValidationError",
    "ResourceMetrics",
    "SlidingWindowLimiter",
    "run_sync",
]
