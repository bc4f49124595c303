"""The outbox relay against real RabbitMQ: order, outages and crashes lose nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from devinfra.process import free_port
from devinfra.rabbitmq import IsolatedRabbitMQ
from platform_core.broker import Broker
from platform_core.consumer import EventConsumer, on
from platform_core.contract_types import utc_now
from platform_core.events import CloudEvent, IntegrationDisabled, IntegrationEnabled
from platform_core.mongo import Document
from platform_core.outbox import LEASES, OUTBOX, OutboxRelay
from platform_core.unit_of_work import Transaction
from tests.integration.platform.conftest import Parts, running_parts
from tests.support.events import EventTap
from tests.support.processes import delete_queues
from tests.support.raw import RawCollections
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker]


def raise_events(*datas: Any) -> Any:
    async def work(tx: Transaction[RawCollections]) -> None:
        for data in datas:
            tx.publish(data)

    return work


def toggles(app_id: str, count: int) -> list[Any]:
    kinds = (IntegrationDisabled, IntegrationEnabled)
    return [kinds[i % 2](app_id=app_id, integration=f"step{i}") for i in range(count)]


async def test_committed_events_are_published_in_order_then_deleted(
    parts: Parts, infra: Any
) -> None:
    async with EventTap(infra.amqp_url, ["integration.*"]) as tap:
        for data in toggles("app-a", 6):
            await parts.uow.run(raise_events(data))
        await tap.wait_for(lambda events: len(events) >= 6)

    assert [e["data"]["integration"] for e in tap.events] == [f"step{i}" for i in range(6)]
    assert [m.content_type for m in tap.messages] == ["application/cloudevents+json"] * 6
    assert all(m.message_id == e["id"] for m, e in zip(tap.messages, tap.events, strict=True))
    assert all(m.delivery_mode == 2 for m in tap.messages)
    # The broker's confirm, and so the delivery, can come before the relay deletes the event.
    assert await eventually(lambda: _none_pending(parts), timeout=5)
    assert await parts.db[OUTBOX].count_documents({}) == 0


async def _none_pending(parts: Parts) -> bool:
    return await parts.db[OUTBOX].count_documents({"sent_at": None}) == 0


@pytest.fixture
async def own_broker(tmp_path: Path) -> AsyncIterator[IsolatedRabbitMQ]:
    node = IsolatedRabbitMQ(
        tmp_path / "rabbit",
        port=free_port(),
        dist_port=free_port(),
        nodename=f"outage{uuid.uuid4().hex[:8]}@localhost",
    )
    await asyncio.to_thread(node.start)
    try:
        yield node
    finally:
        await asyncio.to_thread(node.stop)


@pytest.mark.slow
async def test_events_written_while_the_broker_is_down_are_delivered_in_order_once_it_is_back(
    own_broker: IsolatedRabbitMQ, mongo_client: AsyncMongoClient[Document], unique: str
) -> None:
    tap = EventTap(own_broker.url, ["integration.*"], durable_queue=f"t.{unique}.tap")
    async with (
        tap,
        running_parts(
            mongo_client, f"t_{unique}_outage", own_broker.url, poll_interval=0.2, max_backoff=0.5
        ) as parts,
    ):
        await asyncio.to_thread(own_broker.stop)
        for step in range(5):
            await parts.uow.run(
                raise_events(
                    IntegrationEnabled(app_id="app-a", integration=f"a{step}"),
                    IntegrationDisabled(app_id="app-b", integration=f"b{step}"),
                )
            )
        stored = await parts.db[OUTBOX].find({"sent_at": None}).sort("seq", 1).to_list()
        assert len(stored) == 10

        await asyncio.to_thread(own_broker.start)
        await tap.wait_for(lambda events: len({e["id"] for e in events}) >= 10, timeout=60)

        assert await eventually(lambda: _none_pending(parts), timeout=10)
        # What was confirmed is deleted, not kept as sent.
        assert await parts.db[OUTBOX].count_documents({}) == 0

    delivered = list(dict.fromkeys(e["id"] for e in tap.events))
    written = [doc["_id"] for doc in stored]
    assert sorted(delivered) == sorted(written)
    for app in ("app-a", "app-b"):
        order_written = [d["_id"] for d in stored if d["aggregate"] == app]
        order_delivered = [i for i in delivered if i in set(order_written)]
        assert order_delivered == order_written


class RelayKilledAfterPublish(OutboxRelay):
    """Dies between the broker's confirm and deleting the event, as a SIGKILL would."""

    async def _forget_sent(self, confirmed: list[tuple[Document, CloudEvent]]) -> None:
        raise asyncio.CancelledError


async def test_a_relay_killed_between_publish_and_delete_redelivers_and_the_consumer_ignores_it(
    parts_without_relay: Parts, unique: str
) -> None:
    parts = parts_without_relay
    handled: list[str] = []

    async def record(
        tx: Transaction[RawCollections], data: IntegrationEnabled, event: CloudEvent
    ) -> None:
        handled.append(event.id)
        await tx.repos.effects.insert_one({"event": event.id})

    queue = f"t.{unique}.crash"
    consumer = EventConsumer(
        parts.broker, parts.uow, parts.metrics, queue, [on(IntegrationEnabled, record)]
    )
    await consumer.start()
    try:
        parts.uow.relay = None
        await parts.uow.run(raise_events(IntegrationEnabled(app_id="app-c", integration="x")))
        doomed = RelayKilledAfterPublish(parts.db, parts.broker, parts.metrics)
        with pytest.raises(asyncio.CancelledError):
            await doomed.drain()
        assert await parts.db[OUTBOX].count_documents({"sent_at": None}) == 1

        successor = OutboxRelay(parts.db, parts.broker, parts.metrics)
        assert await successor.drain() == 1
        await eventually(
            lambda: parts.metrics.registry.get_sample_value(
                "events_consumed_total",
                {"queue": queue, "type": "integration.enabled", "outcome": "duplicate"},
            )
        )
    finally:
        await consumer.stop()
        await delete_queues(
            parts.broker_url,
            [
                queue,
                consumer.dead_letter_queue,
                consumer.retry_queue(1),
                consumer.retry_queue(2),
                consumer.retry_queue(3),
            ],
        )

    assert len(handled) == 1
    assert await parts.db.effects.count_documents({}) == 1
    assert await parts.db[OUTBOX].count_documents({"sent_at": None}) == 0


class RefusingBroker(Broker):
    """The real broker, except that it refuses one event (as an outage would, mid-batch)."""

    def __init__(self, real: Broker, refused: tuple[str, str]) -> None:
        self._real, self._refused = real, refused

    async def publish(self, event: CloudEvent) -> None:
        if (event.data.get("app_id"), event.data.get("integration")) == self._refused:
            raise ConnectionError("the broker went away")
        await self._real.publish(event)


def ours(events: list[dict[str, Any]], app_id: str) -> list[str]:
    return [e["data"]["integration"] for e in events if e["data"].get("app_id") == app_id]


async def pending(parts: Parts) -> list[str]:
    docs = await parts.db[OUTBOX].find({"sent_at": None}).sort("seq", 1).to_list()
    return [doc["event"]["data"]["integration"] for doc in docs]


async def test_aggregates_go_out_side_by_side_each_in_the_order_it_was_written(
    parts_without_relay: Parts, infra: Any
) -> None:
    parts = parts_without_relay
    parts.uow.relay = None
    apps = ["app-x", "app-y", "app-z"]
    for step in range(5):
        for app in apps:
            await parts.uow.run(raise_events(toggles(app, step + 1)[step]))

    async with EventTap(infra.amqp_url, ["integration.*"]) as tap:
        relay = OutboxRelay(parts.db, parts.broker, parts.metrics)
        assert await relay.drain() == 15
        await tap.wait_for(lambda events: sum(len(ours(events, app)) for app in apps) >= 15)

    for app in apps:
        assert ours(tap.events, app) == [f"step{i}" for i in range(5)]
    assert await pending(parts) == []


async def test_a_refused_publish_deletes_what_was_confirmed_and_holds_back_that_aggregate(
    parts_without_relay: Parts, infra: Any
) -> None:
    parts = parts_without_relay
    parts.uow.relay = None
    for step in range(3):
        await parts.uow.run(raise_events(toggles("app-ok", 3)[step]))
        await parts.uow.run(raise_events(toggles("app-stuck", 3)[step]))
    refusing = RefusingBroker(parts.broker, refused=("app-stuck", "step1"))
    with pytest.raises(ConnectionError):
        await OutboxRelay(parts.db, refusing, parts.metrics).drain()
    # app-ok went out whole; app-stuck stopped at the refused event, its later one held back.
    assert await pending(parts) == ["step1", "step2"]

    async with EventTap(infra.amqp_url, ["integration.*"]) as tap:
        assert await OutboxRelay(parts.db, parts.broker, parts.metrics).drain() == 2
        await tap.wait_for(lambda events: len(ours(events, "app-stuck")) >= 2)
    assert [
        (e["data"]["app_id"], e["data"]["integration"])
        for e in tap.events
        if e["data"]["app_id"] in ("app-ok", "app-stuck")
    ] == [
        ("app-stuck", "step1"),
        ("app-stuck", "step2"),
    ]


async def test_a_flushing_relay_gives_its_lease_up_for_the_next_replica(
    parts_without_relay: Parts,
) -> None:
    parts = parts_without_relay
    leaving = OutboxRelay(parts.db, parts.broker, parts.metrics)
    await leaving.flush()
    assert await parts.db[LEASES].count_documents({}) == 0
    arriving = OutboxRelay(parts.db, parts.broker, parts.metrics)
    parts.uow.relay = None
    await parts.uow.run(raise_events(IntegrationEnabled(app_id="app-next", integration="x")))
    assert await arriving.flush() == 1


async def test_events_an_earlier_version_marked_sent_are_never_published_again(
    parts_without_relay: Parts, infra: Any
) -> None:
    parts = parts_without_relay
    parts.uow.relay = None
    await parts.uow.run(raise_events(IntegrationEnabled(app_id="app-old", integration="sent")))
    await parts.db[OUTBOX].update_many({}, {"$set": {"sent_at": utc_now()}})
    await parts.uow.run(raise_events(IntegrationEnabled(app_id="app-old", integration="waiting")))

    async with EventTap(infra.amqp_url, ["integration.*"]) as tap:
        assert await OutboxRelay(parts.db, parts.broker, parts.metrics).drain() == 1
        await tap.wait_for(lambda events: len(ours(events, "app-old")) >= 1)
    assert ours(tap.events, "app-old") == ["waiting"]
    assert await parts.db[OUTBOX].count_documents({"sent_at": {"$ne": None}}) == 1
