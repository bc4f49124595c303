"""template-service's composition root: wires settings, adapters and entrypoints into one app.

The templates are loaded and validated here, before anything starts: a broken template file
stops the service instead of being served.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from platform_core.app import PLATFORM_KEY, consumer_context, create_service_app
from template_service import __version__
from template_service.adapters.repositories import (
    INDEXES,
    DialogTaskRepository,
    InstallationRepository,
    IntegrationStateRepository,
)
from template_service.adapters.template_files import load_catalog
from template_service.domain.template import TemplateCatalog
from template_service.entrypoints import events, http
from template_service.service_layer.installations import Installations
from template_service.service_layer.queries import Queries
from template_service.settings import SERVICE_NAME, TemplateSettings


def create_app(
    settings: TemplateSettings, catalog: TemplateCatalog | None = None
) -> web.Application:
    catalog = catalog if catalog is not None else load_catalog()
    app = create_service_app(
        settings,
        service=SERVICE_NAME,
        version=__version__,
        routes=[http.routes],
        indexes=INDEXES,
    )
    app[http.WIRING_KEY] = http.Wiring()
    app.cleanup_ctx.append(_commands_context(catalog))
    app.cleanup_ctx.append(consumer_context(events.QUEUE, events.event_handlers))
    return app


def _commands_context(
    catalog: TemplateCatalog,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        db, uow, _ = app[PLATFORM_KEY].require()
        integrations = IntegrationStateRepository(db)
        installations = InstallationRepository(db)
        tasks = DialogTaskRepository(db)
        wiring = app[http.WIRING_KEY]
        wiring.installations = Installations(uow, catalog, integrations, installations, tasks)
        wiring.queries = Queries(catalog, integrations, installations, tasks)
        yield

    return context
