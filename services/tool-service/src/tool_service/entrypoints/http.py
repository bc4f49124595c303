"""tool-service's own HTTP routes, beside `/mcp` (contract §0, §3 "Tools"):

- `GET /.well-known/oauth-protected-resource` and `.../oauth-protected-resource/mcp`: the RFC
  9728 metadata of the MCP endpoint. The first is where the 401 challenge points; the second
  is the path-suffixed location RFC 9728 §3.1 derives from the resource `{PUBLIC_BASE_URL}/mcp`,
  which MCP clients also try;
- `GET /healthz`, `GET /readyz` (template-service and RabbitMQ reachable, else 503),
  `GET /metrics`, `GET /openapi.json`, all without a token.

Anything else answers an RFC 9457 problem (`not_found`, `method_not_allowed`), as every service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from platform_core.errors import PROBLEM_CONTENT_TYPE, MethodNotAllowed, NotFound, ProblemError
from platform_core.observability import ServiceMetrics
from tool_service.domain.access import REQUIRED_SCOPE
from tool_service.entrypoints.schemas import Health, ProtectedResourceMetadata

READINESS_TIMEOUT_SECONDS = 2.0
METADATA_PATH = "/.well-known/oauth-protected-resource"


@dataclass(frozen=True)
class Probes:
    template_service: Callable[[], Awaitable[bool]]
    rabbitmq: Callable[[], bool]


def routes(
    metadata: ProtectedResourceMetadata,
    metrics: ServiceMetrics,
    probes: Probes,
    openapi: dict[str, Any],
) -> list[Route]:
    async def protected_resource(request: Request) -> Response:
        return _json(metadata.model_dump(mode="json"), headers={"Cache-Control": "max-age=300"})

    async def healthz(request: Request) -> Response:
        return _json(Health(status="ok").model_dump())

    async def readyz(request: Request) -> Response:
        checks = {
            "template_service": await _within(probes.template_service()),
            "rabbitmq": probes.rabbitmq(),
        }
        ready = all(checks.values())
        health = Health(status="ready" if ready else "unavailable", checks=checks)
        return _json(health.model_dump(), status=200 if ready else 503)

    async def prometheus(request: Request) -> Response:
        return Response(metrics.render(), headers={"Content-Type": "text/plain; version=0.0.4"})

    async def document(request: Request) -> Response:
        return _json(openapi)

    return [
        Route(METADATA_PATH, protected_resource, methods=["GET"]),
        Route(f"{METADATA_PATH}/mcp", protected_resource, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
        Route("/openapi.json", document, methods=["GET"]),
    ]


def protected_resource_metadata(
    resource: str, authorization_servers: tuple[str, ...]
) -> ProtectedResourceMetadata:
    return ProtectedResourceMetadata(
        resource=resource,
        authorization_servers=list(authorization_servers),
        bearer_methods_supported=["header"],
        scopes_supported=[REQUIRED_SCOPE.value],
        resource_name="Integrations platform tools (MCP)",
    )


async def problem_for_http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 as the RFC 9457 problems every service answers."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    error: ProblemError
    if status == 404:
        error = NotFound("No such resource")
    elif status == 405:
        error = MethodNotAllowed("This resource does not accept that method")
    else:
        error = ProblemError("The server could not complete the request")
    headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
    return Response(
        error.to_json(), status_code=error.status, media_type=PROBLEM_CONTENT_TYPE, headers=headers
    )


async def _within(check: Awaitable[bool]) -> bool:
    try:
        return await asyncio.wait_for(check, READINESS_TIMEOUT_SECONDS)
    except TimeoutError:
        return False


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)
