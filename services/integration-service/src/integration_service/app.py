"""integration-service's composition root: wires settings, adapters and entrypoints into one app."""

from __future__ import annotations

from aiohttp import web

from integration_service import __version__
from integration_service.entrypoints import events, http
from integration_service.settings import SERVICE_NAME, IntegrationSettings
from platform_core.app import consumer_context, create_service_app


def create_app(settings: IntegrationSettings) -> web.Application:
    app = create_service_app(
        settings, service=SERVICE_NAME, version=__version__, routes=[http.routes]
    )
    app.cleanup_ctx.append(consumer_context(events.QUEUE, events.event_handlers))
    return app
