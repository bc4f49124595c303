"""Real MongoDB and RabbitMQ parts of platform_core, wired as a service would wire them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from platform_core.broker import Broker
from platform_core.consumer import PROCESSED_INDEXES
from platform_core.mongo import Document, ensure_indexes
from platform_core.observability import ServiceMetrics
from platform_core.outbox import OUTBOX_INDEXES, OutboxRelay
from platform_core.unit_of_work import UnitOfWork
from tests.support.infra import Infra
from tests.support.raw import RawCollections


@dataclass
class Parts:
    db: AsyncDatabase[Document]
    broker: Broker
    relay: OutboxRelay
    uow: UnitOfWork[RawCollections]
    metrics: ServiceMetrics
    broker_url: str


@contextlib.asynccontextmanager
async def running_parts(
    client: AsyncMongoClient[Document],
    db_name: str,
    amqp_url: str,
    run_relay: bool = True,
    **relay_options: object,
) -> AsyncIterator[Parts]:
    db = client[db_name]
    await ensure_indexes(db, [*OUTBOX_INDEXES, *PROCESSED_INDEXES])
    broker = Broker(amqp_url, "test-service")
    await broker.connect()
    metrics = ServiceMetrics()
    relay = OutboxRelay(db, broker, metrics, **relay_options)  # type: ignore[arg-type]
    uow = UnitOfWork(client, db, "/test-service", RawCollections, relay=relay)
    task = asyncio.create_task(relay.run() if run_relay else asyncio.Event().wait())
    try:
        yield Parts(db, broker, relay, uow, metrics, amqp_url)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await broker.close()
        await client.drop_database(db_name)


@pytest.fixture
async def parts(
    mongo_client: AsyncMongoClient[Document], infra: Infra, unique: str
) -> AsyncIterator[Parts]:
    async with running_parts(mongo_client, f"t_{unique}_platform", infra.amqp_url) as built:
        yield built


@pytest.fixture
async def parts_without_relay(
    mongo_client: AsyncMongoClient[Document], infra: Infra, unique: str
) -> AsyncIterator[Parts]:
    """No relay runs: the test's own relays publish, or the outbox keeps what was committed
    (a running relay deletes an event as soon as the broker confirms it)."""
    async with running_parts(
        mongo_client, f"t_{unique}_quiet", infra.amqp_url, run_relay=False
    ) as built:
        yield built
