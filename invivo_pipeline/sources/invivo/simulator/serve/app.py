"""The simulated In Vivo API as a FastAPI app: the token endpoint, every GET route of the resource
table, and ``/_simulator`` endpoints for tests (counters, and ``advance`` to let time pass).

Routes are generated from ``resource_table.RESOURCES``; nothing here is per-resource. Each API GET
goes through the same steps as the real service would expose them to a client: latency, rate limit,
random server errors, authentication, the answer (404/422/200), and possibly a truncated body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from invivo_pipeline.sources.invivo.simulator.generate.advance import MAX_DAYS, advance
from invivo_pipeline.sources.invivo.simulator.generate.world import World
from invivo_pipeline.sources.invivo.simulator.serve.auth import (
    UNAUTHENTICATED,
    TokenStore,
    credentials,
)
from invivo_pipeline.sources.invivo.simulator.serve.envelope import list_body
from invivo_pipeline.sources.invivo.simulator.serve.faults import FaultInjector
from invivo_pipeline.sources.invivo.simulator.serve.query import (
    ApiError,
    Endpoint,
    Query,
    endpoints,
)
from invivo_pipeline.sources.invivo.simulator.serve.settings import SimulatorSettings
from invivo_pipeline.sources.invivo.simulator.serve.stats import Stats
from invivo_pipeline.sources.invivo.simulator.serve.webhook_emitter import deliver
from invivo_pipeline.sources.invivo.table import API_PREFIX, TOKEN_PATH

STATS_PATH = "/_simulator/stats"
ADVANCE_PATH = "/_simulator/advance"
UNMATCHED = "<unmatched>"

Handler = Callable[[Request], Awaitable[Response]]


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


class Simulator:
    """The state behind one app: world, tokens, faults and counters."""

    def __init__(self, world: World, settings: SimulatorSettings) -> None:
        self.world = world
        self.settings = settings
        self.query = Query(world, settings.default_per_page, settings.max_per_page)
        self.tokens = TokenStore(settings)
        self.faults = FaultInjector(settings)
        self.stats = Stats()
        self._advancing = asyncio.Lock()

    async def token(self, request: Request) -> Response:
        self.stats.token_request()
        fields = credentials(
            request.headers.get("content-type", ""),
            await request.body(),
            request.headers.get("authorization"),
        )
        status, body = self.tokens.grant(fields)
        return json_response(status, body)

    def api_route(self, endpoint: Endpoint) -> Handler:
        async def handle(request: Request) -> Response:
            return await self._serve(request, endpoint.template, endpoint)

        return handle

    async def unmatched(self, request: Request) -> Response:
        return await self._serve(request, UNMATCHED, None)

    async def _serve(self, request: Request, route: str, endpoint: Endpoint | None) -> Response:
        self.stats.request(route)
        status = 500
        try:
            response = await self._answer(request, endpoint)
            status = response.status_code
            return response
        finally:
            self.stats.done(status)

    async def _answer(self, request: Request, endpoint: Endpoint | None) -> Response:
        # Always yield once, so overlapping requests are seen as concurrent even with no latency.
        await asyncio.sleep(self.settings.latency_ms / 1000)
        verdict = self.faults.judge()
        if verdict.fault is not None:
            self.stats.fault(verdict.fault.kind)
            fault = verdict.fault
            return json_response(
                fault.status, {"message": fault.message}, verdict.headers | fault.headers
            )
        if endpoint is None:
            path = request.url.path.lstrip("/")
            return json_response(404, {"message": f"The route {path} could not be found."})
        if not self.tokens.valid(request.headers.get("authorization")):
            self.stats.unauthorized()
            headers = verdict.headers | {"WWW-Authenticate": "Bearer"}
            return json_response(401, UNAUTHENTICATED, headers)
        try:
            body = self._body(request, endpoint)
        except ApiError as error:
            return json_response(error.status, error.body(), verdict.headers)
        if verdict.cut is not None:
            self.stats.fault("malformed")
            body = verdict.malform(body)
        return Response(body, 200, verdict.headers, media_type="application/json")

    def _body(self, request: Request, endpoint: Endpoint) -> bytes:
        params = request.path_params
        if endpoint.kind == "list":
            url = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
            return list_body(self.query.list(endpoint, params, request.query_params), url)
        return self.query.retrieve(endpoint, params).raw

    async def stats_endpoint(self, request: Request) -> Response:
        return json_response(200, self.stats.snapshot())

    async def reset_stats(self, request: Request) -> Response:
        self.stats.reset()
        return json_response(200, self.stats.snapshot())

    async def advance(self, request: Request) -> Response:
        """``POST /_simulator/advance?days=1``: live the days, then deliver their webhook events.

        Runs on the server's event loop, so no API request ever sees a half-advanced world.
        """
        raw = request.query_params.get("days", "1")
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
            message = f"The days field must be an integer between 1 and {MAX_DAYS}."
            return json_response(422, {"message": message, "errors": {"days": [message]}})
        async with self._advancing:
            change = advance(self.world, int(raw))
            events = change.events(self.settings.client_id)
            url = self.settings.webhook_url
            delivery = await deliver(events, url, self.settings.webhook_secret) if url else None
        return json_response(
            200,
            {
                "days": change.days,
                "today": change.today.isoformat(),
                "created": change.created(),
                "events": len(events),
                "by_event": change.by_event(),
                "webhook": {"configured": url is not None}
                | (delivery.as_dict() if delivery else {}),
            },
        )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return json_response(exc.status_code, {"message": exc.detail}, getattr(exc, "headers", None))


def create_app(world: World, settings: SimulatorSettings) -> FastAPI:
    simulator = Simulator(world, settings)
    app = FastAPI(
        title="Benchling In Vivo API simulator",
        description="A synthetic In Vivo tenant served with the real API's routes and shapes.",
        docs_url="/_simulator/docs",
        redoc_url=None,
        openapi_url="/_simulator/openapi.json",
    )
    app.state.simulator = simulator
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_api_route(TOKEN_PATH, simulator.token, methods=["POST"], summary="Create a token")
    app.add_api_route(
        STATS_PATH, simulator.stats_endpoint, methods=["GET"], include_in_schema=False
    )
    app.add_api_route(
        f"{STATS_PATH}/reset", simulator.reset_stats, methods=["POST"], include_in_schema=False
    )
    app.add_api_route(ADVANCE_PATH, simulator.advance, methods=["POST"], include_in_schema=False)
    for endpoint in endpoints():
        resource = endpoint.resource
        app.add_api_route(
            API_PREFIX + endpoint.template,
            simulator.api_route(endpoint),
            methods=["GET"],
            name=f"{resource.name}:{endpoint.kind}:{endpoint.template}",
            summary=f"{endpoint.kind.capitalize()} {resource.name}",
            description=resource.description,
            tags=[resource.name],
        )
    app.add_api_route(
        API_PREFIX + "/{rest:path}", simulator.unmatched, methods=["GET"], include_in_schema=False
    )
    return app
