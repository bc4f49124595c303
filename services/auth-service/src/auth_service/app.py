"""auth-service's composition root: wires settings, adapters and entrypoints into one app.

Built from settings alone, nothing at import time. Start-up order (cleanup_ctx): MongoDB,
RabbitMQ and the outbox relay (platform_core), then the provider HTTP client and the service
layer, then the maintenance loop, then the event consumer, so shutdown runs the other way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping

import aiohttp
from aiohttp import web

from auth_service import __version__
from auth_service.adapters.collections import INDEXES
from auth_service.adapters.provider_client import ProviderClient, RetryPolicy
from auth_service.adapters.vault import Vault
from auth_service.domain.providers import ProviderSpec, parse_providers
from auth_service.entrypoints import browser, events, http
from auth_service.entrypoints.state import WIRING_KEY, Wiring
from auth_service.service_layer import maintenance
from auth_service.service_layer.context import Context
from auth_service.service_layer.tokens import TokenService
from auth_service.settings import SERVICE_NAME, AuthSettings
from platform_core.app import PLATFORM_KEY, consumer_context, create_service_app

PROVIDER_CONNECTIONS = 100


def load_providers(settings: AuthSettings) -> Mapping[str, ProviderSpec]:
    """The provider file, validated; raises ProviderFileError so the service refuses to start."""
    return parse_providers(
        settings.providers_file.read_text(),
        settings.variable,
        allow_insecure=settings.allow_insecure_provider_urls,
    )


def retry_policy(settings: AuthSettings) -> RetryPolicy:
    return RetryPolicy(
        attempts=settings.refresh_max_attempts,
        timeout_seconds=settings.refresh_timeout_seconds,
        backoff_seconds=settings.refresh_backoff_seconds,
        max_backoff_seconds=settings.refresh_max_backoff_seconds,
    )


def create_app(settings: AuthSettings, *, maintenance_loop: bool = True) -> web.Application:
    providers = load_providers(settings)
    vault = Vault.from_setting(settings.token_encryption_keys.get_secret_value())
    app = create_service_app(
        settings,
        service=SERVICE_NAME,
        version=__version__,
        routes=[http.routes, browser.routes],
        indexes=INDEXES,
    )
    wiring = Wiring()
    app[WIRING_KEY] = wiring
    app.cleanup_ctx.append(_service_context(wiring, settings, providers, vault))
    if maintenance_loop:
        app.cleanup_ctx.append(_maintenance_context(wiring))
    app.cleanup_ctx.append(consumer_context(events.QUEUE, events.event_handlers))
    return app


def _service_context(
    wiring: Wiring,
    settings: AuthSettings,
    providers: Mapping[str, ProviderSpec],
    vault: Vault,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        db, uow, _ = app[PLATFORM_KEY].require()
        connector = aiohttp.TCPConnector(limit=PROVIDER_CONNECTIONS)
        async with aiohttp.ClientSession(connector=connector) as session:
            ctx = Context(
                settings=settings,
                providers=providers,
                vault=vault,
                db=db,
                uow=uow,
                provider_client=ProviderClient(session, retry_policy(settings)),
            )
            wiring.context, wiring.tokens = ctx, TokenService(ctx)
            yield
            wiring.context = wiring.tokens = None

    return context


def _maintenance_context(wiring: Wiring) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        ctx, tokens = wiring.require()
        task = asyncio.create_task(maintenance.run_forever(ctx, tokens), name="maintenance")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return context
