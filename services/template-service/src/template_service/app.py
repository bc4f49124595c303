"""template-service's composition root: wires settings, adapters and entrypoints into one app."""

from __future__ import annotations

from aiohttp import web

from platform_core.app import consumer_context, create_service_app
from template_service import __version__
from template_service.entrypoints import events, http
from template_service.settings import SERVICE_NAME, TemplateSettings


def create_app(settings: TemplateSettings) -> web.Application:
    app = create_service_app(
        settings, service=SERVICE_NAME, version=__version__, routes=[http.routes]
    )
    app.cleanup_ctx.append(consumer_context(events.QUEUE, events.event_handlers))
    return app
