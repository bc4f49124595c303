"""tool-service's composition root: wires settings, adapters, the service layer and the
entrypoints into one Starlette app (served by uvicorn; the MCP SDK's Streamable HTTP transport is
ASGI, which is why tool-service is not an aiohttp app like the other services).

Nothing is built at import. `create_app` builds the object graph; the lifespan opens what needs
the running loop, in this order: the template-service client, the MCP session manager,
RabbitMQ, then the event consumer; shutdown runs the other way. Before uvicorn waits for open
connections to finish, `ToolService.before_shutdown` ends the `subscriptions/listen` streams
gracefully, so those clients are told the stream ended instead of being cut off.

Routes: `/mcp` (the bearer gate, then session bookkeeping, then the SDK's session manager) and
the routes of `entrypoints.http`, all behind the request-context middleware.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import ASGIApp

from platform_core.broker import Broker
from platform_core.logs import get_logger
from tool_service import __version__
from tool_service.adapters.template_client import TemplateServiceClient
from tool_service.entrypoints import events, http
from tool_service.entrypoints.auth import BearerGate
from tool_service.entrypoints.mcp import McpHandlers, build_server
from tool_service.entrypoints.notifications import (
    AppListeners,
    LegacySessions,
    McpAnnouncer,
    SessionActivity,
)
from tool_service.entrypoints.observability import RequestContext, ToolMetrics
from tool_service.entrypoints.openapi import build_openapi
from tool_service.service_layer.calls import ConsentLimits, ToolCalls
from tool_service.service_layer.catalog import ToolCatalog
from tool_service.service_layer.consent import ConsentWaiters
from tool_service.service_layer.reactions import Reactions
from tool_service.settings import SERVICE_NAME, ToolSettings

log = get_logger("tool_service.app")

MCP_PATH = "/mcp"


@dataclass
class ToolService:
    """The built service: its ASGI app and what its lifespan and shutdown hook reach."""

    app: Starlette
    listeners: AppListeners

    def before_shutdown(self) -> None:
        self.listeners.close()


def create_app(settings: ToolSettings) -> ToolService:
    metrics = ToolMetrics()
    templates = TemplateServiceClient(
        settings.template_service_url,
        settings.platform_jwt_secret.get_secret_value(),
        timeout_seconds=settings.template_service_timeout_seconds,
        run_timeout_seconds=settings.run_timeout_seconds,
    )
    catalog = ToolCatalog(templates, settings.tools_cache_seconds)
    sessions = LegacySessions(settings.session_idle_timeout_seconds)
    listeners = AppListeners(metrics)
    announcer = McpAnnouncer(sessions, listeners, metrics)
    waiters = ConsentWaiters()
    calls = ToolCalls(
        catalog,
        templates,
        announcer,
        waiters,
        ConsentLimits(settings.consent_wait_seconds, settings.consent_poll_seconds),
    )
    handlers = McpHandlers(
        catalog, calls, metrics, elicitation_timeout_seconds=settings.elicitation_timeout_seconds
    )
    server = build_server(handlers, listeners, sessions)
    manager = StreamableHTTPSessionManager(
        app=server,
        json_response=False,
        stateless=False,
        # Host/Origin checks guard servers that trust ambient credentials against DNS
        # rebinding; every request here must carry a bearer token, which a rebinding page cannot
        # obtain, and no cookie is ever accepted. The checks would only refuse legitimate
        # clients that reach the service under another name (a proxy, a cluster DNS name).
        security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        session_idle_timeout=settings.session_idle_timeout_seconds,
        max_request_body_size=settings.max_body_bytes,
        max_sessions=settings.max_sessions,
    )
    broker = Broker(settings.amqp_url, SERVICE_NAME)
    reactions = Reactions(catalog, announcer, waiters)

    mcp_endpoint: ASGIApp = BearerGate(
        SessionActivity(manager.handle_request, sessions, metrics),
        jwt_secret=settings.platform_jwt_secret.get_secret_value(),
        resource_metadata_url=settings.resource_metadata_url,
    )
    metadata = http.protected_resource_metadata(
        settings.resource_url, settings.authorization_servers
    )
    probes = http.Probes(template_service=templates.reachable, rabbitmq=broker.is_ready)
    openapi = build_openapi(SERVICE_NAME, __version__)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(templates)
            await stack.enter_async_context(manager.run())
            await broker.connect()
            stack.push_async_callback(broker.close)
            consumer = events.consumer(broker, metrics, settings, reactions)
            await consumer.start()
            stack.push_async_callback(consumer.stop, settings.shutdown_timeout_seconds)
            log.info("ready", queue=consumer.queue_name)
            yield

    app = Starlette(
        routes=[
            Route(MCP_PATH, mcp_endpoint, methods=["GET", "POST", "DELETE"]),
            *http.routes(metadata, metrics, probes, openapi),
        ],
        middleware=[Middleware(RequestContext, metrics=metrics)],
        exception_handlers={
            404: http.problem_for_http_error,
            405: http.problem_for_http_error,
        },
        lifespan=lifespan,
    )
    return ToolService(app, listeners)
