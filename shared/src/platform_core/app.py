"""The aiohttp skeleton every service is built on, and how a service process runs.

`create_service_app` makes the application: middlewares, the common routes (`/healthz`,
`/readyz`, `/metrics`, `/openapi.json`), and the shared resources in `cleanup_ctx`, in start-up
order: MongoDB (with every index), RabbitMQ, the outbox relay. A service then appends its own
contexts (its consumer last), so shutdown runs in reverse: stop consuming, flush the outbox,
close the broker, close MongoDB. `run_service` serves it; on SIGTERM aiohttp stops accepting,
lets in-flight requests finish, then runs that cleanup.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from aiohttp import web
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from platform_core import mongo, tracing
from platform_core.api import MAX_BODY_KEY, ApiRoutes, Reply, ResponseModel
from platform_core.asyncapi import build_asyncapi as asyncapi_document
from platform_core.asyncapi import package_version
from platform_core.broker import Broker
from platform_core.consumer import PROCESSED_INDEXES, EventConsumer, Subscription
from platform_core.logs import configure_logging, get_logger
from platform_core.middleware import (
    VERIFIER_KEY,
    authenticate,
    problem_responses,
    request_context,
)
from platform_core.mongo import Document, IndexSpec
from platform_core.observability import METRICS_KEY, ServiceMetrics
from platform_core.openapi import build_openapi
from platform_core.outbox import OUTBOX_INDEXES, OutboxRelay
from platform_core.service_auth import TokenVerifier
from platform_core.settings import ServiceSettings
from platform_core.unit_of_work import RepositoryFactory, TransactionRunner, UnitOfWork

log = get_logger("platform_core.app")
T = TypeVar("T")
R = TypeVar("R")

READINESS_TIMEOUT_SECONDS = 2.0
# No shutdown step may hold the process hostage: whatever is unfinished is redone after restart
# (unsent events stay in the outbox, unacked messages are redelivered).
SHUTDOWN_STEP_SECONDS = 5.0


# Set by the common cleanup contexts, in start-up order; a service's own contexts read them.
MONGO_CLIENT_KEY = web.AppKey("mongo_client", AsyncMongoClient[Document])
DATABASE_KEY = web.AppKey("database", AsyncDatabase[Document])
BROKER_KEY = web.AppKey("broker", Broker)
RELAY_KEY = web.AppKey("outbox_relay", OutboxRelay)
SETTINGS_KEY = web.AppKey("settings", ServiceSettings)
SERVICE_KEY = web.AppKey("service", str)
ROUTES_KEY = web.AppKey("routes", list[ApiRoutes])
VERSION_KEY = web.AppKey("version", str)
CONSUMERS_KEY = web.AppKey("consumers", list[EventConsumer])


class Health(ResponseModel):
    status: str
    checks: dict[str, bool] = {}


common_routes = ApiRoutes(tags=["operations"])


@common_routes.get("/healthz", summary="The process is alive", responses={200: Health}, public=True)
async def healthz(request: web.Request) -> Reply:
    return Reply(Health(status="ok"))


@common_routes.get(
    "/readyz",
    summary="MongoDB and RabbitMQ are reachable",
    responses={200: Health, 503: Health},
    public=True,
)
async def readyz(request: web.Request) -> Reply:
    client, broker = request.app.get(MONGO_CLIENT_KEY), request.app.get(BROKER_KEY)
    checks = {
        "mongodb": client is not None and await _with_timeout(mongo.ping(client)),
        "rabbitmq": broker is not None and broker.is_ready(),
    }
    ready = all(checks.values())
    return Reply(
        Health(status="ready" if ready else "unavailable", checks=checks), 200 if ready else 503
    )


async def _with_timeout(check: Any) -> bool:
    try:
        return bool(await asyncio.wait_for(check, READINESS_TIMEOUT_SECONDS))
    except TimeoutError:
        return False


@common_routes.get("/metrics", summary="Prometheus metrics", responses={200: None}, public=True)
async def metrics(request: web.Request) -> web.StreamResponse:
    body = request.app[METRICS_KEY].render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})


@common_routes.get(
    "/openapi.json",
    summary="This service's OpenAPI 3.1 document",
    responses={200: None},
    public=True,
)
async def openapi(request: web.Request) -> web.StreamResponse:
    app = request.app
    endpoints = [e for routes in app[ROUTES_KEY] for e in routes.endpoints]
    document = build_openapi(app[SERVICE_KEY], app[VERSION_KEY], endpoints)
    return web.json_response(document)


@common_routes.get(
    "/asyncapi.json",
    summary="The AsyncAPI 3.0 document of the integrations exchange (every service's events)",
    responses={200: None},
    public=True,
)
async def asyncapi(request: web.Request) -> web.StreamResponse:
    return web.json_response(_asyncapi())


@functools.cache
def _asyncapi() -> dict[str, Any]:
    return asyncapi_document(package_version())


async def _bounded(step: Awaitable[T], name: str) -> T | None:
    try:
        return await asyncio.wait_for(step, SHUTDOWN_STEP_SECONDS)
    except TimeoutError:
        log.warning("shutdown_step_timed_out", step=name)
    except Exception as exc:
        log.warning("shutdown_step_failed", step=name, error=type(exc).__name__)
    return None


def create_http_app(
    settings: ServiceSettings, *, service: str, version: str, routes: Sequence[ApiRoutes]
) -> web.Application:
    """Middlewares, keys and routes, without any resource: enough to test the HTTP layer."""
    metrics_registry = ServiceMetrics()
    middlewares = [request_context, problem_responses, authenticate]
    if tracing.enabled():
        middlewares.insert(0, tracing.server_middleware(service))
    app = web.Application(middlewares=middlewares, client_max_size=settings.max_body_bytes)
    app[MAX_BODY_KEY] = settings.max_body_bytes
    # A token naming audiences is accepted only when it names this service.
    app[VERIFIER_KEY] = TokenVerifier(settings.platform_jwt_secret.get_secret_value(), service)
    app[METRICS_KEY] = metrics_registry
    app[VERSION_KEY] = version
    app[SERVICE_KEY] = service
    app[SETTINGS_KEY] = settings
    app[CONSUMERS_KEY] = []
    app[ROUTES_KEY] = [common_routes, *routes]
    for table in app[ROUTES_KEY]:
        table.install(app)
    return app


def create_service_app(
    settings: ServiceSettings,
    *,
    service: str,
    version: str,
    routes: Sequence[ApiRoutes],
    indexes: Iterable[IndexSpec] = (),
) -> web.Application:
    """The HTTP app plus MongoDB (with every index), RabbitMQ and the outbox relay; the service
    appends its own contexts after these (its consumer last)."""
    app = create_http_app(settings, service=service, version=version, routes=routes)
    all_indexes = [*OUTBOX_INDEXES, *PROCESSED_INDEXES, *indexes]
    app.cleanup_ctx.append(_mongo_context(all_indexes))
    app.cleanup_ctx.append(_broker_context)
    app.cleanup_ctx.append(_relay_context)
    return app


def unit_of_work(app: web.Application, repositories: RepositoryFactory[R]) -> UnitOfWork[R]:
    """The service's unit of work over the common resources (call it from a start-up context)."""
    return UnitOfWork(
        app[MONGO_CLIENT_KEY],
        app[DATABASE_KEY],
        source=f"/{app[SERVICE_KEY]}",
        repositories=repositories,
        relay=app[RELAY_KEY],
    )


def _mongo_context(
    indexes: Sequence[IndexSpec],
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        settings, service = app[SETTINGS_KEY], app[SERVICE_KEY]
        client = mongo.create_client(settings.mongodb_url, service)
        db = client[settings.database_name(service)]
        await mongo.ensure_indexes(db, indexes)
        app[MONGO_CLIENT_KEY], app[DATABASE_KEY] = client, db
        yield
        await _bounded(client.close(), "mongodb_close")

    return context


async def _broker_context(app: web.Application) -> AsyncIterator[None]:
    broker = Broker(app[SETTINGS_KEY].amqp_url, app[SERVICE_KEY])
    await broker.connect()
    app[BROKER_KEY] = broker
    yield
    await broker.close()


async def _relay_context(app: web.Application) -> AsyncIterator[None]:
    relay = OutboxRelay(app[DATABASE_KEY], app[BROKER_KEY], app[METRICS_KEY])
    app[RELAY_KEY] = relay
    task = asyncio.create_task(relay.run(), name="outbox-relay")
    yield
    task.cancel()
    await asyncio.wait({task}, timeout=SHUTDOWN_STEP_SECONDS)
    flushed = await _bounded(relay.flush(), "outbox_flush")
    log.info("outbox_flushed", events=flushed or 0)


Subscribed = tuple[TransactionRunner[Any], Sequence[Subscription[Any]]]
Subscriptions = Callable[[web.Application], Subscribed]


def consumer_context(
    queue: str, subscriptions: Subscriptions
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A service's event consumer; append it last so it stops first on shutdown.

    `subscriptions(app)` gives the unit of work the handlers run in and what they subscribe to.
    """

    async def context(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS_KEY]
        uow, subscribed = subscriptions(app)
        consumer = EventConsumer(
            app[BROKER_KEY],
            uow,
            app[METRICS_KEY],
            settings.event_queue or queue,
            subscribed,
            retry_delays_ms=settings.event_retry_delays_ms,
            prefetch=settings.event_prefetch,
            service=app[SERVICE_KEY],
        )
        await consumer.start()
        app[CONSUMERS_KEY].append(consumer)
        yield
        await consumer.stop()

    return context


def run_service(
    app_factory: Callable[[], web.Application], settings: ServiceSettings, service: str
) -> None:
    configure_logging(service, settings.log_level)
    traced = tracing.configure_tracing(service)
    log.info("starting", host=settings.host, port=settings.port, tracing=traced)
    web.run_app(
        app_factory(),
        host=settings.host,
        port=settings.port,
        shutdown_timeout=settings.shutdown_timeout_seconds,
        access_log=None,
        print=None,
        handle_signals=True,
    )
    log.info("stopped")
