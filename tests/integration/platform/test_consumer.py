"""The idempotent consumer against real RabbitMQ and the MongoDB-compatible server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import aio_pika
import pytest
from pymongo import AsyncMongoClient

from platform_core.consumer import PROCESSED_INDEXES, EventConsumer, on
from platform_core.events import CloudEvent, IntegrationEnabled, new_event
from platform_core.mongo import Document, ensure_indexes
from platform_core.unit_of_work import Transaction, UnitOfWork
from tests.integration.platform.conftest import Parts
from tests.support.processes import delete_queues
from tests.support.raw import RawCollections
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker]

RETRY_DELAYS_MS = (100, 200)


async def count_enabled(
    tx: Transaction[RawCollections], data: IntegrationEnabled, event: CloudEvent
) -> None:
    await tx.repos.counts.update_one({"_id": data.app_id}, {"$inc": {"n": 1}}, upsert=True)


@contextlib.asynccontextmanager
async def consuming(
    parts: Parts,
    queue: str,
    handler: Callable[..., Any] = count_enabled,
    *,
    replica: str | None = None,
    uow: UnitOfWork[RawCollections] | None = None,
) -> AsyncIterator[EventConsumer]:
    consumer = EventConsumer(
        parts.broker,
        uow or parts.uow,
        parts.metrics,
        queue,
        [on(IntegrationEnabled, handler)],
        retry_delays_ms=RETRY_DELAYS_MS,
        replica=replica,
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()
        names = [consumer.queue_name, consumer.dead_letter_queue]
        names += [consumer.retry_queue(i + 1) for i in range(len(RETRY_DELAYS_MS))]
        await delete_queues(parts.broker_url, names)


def consumed(parts: Parts, queue: str, outcome: str) -> float:
    value = parts.metrics.registry.get_sample_value(
        "events_consumed_total",
        {"queue": queue, "type": "integration.enabled", "outcome": outcome},
    )
    return value or 0.0


async def dead_letters(parts: Parts, consumer: EventConsumer) -> list[bytes]:
    channel = await parts.broker.connection.channel()
    queue = await channel.get_queue(consumer.dead_letter_queue)
    bodies = []
    while (message := await queue.get(fail=False, timeout=5)) is not None:
        bodies.append(message.body)
        await message.ack()
    await channel.close()
    return bodies


async def test_the_same_event_delivered_twice_changes_state_once(parts: Parts, unique: str) -> None:
    queue = f"t.{unique}.consumer"
    event = new_event("/test", IntegrationEnabled(app_id="app-1", integration="confluence"))
    async with consuming(parts, queue):
        await parts.broker.publish(event)
        await parts.broker.publish(event)
        await eventually(lambda: consumed(parts, queue, "duplicate") >= 1)

    assert await parts.db.counts.find_one({"_id": "app-1"}) == {"_id": "app-1", "n": 1}
    assert consumed(parts, queue, "processed") == 1
    assert consumed(parts, queue, "duplicate") == 1


async def test_a_malformed_message_is_dead_lettered_and_the_consumer_keeps_going(
    parts: Parts, unique: str
) -> None:
    queue = f"t.{unique}.consumer"
    valid = new_event("/test", IntegrationEnabled(app_id="app-2", integration="confluence"))
    async with consuming(parts, queue) as consumer:
        channel = await parts.broker.connection.channel()
        exchange = await channel.get_exchange("integrations")
        await exchange.publish(
            aio_pika.Message(b'{"specversion": "1.0", "type": "integration.enabled"'),
            routing_key="integration.enabled",
        )
        await exchange.publish(
            aio_pika.Message(
                b'{"specversion":"1.0","id":"x","source":"/t","type":'
                b'"integration.enabled","time":"2026-11-29T10:00:00Z",'
                b'"subject":"a","data":{"app_id":"a"}}'
            ),
            routing_key="integration.enabled",
        )
        await channel.close()
        await parts.broker.publish(valid)
        await eventually(lambda: parts.db.counts.find_one({"_id": "app-2"}))
        dead = await eventually(lambda: dead_letters(parts, consumer))

    assert await parts.db.counts.find_one({"_id": "app-2"}) == {"_id": "app-2", "n": 1}
    assert len(dead) == 2


async def test_a_handler_that_keeps_failing_is_retried_then_dead_lettered(
    parts: Parts, unique: str
) -> None:
    queue = f"t.{unique}.consumer"
    attempts: list[str] = []

    async def always_fails(
        tx: Transaction[RawCollections], data: IntegrationEnabled, event: CloudEvent
    ) -> None:
        attempts.append(event.id)
        await tx.repos.counts.insert_one({"_id": "written-then-rolled-back"})
        raise ConnectionError("downstream is down")

    event = new_event("/test", IntegrationEnabled(app_id="app-3", integration="confluence"))
    async with consuming(parts, queue, always_fails) as consumer:
        await parts.broker.publish(event)
        dead = await eventually(lambda: dead_letters(parts, consumer))

    assert attempts == [event.id] * (1 + len(RETRY_DELAYS_MS))
    assert [CloudEvent.model_validate_json(body).id for body in dead] == [event.id]
    assert consumed(parts, queue, "retried") == len(RETRY_DELAYS_MS)
    assert await parts.db.counts.count_documents({}) == 0


async def test_a_transient_failure_succeeds_on_retry(parts: Parts, unique: str) -> None:
    queue = f"t.{unique}.consumer"
    failures = [ConnectionError("once")]

    async def flaky(
        tx: Transaction[RawCollections], data: IntegrationEnabled, event: CloudEvent
    ) -> None:
        if failures:
            raise failures.pop()
        await count_enabled(tx, data, event)

    event = new_event("/test", IntegrationEnabled(app_id="app-4", integration="confluence"))
    async with consuming(parts, queue, flaky):
        await parts.broker.publish(event)
        done = await eventually(lambda: parts.db.counts.find_one({"_id": "app-4"}))

    assert done == {"_id": "app-4", "n": 1}
    assert consumed(parts, queue, "retried") == 1


async def test_every_replica_gets_every_event_and_what_fails_lands_in_one_dead_letter_queue(
    parts: Parts, unique: str, mongo_client: AsyncMongoClient[Document]
) -> None:
    queue = f"t.{unique}.replicated"
    # Each replica remembers what it processed on its own, as tool-service's replicas do.
    other_db = mongo_client[f"t_{unique}_replica_b"]
    await ensure_indexes(other_db, PROCESSED_INDEXES)
    other = UnitOfWork(mongo_client, other_db, "/test", RawCollections, relay=parts.relay)
    attempts: list[str] = []

    async def count_or_fail(
        tx: Transaction[RawCollections], data: IntegrationEnabled, event: CloudEvent
    ) -> None:
        attempts.append(data.app_id)
        if data.app_id == "fails":
            raise ConnectionError("this replica cannot handle it")
        await count_enabled(tx, data, event)

    try:
        async with (
            consuming(parts, queue, count_or_fail, replica="a") as a,
            consuming(parts, queue, count_or_fail, replica="b", uow=other) as b,
        ):
            assert (a.queue_name, b.queue_name) == (f"{queue}.a", f"{queue}.b")
            assert a.dead_letter_queue == b.dead_letter_queue == f"{queue}.dlq"
            await parts.broker.publish(
                new_event("/test", IntegrationEnabled(app_id="app-5", integration="confluence"))
            )
            await parts.broker.publish(
                new_event("/test", IntegrationEnabled(app_id="fails", integration="jira"))
            )
            await eventually(lambda: parts.db.counts.find_one({"_id": "app-5"}))
            await eventually(lambda: other_db.counts.find_one({"_id": "app-5"}))
            dead: list[bytes] = []

            async def both_dead_lettered() -> bool:
                dead.extend(await dead_letters(parts, a))
                return len(dead) >= 2

            await eventually(both_dead_lettered)
    finally:
        await mongo_client.drop_database(other_db.name)

    assert [CloudEvent.model_validate_json(body).data["app_id"] for body in dead] == ["fails"] * 2
    # No retry queue under a replica: one attempt each, then the dead-letter queue.
    assert sorted(attempts) == ["app-5", "app-5", "fails", "fails"]
