"""tool-service's metrics and its per-request context, as ASGI middleware (it runs on Starlette,
so the aiohttp middlewares of `platform_core.middleware` do not apply; this does the same).

Every request gets a request id (`X-Request-Id` when well-formed, else a new one) bound to each
log line made while serving it, one access-log line (method, route, status, duration; never a
header, so never a token) and the request metrics. `ToolMetrics` adds to the platform's
`ServiceMetrics` what is particular to MCP: tool calls by outcome, change notifications sent, and
the notification streams clients hold open.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from prometheus_client import Counter, Gauge
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platform_core.logs import get_logger
from platform_core.observability import ServiceMetrics

log = get_logger("tool_service.http")

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class ToolMetrics(ServiceMetrics):
    def __init__(self) -> None:
        super().__init__()
        r = self.registry
        self.tool_calls = Counter(
            "mcp_tool_calls_total", "tools/call requests by outcome", ["outcome"], registry=r
        )
        self.list_changed = Counter(
            "mcp_tools_list_changed_total",
            "Tool-list change announcements sent to clients, by how they were delivered",
            ["channel"],
            registry=r,
        )
        self.streams_opened = Counter(
            "mcp_notification_streams_opened_total",
            "Notification streams clients opened: a session's GET stream (2025-11-25) or a "
            "subscriptions/listen stream (2026-07-28)",
            ["channel"],
            registry=r,
        )
        self.open_streams = Gauge(
            "mcp_notification_streams_open",
            "Notification streams open now",
            ["channel"],
            registry=r,
        )


class RequestContext:
    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        incoming = _header(scope, REQUEST_ID_HEADER) or ""
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self._app(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                route = _route_name(scope)
                method = str(scope.get("method", ""))
                self._metrics.observe_request(method, route, status, elapsed)
                log.info(
                    "request",
                    method=method,
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )


def _route_name(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None) if isinstance(route, BaseRoute) else None
    return str(path) if path else "unmatched"


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return bytes(value).decode("latin-1")
    return None
