"""The Cytobank API v1 as FastAPI routes, generated from ``sources.cytobank.table``.

Simulator choices where the evidence is silent (see ``docs/cytobank-api-notes.md``): 401 for the
missing/invalid/expired token errors, 403 "Not Authorized To Access Resource", 404 for unknown ids,
429 ``{"errors": ["Rate limit exceeded ..."]}`` with ``Retry-After`` = seconds left in the current
window (fixed windows, like the server's per-minute bins), ``{"msg": ...}`` bodies on /statistics.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from invivo_pipeline.sources.cytobank.simulator.settings import CytobankSimulatorSettings
from invivo_pipeline.sources.cytobank.simulator.tokens import TokenIssuer
from invivo_pipeline.sources.cytobank.simulator.world import TAG_DIMENSIONS, USER_ID, CytobankWorld
from invivo_pipeline.sources.cytobank.table import (
    API_PREFIX,
    AUTHENTICATE_PATH,
    CYTOBANK_RESOURCES,
    SAMPLE_TAGS_PATH,
    STATISTICS_PATH,
    Fetch,
)

NOT_AUTHORIZED = "Not Authorized To Access Resource"


class CytobankStats:
    """What the client did: request arrival times (for rate-limit proofs), statuses, auth calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._arrivals: list[float] = []
            self._statuses: dict[int, int] = {}
            self._routes: dict[str, int] = {}
            self._authentications = 0

    def arrived(self, route: str) -> None:
        with self._lock:
            self._arrivals.append(time.monotonic())
            self._routes[route] = self._routes.get(route, 0) + 1

    def answered(self, status: int) -> None:
        with self._lock:
            self._statuses[status] = self._statuses.get(status, 0) + 1

    def authenticated(self) -> None:
        with self._lock:
            self._authentications += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": len(self._arrivals),
                "arrivals": list(self._arrivals),
                "by_status": dict(self._statuses),
                "by_route": dict(self._routes),
                "authentications": self._authentications,
            }


class FixedWindow:
    """At most ``limit`` requests per window of the server clock; the rest get 429."""

    def __init__(self, limit: int | None, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._bin = -1
        self._count = 0
        self._lock = threading.Lock()

    def admit(self) -> float | None:
        """None when admitted, else the seconds until the next window opens."""
        if self.limit is None:
            return None
        now = time.monotonic()
        current = math.floor(now / self.window_s)
        with self._lock:
            if current != self._bin:
                self._bin, self._count = current, 0
            if self._count < self.limit:
                self._count += 1
                return None
        return (current + 1) * self.window_s - now


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def create_app(world: CytobankWorld, settings: CytobankSimulatorSettings) -> FastAPI:
    app = FastAPI(title="Cytobank API v1 (simulated)", openapi_url=None, docs_url=None)
    stats = CytobankStats()
    tokens = TokenIssuer(settings.token_ttl_s)
    window = FixedWindow(settings.rate_limit, settings.rate_limit_window_s)
    app.state.stats = stats
    app.state.world = world

    @app.middleware("http")
    async def gatekeeper(request: Request, call_next: Any) -> Response:
        path = request.url.path
        stats.arrived(request.scope.get("route_name", path))
        statistics = path.endswith(STATISTICS_PATH)

        def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
            body = {"msg": message} if statistics else {"errors": [message]}
            return _json(body, status, headers)

        wait = window.admit()
        if wait is not None:
            response = error(
                429,
                f"Rate limit exceeded: {settings.rate_limit} requests per "
                f"{settings.rate_limit_window_s:g} s",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
        elif path != API_PREFIX + AUTHENTICATE_PATH:
            header = request.headers.get("Authorization", "")
            token = header.removeprefix("Bearer ").strip()
            problem = (
                tokens.check(token)
                if token
                else "Not Authenticated -- invalid or missing auth token"
            )
            response = error(401, problem) if problem else await call_next(request)
        else:
            response = await call_next(request)
        stats.answered(response.status_code)
        return response

    @app.post(API_PREFIX + AUTHENTICATE_PATH)
    async def authenticate(request: Request) -> Response:
        stats.authenticated()
        raw = await request.body()
        try:
            body = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            form = await request.form()
            body = dict(form)
        if body.get("username") != settings.username or body.get("password") != settings.password:
            return _json({"errors": ["Invalid username or password"]}, 401)
        return _json(
            {
                "user": {
                    "id": USER_ID,
                    "username": settings.username,
                    "authToken": tokens.issue(USER_ID),
                }
            }
        )

    def experiment_or_error(eid: int, statistics: bool = False) -> Any:
        exp = world.experiment(eid)
        key = "msg" if statistics else "errors"
        if exp is None:
            text = "Resource not found"
            return _json({key: text if statistics else [text]}, 404)
        if eid in settings.forbidden_experiments:
            return _json({key: NOT_AUTHORIZED if statistics else [NOT_AUTHORIZED]}, 403)
        return exp

    experiments = CYTOBANK_RESOURCES[0]

    @app.get(API_PREFIX + experiments.route.path)
    async def list_experiments() -> Response:
        visible = [e.record for e in world.experiments]
        return _json({experiments.envelope: visible})

    @app.get(API_PREFIX + (experiments.retrieve or ""))
    async def show_experiment(id: int) -> Response:
        exp = experiment_or_error(id)
        return exp if isinstance(exp, Response) else _json({experiments.show_envelope: exp.record})

    for resource in CYTOBANK_RESOURCES:
        if resource.fetch is not Fetch.LIST or resource.name == experiments.name:
            continue

        def register(name: str, envelope: str, show: str, path: str, retrieve: str) -> None:
            @app.get(API_PREFIX + path, name=name)
            async def listing(experiment_id: int) -> Response:
                exp = experiment_or_error(experiment_id)
                if isinstance(exp, Response):
                    return exp
                return _json({envelope: exp.records(name)})

            @app.get(API_PREFIX + retrieve, name=f"{name}.show")
            async def showing(experiment_id: int, id: int) -> Response:
                exp = experiment_or_error(experiment_id)
                if isinstance(exp, Response):
                    return exp
                found = next((r for r in exp.records(name) if r["id"] == id), None)
                if found is None:
                    return _json({"errors": ["Resource not found"]}, 404)
                return _json({show: found})

        register(
            resource.name,
            resource.envelope,
            resource.show_envelope,
            resource.route.path,
            resource.retrieve or "",
        )

    @app.get(API_PREFIX + SAMPLE_TAGS_PATH)
    async def sample_tags(experiment_id: int) -> Response:
        exp = experiment_or_error(experiment_id)
        if isinstance(exp, Response):
            return exp
        lines = ["\t".join(("FCS Filename", *TAG_DIMENSIONS))]
        lines += ["\t".join(row[c] for c in ("FCS Filename", *TAG_DIMENSIONS)) for row in exp.tags]
        return Response(
            ("\n".join(lines) + "\n").encode(),
            media_type="text/tab-separated-values",
            headers={
                "Content-Disposition": f'attachment; filename="experiment_{experiment_id}_annotations.tsv"'
            },
        )

    @app.get(API_PREFIX + STATISTICS_PATH)
    async def statistics(request: Request) -> Response:
        query = request.query_params
        try:
            eid = int(query["experimentId"])
            files = {int(v) for v in query.getlist("fcsFileIds")}
            gate_sets = {int(v) for v in query.getlist("gateSetIds")}
            channels = [str(int(v)) for v in query.getlist("channelIds")]
        except (KeyError, ValueError):
            return _json({"msg": "experimentId is required; ids must be integers"}, 422)
        exp = experiment_or_error(eid, statistics=True)
        if isinstance(exp, Response):
            return exp
        rows = []
        for row in exp.statistics:
            if files and row["fcsFileId"] not in files:
                continue
            if gate_sets and row["gateSetId"] not in gate_sets:
                continue
            # Without channelIds only event counts come back ("event_counts" mode) [E].
            rows.append(
                {
                    k: ({c: v[c] for c in channels if c in v} if isinstance(v, dict) else v)
                    for k, v in row.items()
                }
                | {"channelShortNameIds": [int(c) for c in channels]}
            )
        return _json(rows)

    return app
