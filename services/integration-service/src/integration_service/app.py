"""integration-service's composition root: wires settings, adapters and entrypoints into one app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from integration_service import __version__
from integration_service.adapters.auth_client import AuthServiceClient
from integration_service.adapters.repositories import (
    INDEXES,
    AppRepository,
    IntegrationRepository,
)
from integration_service.entrypoints import events, http
from integration_service.service_layer.apps import AppCommands
from integration_service.service_layer.lifecycle import Lifecycle
from integration_service.settings import SERVICE_NAME, IntegrationSettings
from platform_core.app import PLATFORM_KEY, consumer_context, create_service_app


def create_app(settings: IntegrationSettings) -> web.Application:
    app = create_service_app(
        settings,
        service=SERVICE_NAME,
        version=__version__,
        routes=[http.routes],
        indexes=INDEXES,
    )
    app[http.WIRING_KEY] = http.Wiring()
    app.cleanup_ctx.append(_commands_context(settings))
    app.cleanup_ctx.append(consumer_context(events.QUEUE, events.event_handlers))
    return app


def _commands_context(
    settings: IntegrationSettings,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        db, uow, _ = app[PLATFORM_KEY].require()
        auth = AuthServiceClient(
            settings.auth_service_url,
            settings.platform_jwt_secret.get_secret_value(),
            settings.auth_service_timeout_seconds,
        )
        await auth.start()
        apps = AppRepository(db)
        wiring = app[http.WIRING_KEY]
        wiring.apps = AppCommands(uow, apps)
        wiring.lifecycle = Lifecycle(
            uow,
            apps,
            IntegrationRepository(db),
            auth,
            max_attempts=settings.max_change_attempts,
        )
        yield
        await auth.close()

    return context
