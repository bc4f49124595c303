"""template-service's composition root: wires settings, the integrations, adapters and
entrypoints into one app.

The templates are loaded and validated here, before anything starts: a broken template file
stops the service instead of being served. Start-up order (cleanup_ctx): MongoDB, RabbitMQ and
the outbox relay (platform_core), then the HTTP sessions (auth-service, providers) and the
service layer, then the event consumer, so shutdown runs the other way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import aiohttp
from aiohttp import web

from integration_manifests import Integrations
from platform_core import tracing
from platform_core.app import consumer_context, create_service_app, unit_of_work
from platform_core.observability import METRICS_KEY, ProviderCallMetrics
from platform_core.outbound_http import create_provider_session
from template_service import __version__
from template_service.adapters.auth_client import AuthServiceClient
from template_service.adapters.metrics import PrometheusRunMetrics
from template_service.adapters.provider_api import ProviderApiClient
from template_service.adapters.repositories import INDEXES, repositories, run_indexes
from template_service.adapters.template_files import load_catalog
from template_service.domain.template import TemplateCatalog
from template_service.entrypoints import events, http
from template_service.service_layer.installations import Installations
from template_service.service_layer.queries import Queries
from template_service.service_layer.runs import Integration, RunLimits, Runs
from template_service.service_layer.scopes import ConnectionScopes
from template_service.settings import SERVICE_NAME, TemplateSettings

PROVIDER_CONNECTIONS = 100


def create_app(settings: TemplateSettings, integrations: Integrations) -> web.Application:
    catalog = load_catalog(integrations)
    app = create_service_app(
        settings,
        service=SERVICE_NAME,
        version=__version__,
        routes=[http.routes],
        indexes=[*INDEXES, *run_indexes(timedelta(days=settings.run_retention_days))],
    )
    app.cleanup_ctx.append(_commands_context(settings, catalog, integrations))
    app.cleanup_ctx.append(consumer_context(events.QUEUE, events.subscriptions))
    return app


def _commands_context(
    settings: TemplateSettings, catalog: TemplateCatalog, integrations: Integrations
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        uow = unit_of_work(app, repositories)
        providers = create_provider_session(
            allow_insecure_loopback=settings.allow_insecure_provider_urls,
            limit=PROVIDER_CONNECTIONS,
            middlewares=tracing.client_middlewares(SERVICE_NAME, propagate=False),
        )
        peers = aiohttp.ClientSession(middlewares=tracing.client_middlewares(SERVICE_NAME))
        async with peers, providers:
            auth = AuthServiceClient(
                peers,
                settings.auth_service_url,
                settings.platform_jwt_secret.get_secret_value(),
                settings.auth_service_timeout_seconds,
            )
            scopes = ConnectionScopes(
                auth, {spec.name: spec.manifest.provider.default_scopes for spec in integrations}
            )
            app[http.UOW_KEY] = uow
            app[http.INSTALLATIONS_KEY] = Installations(uow, catalog, scopes)
            app[http.QUERIES_KEY] = Queries(uow, catalog, scopes)
            app[http.RUNS_KEY] = Runs(
                uow,
                catalog,
                {
                    spec.name: Integration(
                        spec.manifest.catalog.display_name, spec.manifest.provider.api_base_url
                    )
                    for spec in integrations
                },
                auth,
                ProviderApiClient(
                    providers,
                    settings.max_provider_body_bytes,
                    ProviderCallMetrics(app[METRICS_KEY].registry),
                ),
                RunLimits(
                    call_timeout_seconds=settings.provider_call_timeout_seconds,
                    deadline_seconds=settings.run_deadline_seconds,
                    max_attempts=settings.provider_max_attempts,
                    max_wait_seconds=settings.provider_max_wait_seconds,
                    backoff_seconds=settings.provider_backoff_seconds,
                ),
                PrometheusRunMetrics(app[METRICS_KEY].registry),
            )
            yield

    return context
