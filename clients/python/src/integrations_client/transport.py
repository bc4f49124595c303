"""One HTTP request to one service, as the contract wants it made: with the right token,
retried when that is safe, and its answer turned into a value or a typed exception.

Retries are bounded (`RetryPolicy.attempts` tries in all) with exponential backoff and jitter:
- a 503 is retried for every method: the contract's 503s (`provider_unavailable`,
  `auth_service_unavailable`, a service not ready) say nothing was done. Its `Retry-After` is
  honoured up to `max_delay`. `system_profile_unavailable` is not retried: it is configuration
  (no system OAuth app), not a passing state.
- a connection error or a timeout is retried only for a request that is safe to repeat: GET,
  PUT, DELETE, and the POSTs the client marks so (an install: the same template again gives the
  same installation; an access token; a run carrying an idempotency key). The request may have
  been carried out, and repeating anything else could do it twice.
Nothing else is retried: a 4xx says the request itself is wrong.

A fresh token is asked for on each attempt, so a retry never sends an expired one.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from integrations_client.errors import ServiceUnreachable, UnexpectedResponse, problem_error
from integrations_client.models import REVEAL, RequestBody
from integrations_client.tokens import Scope, ServiceName, TokenFunction, TokenRequest

__all__ = [
    "IDEMPOTENT_METHODS",
    "NO_RETRIES",
    "RetryPolicy",
    "ServiceUrls",
    "Transport",
    "segment",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
NOT_RETRIED_CODES = frozenset({"system_profile_unavailable"})
USER_AGENT = "integrations-client/0.1"
DEFAULT_PORTS: Mapping[str, int] = {
    "auth-service": 8081,
    "integration-service": 8082,
    "template-service": 8083,
    "tool-service": 8084,
}
ENV_NAMES: Mapping[str, str] = {
    "auth-service": "AUTH_SERVICE_URL",
    "integration-service": "INTEGRATION_SERVICE_URL",
    "template-service": "TEMPLATE_SERVICE_URL",
    "tool-service": "TOOL_SERVICE_URL",
}


@dataclass(frozen=True)
class ServiceUrls:
    """The services' base URLs (a path prefix is kept: `https://gw.example.com/auth`)."""

    auth: str
    integration: str
    template: str
    tool: str | None = None

    def __post_init__(self) -> None:
        for name in ("auth", "integration", "template", "tool"):
            url = getattr(self, name)
            if url is None:
                continue
            parts = urlsplit(url)
            # The URL is not echoed: one with a user-info part carries a password.
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"the {name} URL must be an http:// or https:// URL")
            if "@" in parts.netloc:
                raise ValueError(
                    f"the {name} URL must not carry credentials: calls carry a bearer token"
                )
            if parts.query or parts.fragment:
                raise ValueError(f"the {name} URL must have no query or fragment")

    @classmethod
    def local(cls, host: str = "127.0.0.1") -> ServiceUrls:
        """The default ports of `make run` (README)."""
        port = DEFAULT_PORTS
        return cls(
            auth=f"http://{host}:{port['auth-service']}",
            integration=f"http://{host}:{port['integration-service']}",
            template=f"http://{host}:{port['template-service']}",
            tool=f"http://{host}:{port['tool-service']}",
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServiceUrls:
        """`AUTH_SERVICE_URL`, `INTEGRATION_SERVICE_URL`, `TEMPLATE_SERVICE_URL` and
        `TOOL_SERVICE_URL` (of `os.environ` by default), each defaulting to its local URL."""
        environ = os.environ if environ is None else environ
        local = cls.local()
        return cls(
            auth=environ.get(ENV_NAMES["auth-service"]) or local.auth,
            integration=environ.get(ENV_NAMES["integration-service"]) or local.integration,
            template=environ.get(ENV_NAMES["template-service"]) or local.template,
            tool=environ.get(ENV_NAMES["tool-service"]) or local.tool,
        )

    def base(self, service: ServiceName) -> str:
        url = {
            "auth-service": self.auth,
            "integration-service": self.integration,
            "template-service": self.template,
            "tool-service": self.tool,
        }[service]
        if url is None:
            raise ValueError(f"no base URL given for {service}")
        return url.rstrip("/")


def _random() -> float:
    # Jitter only spreads retries apart; it needs no cryptographic randomness.
    return random.random()  # noqa: S311


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` tries in all; the n-th retry waits between half and all of
    `min(max_delay, base_delay * 2**(n-1))` ("equal jitter"), or the answer's `Retry-After`
    when that is longer (up to `max_delay`). `sleep` and `random` are there for tests."""

    attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)
    random: Callable[[], float] = field(default=_random, repr=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """How long to wait before retry number `retry` (1 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        wait = ceiling / 2 + self.random() * ceiling / 2
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_delay))
        return wait


NO_RETRIES = RetryPolicy(attempts=1)


def segment(value: str) -> str:
    """One path segment, percent-encoded, so an id can never change which route is called."""
    if not value:
        raise ValueError("an id in a path must not be empty")
    return quote(value, safe="")


def _retry_after(header: str | None) -> float | None:
    if header is None:
        return None
    try:
        seconds = float(header)
    except ValueError:
        return None  # an HTTP date: rare from these services; fall back to our own backoff
    return seconds if seconds >= 0 else None


def _decode(raw: bytes) -> Any:
    if not raw.strip():
        return None
    return json.loads(raw)


@dataclass
class Answer:
    status: int
    body: Any


class Transport:
    """Sends requests through one aiohttp session; owns it only when it created it."""

    def __init__(
        self,
        urls: ServiceUrls,
        tokens: TokenFunction,
        *,
        session: aiohttp.ClientSession | None,
        retry: RetryPolicy,
        timeout: float,
    ) -> None:
        self.urls = urls
        self.retry = retry
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._tokens = tokens
        self._session = session
        self._owns_session = session is None

    def _session_in_use(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop, as aiohttp wants.
        if self._session is None or (self._owns_session and self._session.closed):
            self._session = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()

    async def _token(self, request: TokenRequest) -> str:
        value = self._tokens(request)
        token = await value if inspect.isawaitable(value) else value
        if not isinstance(token, str) or not token:
            raise TypeError("the token function must return a non-empty string")
        return token

    async def request(
        self,
        service: ServiceName,
        method: str,
        path: str,
        *,
        scope: Scope | None = None,
        app_id: str | None = None,
        query: Mapping[str, str | int | None] | None = None,
        body: RequestBody | None = None,
        idempotent: bool | None = None,
    ) -> Answer:
        url = f"{self.urls.base(service)}{path}"
        wanted = TokenRequest(
            service, scope or (Scope.READ if method == "GET" else Scope.WRITE), app_id
        )
        safe_to_repeat = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        params = {name: str(value) for name, value in (query or {}).items() if value is not None}
        payload = (
            body.model_dump(mode="json", exclude_none=True, by_alias=True, context=REVEAL)
            if body is not None
            else None
        )
        session = self._session_in_use()
        attempt = 0
        while True:
            attempt += 1
            headers = {
                "Authorization": f"Bearer {await self._token(wanted)}",
                "Accept": "application/json, application/problem+json",
            }
            try:
                async with session.request(
                    method,
                    url,
                    params=params,
                    json=payload,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                ) as response:
                    status = response.status
                    raw = await response.read()
                    retry_after = _retry_after(response.headers.get("Retry-After"))
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as exc:
                if not safe_to_repeat or attempt >= self.retry.attempts:
                    reason = str(exc) or type(exc).__name__
                    raise ServiceUnreachable(service, method, url, attempt, reason) from exc
                await self.retry.sleep(self.retry.delay(attempt))
                continue
            try:
                decoded = _decode(raw)
            except ValueError:
                if status < 400:
                    raise UnexpectedResponse(
                        service, method, url, status, "the body is not JSON"
                    ) from None
                decoded = None  # an error page from a proxy: the status still says enough
            if status >= 400:
                error = problem_error(
                    status,
                    decoded if isinstance(decoded, dict) else None,
                    service=service,
                    method=method,
                    url=url,
                )
                if (
                    status == 503
                    and error.code not in NOT_RETRIED_CODES
                    and attempt < self.retry.attempts
                ):
                    await self.retry.sleep(self.retry.delay(attempt, retry_after))
                    continue
                raise error
            if status >= 300:
                raise UnexpectedResponse(service, method, url, status, "a redirect")
            return Answer(status, decoded)
