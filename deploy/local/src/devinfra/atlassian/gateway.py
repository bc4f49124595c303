"""The API gateway in front of the products: request log, injected rate limits, bearer tokens
and scopes.

Tokens are checked against the local identity provider's introspection (`/__control/introspect`),
unless a test refused the token. A token that is missing, inactive or refused is answered the
way each API answers an expired token through api.atlassian.com: 401 on the platform and on
Jira, 403 on Confluence v1, 404 on Confluence v2. An active token without every scope the
operation lists (`operations.OPERATIONS`) gets 401 "Unauthorized; scope does not match".
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from devinfra.atlassian import errors
from devinfra.atlassian.operations import Api, Operation
from devinfra.atlassian.state import STATE, RateLimit, Site

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CONTROL_PREFIX = "/__control/"


@dataclass(frozen=True)
class Caller:
    account_id: str
    scopes: frozenset[str]


CALLER = web.RequestKey("caller", Caller)
LOG_ENTRY = web.RequestKey("log_entry", dict[str, Any])


def caller_of(request: web.Request) -> Caller:
    return request[CALLER]


def site_of(request: web.Request) -> Site:
    site = request.app[STATE].sites.get(request.match_info["cloud_id"])
    if site is None:
        raise errors.unknown_site(request.path)
    return site


def _refusal(api: Api) -> web.HTTPException:
    if api is Api.CONFLUENCE_V1:
        return errors.gateway(403, errors.V1_FORBIDDEN)
    if api is Api.CONFLUENCE_V2:
        return errors.v2_not_found()
    return errors.gateway(401, errors.GATEWAY_UNAUTHORIZED)


async def authenticate(request: web.Request, api: Api) -> Caller:
    state = request.app[STATE]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or state.is_refused(token):
        raise _refusal(api)
    assert state.http is not None
    try:
        async with state.http.post(state.introspect_url, json={"token": token}) as resp:
            info = await resp.json()
    except aiohttp.ClientError as exc:
        raise web.HTTPBadGateway(text=f"identity provider unreachable: {exc}") from exc
    if not info.get("active"):
        raise _refusal(api)
    return Caller(str(info.get("sub", "")), frozenset(str(info.get("scope", "")).split()))


def guard(operation: Operation, handler: Handler) -> Handler:
    """`handler` behind the gateway: an active token with every scope, on a known site."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        entry = request.get(LOG_ENTRY)
        if entry is not None:
            entry["operation"] = operation.name
        caller = await authenticate(request, operation.api)
        if not operation.scopes <= caller.scopes:
            raise errors.gateway(401, errors.SCOPE_MISMATCH)
        if "cloud_id" in request.match_info:
            site_of(request)
        request[CALLER] = caller
        return await handler(request)

    return guarded


# --- middlewares --------------------------------------------------------------------------


@web.middleware
async def log_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Log every API call (never an Authorization value, only its scheme)."""
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    body: Any = None
    if request.can_read_body:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = raw.decode("utf-8", "replace")
    entry: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "raw_path": request.raw_path.split("?", 1)[0],
        "query": dict(request.query),
        "json": body,
        "authorization": request.headers.get("Authorization", "").partition(" ")[0] or None,
        "operation": None,
        "status": None,
    }
    request.app[STATE].requests.append(entry)
    request[LOG_ENTRY] = entry
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        entry["status"] = exc.status
        raise
    entry["status"] = response.status
    return response


def _limited(limit: RateLimit) -> web.HTTPException:
    headers: dict[str, str] = {}
    if limit.retry_after is not None:
        headers["Retry-After"] = str(limit.retry_after)
    # Only every other limited answer carries X-RateLimit-Reset, and with minute precision, so
    # a client that trusts it (or any single header) is caught.
    if limit.answered % 2 == 0:
        reset = datetime.now(UTC) + timedelta(seconds=limit.retry_after or 60)
        headers["X-RateLimit-Reset"] = reset.strftime("%Y-%m-%dT%H:%MZ")
    limit.answered += 1
    return errors.json_error(limit.status, errors.RATE_LIMITED[limit.status], headers)


@web.middleware
async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    faults = request.app[STATE].faults
    limit = faults.rate_limit
    if request.path.startswith(CONTROL_PREFIX) or limit is None or limit.remaining <= 0:
        return await handler(request)
    limit.remaining -= 1
    raise _limited(limit)
