"""integration-service's composition root: wires settings, adapters and entrypoints into one app.

Built from settings and the integrations alone, nothing at import time. Start-up order
(cleanup_ctx): MongoDB, RabbitMQ and the outbox relay (platform_core), then the auth-service
client and the commands, then the event consumer, so shutdown runs the other way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from integration_manifests import Integrations
from integration_service import __version__
from integration_service.adapters.auth_client import AuthServiceClient
from integration_service.adapters.repositories import INDEXES, repositories
from integration_service.domain.catalog import Catalog
from integration_service.entrypoints import events, http
from integration_service.service_layer.apps import AppCommands
from integration_service.service_layer.lifecycle import Lifecycle
from integration_service.settings import SERVICE_NAME, IntegrationSettings
from platform_core.app import consumer_context, create_service_app, unit_of_work


def create_app(settings: IntegrationSettings, integrations: Integrations) -> web.Application:
    app = create_service_app(
        settings,
        service=SERVICE_NAME,
        version=__version__,
        routes=[http.routes],
        indexes=INDEXES,
    )
    app[http.CATALOG_KEY] = Catalog.of(integrations)
    app.cleanup_ctx.append(_commands_context(settings))
    app.cleanup_ctx.append(consumer_context(events.QUEUE, events.subscriptions))
    return app


def _commands_context(
    settings: IntegrationSettings,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        uow = unit_of_work(app, repositories)
        auth = AuthServiceClient(
            settings.auth_service_url,
            settings.platform_jwt_secret.get_secret_value(),
            settings.auth_service_timeout_seconds,
        )
        await auth.start()
        app[http.UOW_KEY] = uow
        app[http.APPS_KEY] = AppCommands(uow)
        app[http.LIFECYCLE_KEY] = Lifecycle(
            uow, auth, app[http.CATALOG_KEY], max_attempts=settings.max_change_attempts
        )
        yield
        await auth.close()

    return context
