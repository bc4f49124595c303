"""The middlewares every service runs, outermost first.

`request_context`: a request id (taken from `X-Request-Id` when well-formed) bound to every log
line of the request, one access-log line, and the request metrics. `problem_responses`: renders
`ProblemError` as problem+json, maps aiohttp's own 404/405/413 to the same shape, and turns any
other exception into a bare 500 whose trace goes only to the log. `authenticate`: a bearer JWT on
every `/v1/` route; scopes and app restrictions are checked per route by `platform_core.api`.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from platform_core.api import CALLER_KEY, MAX_BODY_KEY
from platform_core.errors import (
    PROBLEM_CONTENT_TYPE,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ProblemError,
    Unauthenticated,
)
from platform_core.logs import get_logger
from platform_core.observability import METRICS_KEY
from platform_core.service_auth import TokenVerifier

RequestHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
VERIFIER_KEY = web.AppKey("token_verifier", TokenVerifier)
API_PREFIX = "/v1/"

log = get_logger("platform_core.http")


def problem_response(error: ProblemError) -> web.Response:
    return web.Response(
        status=error.status,
        text=error.to_json(),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=error.headers,
    )


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_context(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    started = time.perf_counter()
    status = 500
    with structlog.contextvars.bound_contextvars(request_id=request_id):
        try:
            response = await handler(request)
            status = response.status
            response.headers[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            elapsed = time.perf_counter() - started
            route = _route_name(request)
            request.app[METRICS_KEY].observe_request(request.method, route, status, elapsed)
            log.info(
                "request",
                method=request.method,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )


@web.middleware
async def problem_responses(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ProblemError as error:
        return problem_response(error)
    except web.HTTPRequestEntityTooLarge:
        return problem_response(
            PayloadTooLarge(f"The body is larger than {request.app[MAX_BODY_KEY]} bytes")
        )
    except web.HTTPNotFound:
        return problem_response(NotFound("No such resource"))
    except web.HTTPMethodNotAllowed as exc:
        # RFC 9110 §15.5.6: a 405 says which methods the resource does accept.
        allowed = ", ".join(sorted(exc.allowed_methods))
        return problem_response(
            MethodNotAllowed(
                "This resource does not accept that method", headers={"Allow": allowed}
            )
        )
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unhandled_error", method=request.method, route=_route_name(request))
        return problem_response(ProblemError("The server could not complete the request"))


@web.middleware
async def authenticate(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
    if request.path.startswith(API_PREFIX):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Send Authorization: Bearer <token>")
        request[CALLER_KEY] = request.app[VERIFIER_KEY].verify(token.strip())
    return await handler(request)
