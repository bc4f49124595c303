"""auth-service's composition root: wires settings, the integrations, adapters and entrypoints.

Built from settings and the integrations alone, nothing at import time. Start-up order
(cleanup_ctx): MongoDB, RabbitMQ and the outbox relay (platform_core), then the vault's key
checks, the finished-authorization retention index, the provider HTTP session and the service
layer, then the maintenance loop, then the event consumer, so shutdown runs the other way. A
provider that names an unknown hook, a URL that breaks the rules or a keep-alive period longer
than a provider's refresh-token lifetime refuses to start, and so does a configured key that is
not the one the database stores under its id (`KeyMismatch`).

`resolver` replaces the DNS resolver of every provider call and of the profile URL checks (the
tests use it to aim names at addresses without sending a packet).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from aiohttp.abc import AbstractResolver

from auth_service import __version__
from auth_service.adapters.credential_cache import CredentialCache
from auth_service.adapters.destinations import ResolvedDestinations
from auth_service.adapters.hooks import Hooks
from auth_service.adapters.key_checks import verify_keys
from auth_service.adapters.leases import Leases
from auth_service.adapters.metrics import PrometheusAuthMetrics
from auth_service.adapters.provider_client import RetryPolicy, TokenEndpointClient
from auth_service.adapters.repositories import (
    CREDENTIALS,
    INDEXES,
    ensure_retention,
    repositories_with,
)
from auth_service.adapters.vault import Vault
from auth_service.domain.providers import Provider, ProviderRefusedAtStartUp, Providers
from auth_service.entrypoints import browser, events, http
from auth_service.entrypoints.limits import LIMITS_KEY, Limits
from auth_service.service_layer.callback import Callbacks
from auth_service.service_layer.credentials import Credentials
from auth_service.service_layer.endings import Endings
from auth_service.service_layer.links import Links
from auth_service.service_layer.maintenance import Maintenance
from auth_service.service_layer.profiles import ProfileRules, Profiles
from auth_service.service_layer.tokens import RefreshTiming, Tokens
from auth_service.settings import SERVICE_NAME, AuthSettings
from integration_manifests import Integrations
from platform_core import tracing
from platform_core.app import (
    DATABASE_KEY,
    consumer_context,
    create_service_app,
    unit_of_work,
)
from platform_core.logs import get_logger
from platform_core.observability import METRICS_KEY, ProviderCallMetrics
from platform_core.outbound_http import create_provider_session

log = get_logger("auth_service.app")

PROVIDER_CONNECTIONS = 100


def load_providers(settings: AuthSettings, integrations: Integrations) -> Providers:
    """Every integration's provider, checked; raises ProviderRefusedAtStartUp."""
    providers = Providers(
        [
            Provider.of(spec, allow_insecure=settings.allow_insecure_provider_urls)
            for spec in integrations
        ]
    )
    for provider in providers:
        hook = provider.oauth.post_connection
        if hook is not None and not Hooks.known(hook):
            raise ProviderRefusedAtStartUp(f"{provider.integration}: no hook named {hook!r}")
        idle = provider.oauth.refresh_tokens.idle_lifetime_days
        if idle is not None and settings.refresh_keepalive_days >= idle:
            raise ProviderRefusedAtStartUp(
                f"REFRESH_KEEPALIVE_DAYS must be below {provider.integration}'s refresh-token "
                f"lifetime of {idle} days"
            )
    return providers


def retry_policy(settings: AuthSettings) -> RetryPolicy:
    return RetryPolicy(
        attempts=settings.refresh_max_attempts,
        timeout_seconds=settings.refresh_timeout_seconds,
        backoff_seconds=settings.refresh_backoff_seconds,
        max_backoff_seconds=settings.refresh_max_backoff_seconds,
    )


MAINTENANCE_KEY = web.AppKey("maintenance", Maintenance)


def create_app(
    settings: AuthSettings,
    integrations: Integrations,
    *,
    maintenance_loop: bool = True,
    resolver: AbstractResolver | None = None,
) -> web.Application:
    providers = load_providers(settings, integrations)
    vault = Vault.from_setting(settings.token_encryption_keys.get_secret_value())
    app = create_service_app(
        settings,
        service=SERVICE_NAME,
        version=__version__,
        routes=[http.routes, browser.routes],
        indexes=INDEXES,
    )
    app[LIMITS_KEY] = Limits.per_minute(settings.rate_limit_per_minute, settings.trusted_proxy_hops)
    app[browser.COOKIE_KEY] = browser.BrowserCookie.for_origin(
        settings.secure_origin, settings.state_ttl_seconds
    )
    app.cleanup_ctx.append(_service_context(settings, providers, vault, resolver))
    if maintenance_loop:
        app.cleanup_ctx.append(_maintenance_context)
    app.cleanup_ctx.append(consumer_context(events.QUEUE, events.subscriptions))
    return app


def _service_context(
    settings: AuthSettings,
    providers: Providers,
    vault: Vault,
    resolver: AbstractResolver | None,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        db = app[DATABASE_KEY]
        registered = await verify_keys(db, vault)
        if registered:
            log.info("vault_keys_registered", kids=registered)
        await ensure_retention(db, settings.finished_authorization_retention_seconds)
        registry = app[METRICS_KEY].registry
        cache = CredentialCache(
            db[CREDENTIALS],
            max_age_seconds=settings.credential_cache_max_age_seconds,
            registry=registry,
        )
        uow = unit_of_work(app, repositories_with(vault, cache))
        metrics = PrometheusAuthMetrics(registry)
        provider_calls = ProviderCallMetrics(registry)
        insecure = settings.allow_insecure_provider_urls
        session = create_provider_session(
            allow_insecure_loopback=insecure,
            resolver=resolver,
            limit=PROVIDER_CONNECTIONS,
            # Spans for provider calls, but no traceparent sent outside the platform.
            middlewares=tracing.client_middlewares(SERVICE_NAME, propagate=False),
        )
        async with session:
            profiles = Profiles(
                uow,
                providers,
                ProfileRules(settings.callback_url, insecure),
                ResolvedDestinations(allow_insecure_loopback=insecure, resolver=resolver),
            )
            endings = Endings(uow, providers, metrics)
            links = Links(uow, providers, profiles, endings, settings)
            tokens = Tokens(
                uow,
                providers,
                profiles,
                TokenEndpointClient(session, retry_policy(settings), provider_calls),
                Leases(db, settings.lease_seconds),
                RefreshTiming(settings.lease_seconds, settings.force_refresh_window_seconds),
                metrics,
            )
            app[http.UOW_KEY] = uow
            app[http.PROFILES_KEY] = profiles
            app[http.LINKS_KEY] = links
            app[http.TOKENS_KEY] = tokens
            app[http.CREDENTIALS_KEY] = Credentials(uow)
            app[browser.CALLBACKS_KEY] = Callbacks(
                uow,
                profiles,
                endings,
                TokenEndpointClient(session, retry_policy(settings), provider_calls),
                Hooks(session, settings.refresh_timeout_seconds, provider_calls),
                settings.state_ttl_seconds,
            )
            app[MAINTENANCE_KEY] = Maintenance(
                uow,
                providers,
                tokens,
                links,
                keepalive_days=settings.refresh_keepalive_days,
                batch=settings.keepalive_batch,
                interval_seconds=settings.keepalive_interval_seconds,
            )
            watcher = asyncio.create_task(cache.watch(), name="credential-cache")
            try:
                yield
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    return context


async def _maintenance_context(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(app[MAINTENANCE_KEY].run_forever(), name="maintenance")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
