"""Record the API's answers once, replay them with no server: the pipeline's own cost per record."""

from __future__ import annotations

import httpx


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests to the network and keeps every answer, keyed by method and full URL."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.answers: dict[tuple[str, str], tuple[int, list[tuple[bytes, bytes]], bytes]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        self.answers[(request.method, str(request.url))] = (
            response.status_code,
            list(response.headers.raw),
            body,
        )
        return httpx.Response(response.status_code, headers=response.headers.raw, content=body)

    async def aclose(self) -> None:
        await self._inner.aclose()


class ReplayTransport(httpx.AsyncBaseTransport):
    """Answers from a recording; anything not recorded is a 404 (the benchmark is then wrong)."""

    def __init__(self, answers: dict[tuple[str, str], tuple[int, list, bytes]]) -> None:
        self._answers = answers

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.method, str(request.url))
        if key not in self._answers and request.method == "POST":
            key = next(k for k in self._answers if k[0] == "POST")  # the token
        status, headers, body = self._answers.get(key, (404, [], b'{"message":"not recorded"}'))
        return httpx.Response(status, headers=headers, content=body)
