"""Fetch Cytobank resources as ``Batch``es the warehouse loads.

Every request goes through the shared ``Requester`` (bounded concurrency, the sliding-window rate
limit, ``Retry-After`` pauses, retries, one-line redacted errors, request metrics). This module adds
only what differs for Cytobank: authentication (``POST /authenticate`` or a pasted UI token, both
JWTs that expire after 8 h, refreshed on a 401 such as "Authentication Timeout"), envelopes
instead of pages, the TSV download and the statistics query with the long timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

import httpx

from invivo_pipeline.core.auth import AccessToken
from invivo_pipeline.core.batches import Batch
from invivo_pipeline.core.metrics import TOKEN, ClientMetrics
from invivo_pipeline.core.ratelimit import SlidingWindowLimiter
from invivo_pipeline.core.requester import Requester
from invivo_pipeline.sources.cytobank.config import CytobankConfig
from invivo_pipeline.sources.cytobank.models import AuthenticatedUser
from invivo_pipeline.sources.cytobank.sample_tags import parse_sample_tags
from invivo_pipeline.sources.cytobank.table import (
    AUTHENTICATE_PATH,
    BY_NAME,
    EXPERIMENT_NAMES,
    Fetch,
    get,
)

logger = logging.getLogger("invivo_pipeline.client.cytobank")


class RawBody:
    """A parse step that wants the response bytes (the TSV), not JSON."""

    def __init__(self, parse: Any) -> None:
        self.parse = parse

    def __call__(self, content: bytes) -> Any:
        return self.parse(content)


class CytobankRequester(Requester):
    """The shared requester with Cytobank's authentication, timeouts and raw downloads."""

    def __init__(self, config: CytobankConfig, *, metrics: ClientMetrics, transport: Any = None):
        limiter = SlidingWindowLimiter(int(config.requests_per_minute), config.rate_window_s)
        super().__init__(
            config,
            metrics=metrics,
            rate_limiter=limiter,
            secrets=[config.password, config.api_token],
            transport=transport,
        )
        self.cytobank = config
        self._long = httpx.Timeout(config.long_timeout_s, connect=config.connect_timeout_s)

    def _timeout(self, resource: str) -> Any:
        spec = BY_NAME.get(resource)
        return self._long if spec is not None and spec.long_timeout else super()._timeout(resource)

    def _parse(self, method: str, url: str, content: bytes, parse: Any) -> Any:
        if isinstance(parse, RawBody):
            try:
                return parse(content)
            except (UnicodeDecodeError, ValueError) as exc:
                self._malformed(method, url, str(exc))
        return super()._parse(method, url, content, parse)

    async def _fetch_token(self) -> AccessToken:
        config = self.cytobank
        if config.api_token:
            # A pasted token cannot be renewed; when it expires the 401 says so in one line.
            return AccessToken(access_token=config.api_token, expires_in=config.token_ttl_s)
        user, _ = await self._with_retries(
            "POST",
            config.base_url + AUTHENTICATE_PATH,
            None,
            resource=TOKEN,
            parse=self._parse_user,
            authenticated=False,
            json_body={"username": config.username, "password": config.password},
        )
        logger.debug("authenticated to Cytobank as user %s", user.id)
        return AccessToken(access_token=user.auth_token, expires_in=config.token_ttl_s)

    def _parse_user(self, body: Any) -> AuthenticatedUser:
        user = AuthenticatedUser.model_validate(body["user"])
        self.redact.add(user.auth_token)
        return user


def _envelope(key: str) -> Any:
    def parse(body: Any) -> list[dict[str, Any]]:
        if not isinstance(body, dict) or not isinstance(body.get(key), list):
            raise ValueError(f"expected {{{key!r}: [...]}}")
        return body[key]

    return parse


def _bare_list(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, list):
        raise ValueError("expected a JSON array")
    return body


class CytobankClient:
    """``async with CytobankClient(config) as c: await c.fetch_experiment(29500)``."""

    def __init__(self, config: CytobankConfig, *, transport: Any = None) -> None:
        self.config = config
        self.metrics = ClientMetrics()
        self._requester = CytobankRequester(config, metrics=self.metrics, transport=transport)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._requester.aclose()

    async def _get(self, resource: str, path: str, parse: Any, params: Any = None) -> Any:
        body, _ = await self._requester.get(
            self.config.base_url + path, params, resource=resource, parse=parse
        )
        stats = self.metrics[resource]
        stats.pages += 1
        stats.minimum_requests += 1
        return body

    async def list_experiments(self) -> list[dict[str, Any]]:
        spec = get("experiments")
        records = await self._get(spec.name, spec.route.path, _envelope(spec.envelope))
        self.metrics[spec.name].records += len(records)
        return records

    async def fetch_experiments(self) -> list[Batch]:
        return [Batch("experiments", {}, await self.list_experiments())]

    async def fetch_experiment(
        self, experiment_id: int | str, names: Sequence[str] = EXPERIMENT_NAMES
    ) -> list[Batch]:
        """Every per-experiment table in ``names`` for one experiment (one request each)."""
        eid = str(experiment_id)
        context = {"experiment_id": eid}
        wanted = set(names)
        batches: list[Batch] = []
        panels: list[dict[str, Any]] = []
        for spec in (get(n) for n in EXPERIMENT_NAMES):
            need_panels = spec.name == "panels" and "panel_channels" in wanted
            if spec.name not in wanted and not need_panels:
                continue
            if spec.fetch is Fetch.NESTED:
                continue  # read from the parent's records below
            path = spec.route.format(experiment_id=eid) if spec.route.placeholders else ""
            if spec.fetch is Fetch.LIST:
                records = await self._get(spec.name, path, _envelope(spec.envelope))
                if spec.name == "panels":
                    panels = records
            elif spec.fetch is Fetch.SAMPLE_TAGS:
                records = await self._get(spec.name, path, RawBody(parse_sample_tags))
            else:
                records = await self._statistics(eid, panels if panels else None)
            self.metrics[spec.name].records += len(records)
            if spec.name in wanted:
                batches.append(Batch(spec.name, dict(context), records))
        if "panel_channels" in wanted:
            spec = get("panel_channels")
            for panel in panels:
                channels = panel.get(spec.nested_key) or []
                self.metrics[spec.name].records += len(channels)
                batches.append(
                    Batch(spec.name, {**context, "panel_id": str(panel["id"])}, list(channels))
                )
        return batches

    async def _statistics(
        self, eid: str, panels: list[dict[str, Any]] | None
    ) -> list[dict[str, Any]]:
        """One query for every file and population, with every channel of the experiment's panels."""
        if panels is None:
            panels = await self._get("panels", f"/experiments/{eid}/panels", _envelope("panels"))
        channels = sorted(
            {int(c["normalizedShortNameId"]) for p in panels for c in p.get("channels") or []}
        )
        params = httpx.QueryParams(
            [("experimentId", eid), ("compensationId", "-2"), ("gateVersion", "-1")]
            + [("channelIds", str(c)) for c in channels]
        )
        return await self._get("statistics", "/statistics", _bare_list, params)
