"""One HTTP request done properly: token, budget, bounded concurrency, retries, one-line errors.

Source-neutral: a source subclasses ``Requester`` with how it obtains a token.

Everything above this module thinks in resources and pages; everything here thinks in requests.
Order of gates for each attempt: token (may itself be a request), concurrency slot, ``Retry-After``
pause, rate limiter, send, and the limiter is told when the answer is back. The limiter is passed last
so that the moment it lets a request go is the moment the request actually leaves; waiting for a
slot after the limiter would let its accounting and the real requests drift apart and break the
rolling-window promise.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Generic, NoReturn, Protocol, TypeVar

import httpx
import msgspec
import orjson
from pydantic import ValidationError
from tenacity import RetryCallState

from invivo_pipeline.core.auth import AccessToken, TokenProvider
from invivo_pipeline.core.errors import (
    ApiError,
    ApiUnreachableError,
    AuthenticationError,
    ClientError,
    DeadlineExceededError,
    MalformedResponseError,
    Redactor,
    one_line,
    server_message,
)
from invivo_pipeline.core.metrics import ClientMetrics
from invivo_pipeline.core.ratelimit import PauseGate, RateLimiter
from invivo_pipeline.core.response_limits import check_json_limits
from invivo_pipeline.core.retry import (
    RETRYABLE_STATUSES,
    Cause,
    RetryableFailure,
    RetryPolicy,
    parse_retry_after,
)
from invivo_pipeline.core.validation import field_path

logger = logging.getLogger("invivo_pipeline.client")

T = TypeVar("T")
Parse = Callable[[Any], T]
"""Reads a body decoded from JSON; a ``FromBytes`` reads the body's bytes itself."""


@dataclass(frozen=True)
class FromBytes(Generic[T]):
    """A parser of the raw body, for answers too large to decode into Python objects whole."""

    parse: Callable[[bytes], T]


def user_agent() -> str:
    try:
        version = metadata.version("invivo-pipeline")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"invivo-pipeline/{version} httpx/{httpx.__version__}"


def describe_validation_error(exc: ValidationError, limit: int = 3) -> str:
    """Field paths and error kinds only: input values could be a token or a whole page."""
    parts = [f"{field_path(e['loc'], '<body>')}: {e['type']}" for e in exc.errors()[:limit]]
    more = exc.error_count() - limit
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


class TransportSettings(Protocol):
    """What the requester reads of a source's configuration (``ClientConfig``, ``CytobankConfig``)."""

    @property
    def base_url(self) -> str: ...
    @property
    def concurrency(self) -> int: ...
    @property
    def timeout_s(self) -> float: ...
    @property
    def connect_timeout_s(self) -> float: ...
    @property
    def max_retries(self) -> int: ...
    @property
    def backoff_base_s(self) -> float: ...
    @property
    def backoff_max_s(self) -> float: ...
    @property
    def connect_retries(self) -> int: ...
    @property
    def retry_after_max_s(self) -> float: ...
    @property
    def request_deadline_s(self) -> float: ...
    @property
    def run_deadline_s(self) -> float | None: ...
    @property
    def max_page_bytes(self) -> int: ...
    @property
    def max_json_depth(self) -> int: ...


class _Unauthorized(Exception):
    def __init__(self, token: str, message: str) -> None:
        super().__init__(message)
        self.token = token


class Requester:
    """Requests to one API; a source subclasses it to say how a token is obtained
    (``_fetch_token``), and may give some resources a longer timeout or read raw bodies."""

    def __init__(
        self,
        config: TransportSettings,
        *,
        metrics: ClientMetrics,
        rate_limiter: RateLimiter,
        secrets: Iterable[str] = (),
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.redact = Redactor(list(secrets))
        self._limiter = rate_limiter
        self._gate = PauseGate()
        self._slots = asyncio.Semaphore(config.concurrency)
        self._policy = RetryPolicy(
            max_retries=config.max_retries,
            backoff_base_s=config.backoff_base_s,
            backoff_max_s=config.backoff_max_s,
            connect_retries=config.connect_retries,
        )
        self._auth = TokenProvider(self._fetch_token)
        run_deadline = config.run_deadline_s
        self._run_ends_at = None if run_deadline is None else time.monotonic() + run_deadline
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s),
            limits=httpx.Limits(
                max_connections=config.concurrency,
                max_keepalive_connections=config.concurrency,
            ),
            headers={
                "Accept": "application/json",
                "User-Agent": user_agent(),
                **(headers or {}),
            },
            follow_redirects=False,  # a redirect to another host would carry the bearer token
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def token_handoff(self) -> tuple[str, float] | None:
        """A valid token to hand to another process's requester (``adopt_token``)."""
        await self._auth.token()
        return self._auth.handoff()

    def adopt_token(self, handed: tuple[str, float] | None) -> None:
        self._auth.adopt(handed)

    def run_seconds_left(self) -> float | None:
        """What remains of ``run_deadline_s`` (None: no deadline), for a worker's own client."""
        if self._run_ends_at is None:
            return None
        return max(0.001, self._run_ends_at - time.monotonic())

    async def get(
        self,
        url: str,
        params: dict[str, str | int] | None,
        *,
        resource: str,
        parse: Parse[T] | FromBytes[T],
    ) -> tuple[T, str]:
        """GET ``url``; returns the parsed body and the exact URL requested (for messages)."""
        async with self._within_run_deadline(url, params):
            return await self._get(url, params, resource=resource, parse=parse)

    @asynccontextmanager
    async def _within_run_deadline(
        self, url: str, params: dict[str, str | int] | None
    ) -> AsyncIterator[None]:
        """Every request of this client ends by ``run_deadline_s`` after it was made, if set.

        The URL is spelled out only for the error, not for every request: it costs a URL parse.
        """
        if self._run_ends_at is None:
            yield
            return
        loop = asyncio.get_running_loop()
        ends_at = loop.time() + (self._run_ends_at - time.monotonic())
        scope = asyncio.timeout_at(ends_at)
        try:
            async with scope:
                yield
        except TimeoutError:
            if not scope.expired():
                raise
            shown = _display(url, params)
            raise DeadlineExceededError(
                f"GET {shown} was cut off by the run deadline: the run took longer than "
                f"{self.config.run_deadline_s:g} s (run_deadline_s)",
                method="GET",
                url=shown,
            ) from None

    async def _get(
        self,
        url: str,
        params: dict[str, str | int] | None,
        *,
        resource: str,
        parse: Parse[T] | FromBytes[T],
    ) -> tuple[T, str]:
        refreshed = False
        while True:
            try:
                return await self._with_retries(
                    "GET", url, params, resource=resource, parse=parse, authenticated=True
                )
            except _Unauthorized as exc:
                if refreshed:
                    raise AuthenticationError(
                        self.redact(
                            f"GET {_display(url, params)} is still unauthorized (HTTP 401) after "
                            f"refreshing the access token: {exc}"
                        )
                    ) from None
                refreshed = True
                logger.info("GET %s: HTTP 401, refreshing the access token", url)
                self._auth.invalidate(exc.token)

    async def _fetch_token(self) -> AccessToken:
        raise NotImplementedError("a source's requester says how it obtains a token")

    async def _with_retries(
        self,
        method: str,
        url: str,
        params: dict[str, str | int] | None,
        *,
        resource: str,
        parse: Parse[T] | FromBytes[T],
        authenticated: bool,
        json_body: dict[str, str] | None = None,
    ) -> tuple[T, str]:
        def before_sleep(state: RetryCallState) -> None:
            assert state.outcome is not None
            failure = state.outcome.exception()
            assert isinstance(failure, RetryableFailure)
            self.metrics[resource].retries[failure.cause.value] += 1
            delay = state.upcoming_sleep
            logger.warning(
                "attempt %d failed, retrying in %.2f s: %s", state.attempt_number, delay, failure
            )

        attempts = 0
        try:
            async for attempt in self._policy.retrying(before_sleep):
                attempts += 1
                with attempt:
                    result = await self._attempt(
                        method,
                        url,
                        params,
                        resource=resource,
                        parse=parse,
                        authenticated=authenticated,
                        json_body=json_body,
                    )
        except RetryableFailure as exc:
            raise exc.final(attempts) from None
        return result

    async def _attempt(
        self,
        method: str,
        url: str,
        params: dict[str, str | int] | None,
        *,
        resource: str,
        parse: Parse[T] | FromBytes[T],
        authenticated: bool,
        json_body: dict[str, str] | None,
    ) -> tuple[T, str]:
        token = await self._auth.token() if authenticated else None
        headers = {"Authorization": f"Bearer {token}"} if token else None
        if params and "?" not in url:
            # The same URL httpx would build, parsed once instead of twice: a third less overhead
            # per request.
            url, params = f"{url}?{httpx.QueryParams(params)}", None
        request = self._http.build_request(
            method,
            url,
            params=params,
            headers=headers,
            json=json_body,
            timeout=self._timeout(resource),
        )
        shown = str(request.url)
        stats = self.metrics[resource]
        async with self._slots:
            await self._gate.wait()
            await self._limiter.acquire()
            stats.requests += 1
            started = time.monotonic()
            try:
                response, content = await self._send(method, shown, request)
            finally:
                self._limiter.release()
                elapsed = time.monotonic() - started
                stats.seconds += elapsed
        stats.bytes += len(content)
        logger.debug(
            "%s %s -> %d (%d bytes, %.3f s)",
            method,
            shown,
            response.status_code,
            len(content),
            elapsed,
        )
        if response.is_success:
            return self._parse(method, shown, content, parse), shown
        self._raise_status(method, shown, response, content, token)

    async def _send(
        self, method: str, url: str, request: httpx.Request
    ) -> tuple[httpx.Response, bytes]:
        """Send and read the whole answer within ``request_deadline_s``, and no more than
        ``max_page_bytes`` of it: httpx's timeouts are per read, so a byte every few seconds would
        never trip them, and reading an answer whole before looking at its size lets a server fill
        the memory."""
        deadline = self.config.request_deadline_s
        scope = asyncio.timeout(deadline)
        try:
            async with scope:
                response = await self._http.send(request, stream=True)
                try:
                    content = await self._read_capped(method, url, response)
                finally:
                    await response.aclose()
        except TimeoutError:
            if not scope.expired():
                raise
            raise DeadlineExceededError(
                f"{method} {url} did not finish within its {deadline:g} s deadline "
                "(request_deadline_s): the server is answering too slowly",
                method=method,
                url=url,
            ) from None
        except httpx.TransportError as exc:
            self._raise_transport(method, url, exc)
        return response, content

    async def _read_capped(self, method: str, url: str, response: httpx.Response) -> bytes:
        cap = self.config.max_page_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise self._too_large(method, url, f"it declares {int(declared):,} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise self._too_large(method, url, f"more than {cap:,} bytes arrived")
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, method: str, url: str, what: str) -> MalformedResponseError:
        return MalformedResponseError(
            f"{method} {url} returned an answer larger than the {self.config.max_page_bytes:,}-byte "
            f"cap (max_page_bytes): {what}; it was not read",
            method=method,
            url=url,
        )

    def _timeout(self, resource: str) -> httpx.Timeout | Any:
        """The client-wide timeout; a subclass may give some resources a longer one."""
        return httpx.USE_CLIENT_DEFAULT

    def _parse(self, method: str, url: str, content: bytes, parse: Parse[T] | FromBytes[T]) -> T:
        read = parse.parse if isinstance(parse, FromBytes) else lambda c: parse(orjson.loads(c))
        if problem := check_json_limits(content, self.config.max_json_depth):
            # What the bytes are, not how they travelled: a retry would get the same answer.
            raise MalformedResponseError(
                f"{method} {url} returned a body that cannot be read safely: {problem}",
                method=method,
                url=url,
            )
        try:
            return read(content)
        except msgspec.ValidationError as exc:  # a DecodeError too: the shape, not the syntax
            reason = f"unexpected shape ({exc})"
        except (orjson.JSONDecodeError, msgspec.DecodeError) as exc:
            reason = f"not JSON ({exc})" if content else "empty body"
        except ValidationError as exc:
            reason = f"unexpected shape ({describe_validation_error(exc)})"
        except (TypeError, ValueError) as exc:
            reason = f"unexpected shape ({exc})"
        self._malformed(method, url, reason)

    def _malformed(self, method: str, url: str, reason: str) -> NoReturn:
        reason = self.redact(one_line(reason))

        def final(attempts: int | None) -> ClientError:
            return MalformedResponseError(
                f"{method} {url} returned a malformed body{_attempts(attempts)}: {reason}",
                method=method,
                url=url,
            )

        raise RetryableFailure(Cause.MALFORMED, final)

    def _raise_transport(self, method: str, url: str, exc: httpx.TransportError) -> NoReturn:
        detail = self.redact(one_line(str(exc) or type(exc).__name__))
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            reason = _connect_reason(exc, detail)

            def unreachable(attempts: int | None) -> ClientError:
                return ApiUnreachableError(
                    f"cannot reach {self.config.base_url}: {reason} ({method} {url}"
                    f"{',' if attempts else ''}{_attempts(attempts)})",
                    method=method,
                    url=url,
                )

            raise RetryableFailure(Cause.CONNECT, unreachable)
        if isinstance(exc, httpx.TimeoutException):
            cause, what = Cause.TIMEOUT, f"timed out ({type(exc).__name__})"
        else:
            cause, what = Cause.TRANSPORT, f"lost the connection ({type(exc).__name__}: {detail})"

        def failed(attempts: int | None) -> ClientError:
            return ApiError(
                f"{method} {url} {what}{_attempts(attempts)}",
                method=method,
                url=url,
                status=None,
                server_message="",
            )

        raise RetryableFailure(cause, failed)

    def _raise_status(
        self, method: str, url: str, response: httpx.Response, content: bytes, token: str | None
    ) -> NoReturn:
        status = response.status_code
        message = self.redact(server_message(content))
        said = f": {message}" if message else ""
        if token is None and status in (400, 401, 403):
            raise AuthenticationError(
                f"invalid client credentials for {self.config.base_url} "
                f"(HTTP {status} from {method} {url}){said}"
            )
        if status == 401 and token is not None:
            raise _Unauthorized(token, message or "Unauthenticated")

        def api_error(attempts: int | None = None) -> ClientError:
            return ApiError(
                f"{method} {url} failed with HTTP {status}{_attempts(attempts)}{said}",
                method=method,
                url=url,
                status=status,
                server_message=message,
            )

        if status not in RETRYABLE_STATUSES:
            raise api_error()
        if status == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            if wait is not None and wait > self.config.retry_after_max_s:
                raise ApiError(
                    f"{method} {url} failed with HTTP 429: the server asks to wait {wait:.0f} s, "
                    f"more than retry_after_max_s={self.config.retry_after_max_s:.0f}{said}",
                    method=method,
                    url=url,
                    status=status,
                    server_message=message,
                )
            if wait is not None:
                self._gate.pause_for(wait)
            raise RetryableFailure(Cause.RATE_LIMITED, api_error, retry_after=wait)
        raise RetryableFailure(Cause.SERVER_ERROR, api_error)


def _attempts(attempts: int | None) -> str:
    if attempts is None:
        return ""
    return f" after {attempts} attempt{'s' if attempts != 1 else ''}"


def _display(url: str, params: dict[str, str | int] | None) -> str:
    return str(httpx.URL(url, params=params)) if params else url


def _connect_reason(exc: httpx.TransportError, detail: str) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect timed out"
    lowered = detail.lower()
    if "refused" in lowered or "all connection attempts failed" in lowered:
        return "connection refused"
    if any(s in lowered for s in ("name or service", "nodename", "getaddrinfo", "name resolution")):
        return "host name not found"
    return detail
