"""Outbound HTTP to providers (identity providers, their APIs), which cannot be aimed inward.

A tenant admin's profile chooses token URLs, so auth-service's calls must never reach an
internal address; template-service's calls to a provider's API follow the same rules. Owns the
provider `aiohttp.ClientSession` and what it may reach (`platform_core.addresses` decides):
a name is judged by every address it resolves to, inside the connector's resolver, and the
connector connects to exactly those addresses with no DNS cache in between, so a later
re-resolution (DNS rebinding) is judged again before it is used; an IP literal, which aiohttp
connects to without resolving, is judged by the session before any connection. Redirects are
refused, not followed (RFC 9110 §15.4: a 3xx names another destination, chosen by the
provider). No cookie is kept, since one session serves every tenant, and no proxy is taken from
the environment. Also owns reading a response within a size bound and its JSON object
(RFC 8259 §4) within a nesting bound.

Every exception here carries a message safe to log: a class of address, a status or a size,
never a URL, a query, a token or a secret.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from platform_core.addresses import (
    allowed,
    check_destination,
    check_provider_destination,
    classify,
    parse_ip_literal,
)

DEFAULT_CONNECTIONS = 100
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=10)
MAX_RESPONSE_BYTES = 1 << 20
MAX_JSON_DEPTH = 32
READ_CHUNK_BYTES = 1 << 16
RESOLVE_TIMEOUT_SECONDS = 5.0


class OutboundError(Exception):
    """A provider call refused or unusable; the message is safe to log."""


class DestinationRefused(OutboundError, aiohttp.ClientError):
    """The call would reach a destination it may not: nothing was sent there.

    An `aiohttp.ClientError` too, so code that treats any client error as a failed call still
    does; it is raised as itself, never wrapped in a connector error.
    """


class ResponseTooLarge(OutboundError):
    """The response body is (or says it is) larger than the caller's bound."""


class MalformedResponse(OutboundError):
    """The response body is not a JSON object within bounds."""


class GuardedResolver(AbstractResolver):
    """Resolves through `inner` and refuses a name if any of its addresses is not allowed."""

    def __init__(self, inner: AbstractResolver, *, allow_insecure_loopback: bool) -> None:
        self._inner = inner
        self._allow_insecure_loopback = allow_insecure_loopback

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if not results:
            raise DestinationRefused("host name resolves to no address")
        for result in results:
            self._judge(result["host"])
        return results

    def _judge(self, resolved: str) -> None:
        try:
            address = parse_ip_literal(resolved)
        except ValueError:
            address = None
        if address is None:
            raise DestinationRefused("host name resolves to something that is not an address")
        if not allowed(address, self._allow_insecure_loopback):
            raise DestinationRefused(f"host name resolves to {classify(address).value}")

    async def close(self) -> None:
        await self._inner.close()


# Sessions built by create_provider_session; request() refuses any other.
_GUARDED_SESSIONS: weakref.WeakSet[aiohttp.ClientSession] = weakref.WeakSet()


def create_provider_session(
    *,
    allow_insecure_loopback: bool,
    resolver: AbstractResolver | None = None,
    limit: int = DEFAULT_CONNECTIONS,
    timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    middlewares: tuple[aiohttp.ClientMiddlewareType, ...] = (),
) -> aiohttp.ClientSession:
    """The session for every provider call; create it inside the running event loop.

    `resolver` (default: aiohttp's `DefaultResolver`) is wrapped in a `GuardedResolver`; the
    session does not close a resolver it was given.
    """
    guarded = GuardedResolver(
        resolver if resolver is not None else aiohttp.DefaultResolver(),
        allow_insecure_loopback=allow_insecure_loopback,
    )
    connector = aiohttp.TCPConnector(resolver=guarded, limit=limit, use_dns_cache=False)
    session = aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        timeout=timeout,
        # The guard runs last, next to the connection, whatever the other middlewares do.
        middlewares=(*middlewares, _destination_guard(allow_insecure_loopback)),
    )
    _GUARDED_SESSIONS.add(session)
    return session


def _destination_guard(allow_insecure_loopback: bool) -> aiohttp.ClientMiddlewareType:
    async def guard(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        check_request_url(request.url, allow_insecure_loopback=allow_insecure_loopback)
        response = await handler(request)
        if 300 <= response.status < 400:
            response.close()  # unread: nothing of what a redirect says is used
            raise DestinationRefused(f"redirect refused (status {response.status})")
        return response

    return guard


def check_request_url(url: URL, *, allow_insecure_loopback: bool) -> None:
    """Raise DestinationRefused unless the scheme and a literal host are acceptable."""
    try:
        check_destination(
            url.scheme, url.raw_host or "", allow_insecure_loopback=allow_insecure_loopback
        )
    except ValueError as exc:
        raise DestinationRefused(str(exc)) from None


@asynccontextmanager
async def request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    data: Mapping[str, str] | bytes | None = None,
    timeout: aiohttp.ClientTimeout | None = None,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """One provider call through a session of `create_provider_session`, never redirected.

    Raises DestinationRefused for a refused destination or any 3xx answer (its body unread),
    and the usual `aiohttp.ClientError` / `TimeoutError` when the call fails.
    """
    if session not in _GUARDED_SESSIONS:
        raise TypeError("provider calls need a session from create_provider_session")
    async with session.request(
        method,
        url,
        headers=headers,
        data=data,
        timeout=timeout if timeout is not None else session.timeout,
        allow_redirects=False,
    ) as response:
        yield response


async def read_bounded(response: aiohttp.ClientResponse, limit_bytes: int) -> bytes:
    """The body, refused as soon as it is declared or streamed larger than `limit_bytes`."""
    declared = response.content_length
    if declared is not None and declared > limit_bytes:
        response.close()  # dropping the connection beats draining a body nobody reads
        raise ResponseTooLarge(f"response declares more than {limit_bytes} bytes")
    body = bytearray()
    while chunk := await response.content.read(min(READ_CHUNK_BYTES, limit_bytes + 1 - len(body))):
        body += chunk
        if len(body) > limit_bytes:
            response.close()
            raise ResponseTooLarge(f"response is larger than {limit_bytes} bytes")
    return bytes(body)


def parse_json_object(raw: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    """The JSON object in `raw` (strict UTF-8, no NaN or Infinity), else MalformedResponse."""
    value = parse_json_document(raw, max_depth=max_depth)
    if not isinstance(value, dict):
        raise MalformedResponse("response is not a JSON object")
    return value


def parse_json_document(raw: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Any JSON value in `raw`, within the same bounds (for APIs answering arrays)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedResponse("response is not valid UTF-8") from None
    if _nests_deeper(text, max_depth):
        raise MalformedResponse(f"response nests deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise MalformedResponse("response is not valid JSON") from None


_JSON_SIGNIFICANT = re.compile(r'[\[\]{}"\\]')


def _nests_deeper(text: str, max_depth: int) -> bool:
    """Whether brackets outside strings nest deeper than `max_depth`.

    Counted before parsing because the decoder recurses once per level: a few kilobytes of `[`
    would otherwise exhaust the stack.
    """
    depth, in_string, escaped_at = 0, False, -1
    for match in _JSON_SIGNIFICANT.finditer(text):
        char, at = match.group(), match.start()
        if in_string:
            if at == escaped_at:
                continue
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


async def check_provider_url_resolved(
    url: str,
    *,
    allow_insecure_loopback: bool,
    resolver: AbstractResolver | None = None,
    timeout_seconds: float = RESOLVE_TIMEOUT_SECONDS,
) -> str:
    """Return `url` if a provider URL may be it, its host resolved as a call would resolve it.

    Raises DestinationRefused saying why: the static rules of `check_provider_destination`, a
    host resolving to any address that is not allowed, or one that does not resolve in time.
    A later call is judged again, whatever the name resolves to by then.
    """
    try:
        check_provider_destination(url, allow_insecure_loopback=allow_insecure_loopback)
        parsed = URL(url)
    except ValueError as exc:
        raise DestinationRefused(str(exc)) from None
    check_request_url(parsed, allow_insecure_loopback=allow_insecure_loopback)
    host = parsed.raw_host or ""
    if parse_ip_literal(host) is None:
        await _resolve_guarded(
            host, parsed.port or 0, allow_insecure_loopback, resolver, timeout_seconds
        )
    return url


async def _resolve_guarded(
    host: str,
    port: int,
    allow_insecure_loopback: bool,
    resolver: AbstractResolver | None,
    timeout_seconds: float,
) -> None:
    inner = resolver if resolver is not None else aiohttp.DefaultResolver()
    guarded = GuardedResolver(inner, allow_insecure_loopback=allow_insecure_loopback)
    try:
        async with asyncio.timeout(timeout_seconds):
            await guarded.resolve(host, port, family=socket.AF_UNSPEC)
    except TimeoutError:
        raise DestinationRefused("host name did not resolve in time") from None
    except OSError:
        raise DestinationRefused("host name does not resolve") from None
    finally:
        if resolver is None:
            await inner.close()
