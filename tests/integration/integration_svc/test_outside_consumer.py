"""A consumer outside integration-service, subscribed to integration.configured through the
platform's own idempotent consumer, receives exactly one event per configuration."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from platform_core.broker import Broker
from platform_core.consumer import PROCESSED_INDEXES, EventConsumer, on
from platform_core.events import CloudEvent, IntegrationConfigured
from platform_core.mongo import Document, ensure_indexes
from platform_core.observability import ServiceMetrics
from platform_core.unit_of_work import Transaction, UnitOfWork
from tests.integration.integration_svc.conftest import AuthEvents, AuthStub, Service
from tests.integration.integration_svc.test_lifecycle_flows import completed
from tests.support.infra import Infra
from tests.support.processes import delete_queues
from tests.support.raw import RawCollections
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker]


async def record(
    tx: Transaction[RawCollections], data: IntegrationConfigured, envelope: CloudEvent
) -> None:
    assert data.profile is not None
    await tx.repos.received.insert_one(
        {"event_id": envelope.id, "app_id": data.app_id, "profile": data.profile.model_dump()}
    )


@contextlib.asynccontextmanager
async def outside_consumer(
    infra: Infra, client: AsyncMongoClient[Document], unique: str
) -> AsyncIterator[AsyncDatabase[Document]]:
    db = client[f"t_{unique}_outside"]
    await ensure_indexes(db, PROCESSED_INDEXES)
    broker = Broker(infra.amqp_url, "outside-consumer")
    await broker.connect()
    queue = f"t.{unique}.outside.events"
    consumer = EventConsumer(
        broker,
        UnitOfWork(client, db, "/outside", RawCollections),
        ServiceMetrics(),
        queue,
        [on(IntegrationConfigured, record)],
        retry_delays_ms=(200,),
    )
    await consumer.start()
    try:
        yield db
    finally:
        await consumer.stop()
        await broker.close()
        await delete_queues(
            infra.amqp_url, [queue, consumer.dead_letter_queue, consumer.retry_queue(1)]
        )
        await client.drop_database(db.name)


async def test_an_outside_consumer_receives_exactly_one_event_per_configuration(
    service: Service,
    auth_stub: AuthStub,
    auth_events: AuthEvents,
    infra: Infra,
    mongo_client: AsyncMongoClient[Document],
    unique: str,
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    auth_stub.custom_profiles["prof-1"] = app_id
    custom = {"kind": "custom", "profile_id": "prof-1"}
    async with outside_consumer(infra, mongo_client, unique) as db:
        await service.configure(app_id, "user_authorize")
        await service.configure(app_id, "user_authorize")  # the same again: not a configuration
        await service.configure(app_id, "user_authorize", custom)
        _, body = await service.configure(app_id, "pre_authorize")
        await auth_events.publish(completed(app_id, body["authorization"]["authorization_id"]))
        await auth_events.publish(completed(app_id, body["authorization"]["authorization_id"]))

        received = db.received
        await eventually(lambda: _count_is(received, app_id, 3))
        await asyncio.sleep(0.5)
        docs = await received.find({"app_id": app_id}).to_list()
    assert [doc["profile"] for doc in docs] == [{"kind": "system"}, custom, {"kind": "system"}]
    assert len({doc["event_id"] for doc in docs}) == 3


async def _count_is(collection: Any, app_id: str, expected: int) -> bool:
    return bool(await collection.count_documents({"app_id": app_id}) == expected)
