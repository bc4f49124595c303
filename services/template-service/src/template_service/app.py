"""template-service's composition root: wires settings, adapters and entrypoints into one app.

The templates are loaded and validated here, before anything starts: a broken template file
stops the service instead of being served.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from integration_manifests import Integrations
from platform_core.app import consumer_context, create_service_app, unit_of_work
from template_service import __version__
from template_service.adapters.repositories import INDEXES, repositories
from template_service.adapters.template_files import load_catalog
from template_service.domain.template import TemplateCatalog
from template_service.entrypoints import events, http
from template_service.service_layer.installations import Installations
from template_service.service_layer.queries import Queries
from template_service.settings import SERVICE_NAME, TemplateSettings


def create_app(settings: TemplateSettings, integrations: Integrations) -> web.Application:
    catalog = load_catalog(integrations)
    app = create_service_app(
        settings,
        service=SERVICE_NAME,
        version=__version__,
        routes=[http.routes],
        indexes=INDEXES,
    )
    app.cleanup_ctx.append(_commands_context(catalog))
    app.cleanup_ctx.append(consumer_context(events.QUEUE, events.subscriptions))
    return app


def _commands_context(
    catalog: TemplateCatalog,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        uow = unit_of_work(app, repositories)
        app[http.UOW_KEY] = uow
        app[http.INSTALLATIONS_KEY] = Installations(uow, catalog)
        app[http.QUERIES_KEY] = Queries(uow, catalog)
        yield

    return context
