"""Outbox latency: from a committed change to the event arriving at a consumer.

Baseline, in the same run: publishing the same event straight to RabbitMQ with a publisher
confirm, no database at all. The ratio says what the transactional guarantee costs; the target
is a few milliseconds, i.e. the relay is woken by the commit and never waits for its poll.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import AsyncMongoClient

from platform_core.broker import Broker
from platform_core.events import IntegrationEnabled, new_event
from platform_core.mongo import Document, ensure_indexes
from platform_core.observability import ServiceMetrics
from platform_core.outbox import OUTBOX_INDEXES, OutboxRelay
from platform_core.unit_of_work import Transaction, UnitOfWork
from tests.support.events import EventTap
from tests.support.infra import ensure_infra
from tests.support.raw import RawCollections

EVENTS = 200


def _last_is(marker: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda events: bool(events) and events[-1]["data"]["integration"] == marker


async def measure(send: Callable[[str], Awaitable[None]], tap: EventTap, count: int) -> list[float]:
    latencies = []
    for i in range(count):
        marker = f"{uuid.uuid4().hex}-{i}"
        started = time.perf_counter()
        await send(marker)
        await tap.wait_for(_last_is(marker))
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def summary(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]


async def main() -> None:
    infra = ensure_infra()
    client: AsyncMongoClient[Document] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    db_name = f"bench_{uuid.uuid4().hex[:8]}"
    db = client[db_name]
    await ensure_indexes(db, OUTBOX_INDEXES)
    broker = Broker(infra.amqp_url, "bench")
    await broker.connect()
    relay = OutboxRelay(db, broker, ServiceMetrics(), poll_interval=1.0)
    uow = UnitOfWork(client, db, "/bench", RawCollections, relay)
    relay_task = asyncio.create_task(relay.run())
    try:
        async with EventTap(infra.amqp_url, ["integration.enabled"]) as tap:

            async def direct(marker: str) -> None:
                await broker.publish(
                    new_event("/bench", IntegrationEnabled(app_id="b", integration=marker))
                )

            async def through_outbox(marker: str) -> None:
                async def work(tx: Transaction[RawCollections]) -> None:
                    await tx.repos.state.update_one(
                        {"_id": "b"}, {"$set": {"m": marker}}, upsert=True
                    )
                    tx.publish(IntegrationEnabled(app_id="b", integration=marker))

                await uow.run(work)

            base = summary(await measure(direct, tap, EVENTS))
            outbox = summary(await measure(through_outbox, tap, EVENTS))
    finally:
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)
        await broker.close()
        await client.drop_database(db_name)
        await client.close()
    print(f"events: {EVENTS} sequential")
    print(f"baseline  (direct publish + confirm): p50 {base[0]:.2f} ms  p99 {base[1]:.2f} ms")
    print(f"outbox (commit -> consumer):          p50 {outbox[0]:.2f} ms  p99 {outbox[1]:.2f} ms")
    print(f"ratio outbox/baseline: p50 x{outbox[0] / base[0]:.2f}  p99 x{outbox[1] / base[1]:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
