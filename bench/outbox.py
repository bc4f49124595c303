"""The transactional outbox: what storing events with the change, then relaying them, costs.

1. Latency, sequential: from `UnitOfWork.run` committing a change with one event to that event
   arriving at a consumer, against publishing the same event straight to RabbitMQ with a
   publisher confirm (`platform_core.broker.Broker`, no database) until the consumer has it.
2. The relay's sustained throughput: EVENTS events already committed for PRODUCERS aggregates
   (apps), relayed until the consumer has every one, against raw confirmed publishing of the
   same events by PRODUCERS concurrent publishers through `Broker`, timed the same way. Goal: at
   least half the raw rate.
3. End to end: PRODUCERS concurrent producers, each its own app, committing EVENTS changes with
   one event each through `UnitOfWork` until the consumer has every event, against the same
   commits each followed by a direct publish (a "dual write", no outbox). The ratio is what the
   outbox's guarantee costs over writing and then publishing.

The relay runs in this process, woken by each commit, as in a service.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient

from bench.report import Figure, compare, concurrently, latency_figures, paired
from platform_core.broker import Broker
from platform_core.events import EventData, new_event
from platform_core.mongo import Document, ensure_indexes
from platform_core.observability import ServiceMetrics
from platform_core.outbox import OUTBOX_INDEXES, OutboxRelay
from platform_core.unit_of_work import Transaction, UnitOfWork
from tests.support.events import EventTap
from tests.support.infra import Infra, ensure_infra
from tests.support.raw import RawCollections

LATENCY_EVENTS = 200
EVENTS = 500
PRODUCERS = 16
THROUGHPUT_GOAL = 0.5
SOURCE = "/bench"


class Marked(EventData):
    """The benchmark's own event type: no service consumes it, whatever shares the broker."""

    event_type = "bench.outbox.marked"
    marker: str


@dataclass(frozen=True)
class Publishers:
    """The two ways of getting one event (for app `app_id`, marked `marker`) to the exchange."""

    direct: Callable[[str, str], Awaitable[None]]
    outbox: Callable[[str, str], Awaitable[None]]
    dual_write: Callable[[str, str], Awaitable[None]]


@contextlib.asynccontextmanager
async def publishers(infra: Infra) -> AsyncIterator[Publishers]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    db = client[f"bench_{uuid.uuid4().hex[:8]}"]
    await ensure_indexes(db, OUTBOX_INDEXES)
    broker = Broker(infra.amqp_url, "bench")
    await broker.connect()
    relay = OutboxRelay(db, broker, ServiceMetrics(), poll_interval=1.0)
    uow = UnitOfWork(client, db, SOURCE, RawCollections, relay)
    relay_task = asyncio.create_task(relay.run())

    async def direct(app_id: str, marker: str) -> None:
        await broker.publish(new_event(SOURCE, Marked(app_id=app_id, marker=marker)))

    async def outbox(app_id: str, marker: str) -> None:
        await uow.run(lambda tx: _publish_in(tx, app_id, marker))

    async def dual_write(app_id: str, marker: str) -> None:
        async def work(tx: Transaction[RawCollections]) -> None:
            await tx.repos.state.update_one({"_id": marker}, {"$set": {"m": marker}}, upsert=True)

        await uow.run(work)
        await direct(app_id, marker)

    try:
        yield Publishers(direct, outbox, dual_write)
    finally:
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)
        await broker.close()
        await client.drop_database(db.name)
        await client.close()


def _newest_is(marker: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda events: bool(events) and events[-1]["data"]["marker"] == marker


async def latency(infra: Infra, sent: Publishers) -> None:
    app_id = f"lat-{uuid.uuid4().hex[:8]}"
    async with EventTap(infra.amqp_url, [Marked.event_type], subjects=lambda s: s == app_id) as tap:

        def delivered(
            publish: Callable[[str, str], Awaitable[None]],
        ) -> Callable[[], Awaitable[None]]:
            async def call() -> None:
                marker = uuid.uuid4().hex
                await publish(app_id, marker)
                await tap.wait_for(_newest_is(marker))

            return call

        subject, baseline = await paired(
            delivered(sent.outbox), delivered(sent.direct), LATENCY_EVENTS
        )
    compare(
        "outbox.latency",
        f"commit through UnitOfWork -> consumer ({LATENCY_EVENTS} sequential)",
        "confirmed publish -> consumer",
        latency_figures(subject, baseline),
    )


def _apps(prefix: str) -> list[str]:
    return [f"{prefix}-{n}" for n in range(PRODUCERS)]


@contextlib.asynccontextmanager
async def _consumed(infra: Infra, apps: list[str]) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """A tap on the apps' events, and a wait until it has EVENTS of them."""
    wanted = set(apps)
    async with EventTap(infra.amqp_url, [Marked.event_type], subjects=wanted.__contains__) as tap:

        async def all_arrived() -> None:
            await tap.wait_for(lambda events: len(events) >= EVENTS, timeout=120)

        yield all_arrived


async def _committed_then_relayed(infra: Infra, apps: list[str]) -> float:
    """EVENTS events committed with no relay running, then one relay drains them."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    db = client[f"bench_{uuid.uuid4().hex[:8]}"]
    await ensure_indexes(db, OUTBOX_INDEXES)
    broker = Broker(infra.amqp_url, "bench")
    await broker.connect()
    uow = UnitOfWork(client, db, SOURCE, RawCollections, None)
    try:

        async def commit(index: int) -> None:
            app_id = apps[index % len(apps)]
            await uow.run(lambda tx: _publish_in(tx, app_id, f"{app_id}-{index}"))

        await concurrently(commit, EVENTS, PRODUCERS)
        async with _consumed(infra, apps) as all_arrived:
            started = time.perf_counter()
            await OutboxRelay(db, broker, ServiceMetrics()).drain()
            await all_arrived()
            return EVENTS / (time.perf_counter() - started)
    finally:
        await broker.close()
        await client.drop_database(db.name)
        await client.close()


async def _published(
    infra: Infra, publish: Callable[[str, str], Awaitable[None]], apps: list[str]
) -> float:
    async with _consumed(infra, apps) as all_arrived:

        async def send(index: int) -> None:
            app_id = apps[index % len(apps)]
            await publish(app_id, f"{app_id}-{index}")

        started = time.perf_counter()
        await concurrently(send, EVENTS, PRODUCERS)
        await all_arrived()
        return EVENTS / (time.perf_counter() - started)


async def _publish_in(tx: Transaction[RawCollections], app_id: str, marker: str) -> None:
    await tx.repos.state.update_one({"_id": marker}, {"$set": {"m": marker}}, upsert=True)
    tx.publish(Marked(app_id=app_id, marker=marker))


async def relay_throughput(infra: Infra, sent: Publishers) -> None:
    baseline = await _published(infra, sent.direct, _apps(f"raw-{uuid.uuid4().hex[:6]}"))
    subject = await _committed_then_relayed(infra, _apps(f"relay-{uuid.uuid4().hex[:6]}"))
    met = subject >= THROUGHPUT_GOAL * baseline
    compare(
        "outbox.relay_throughput",
        f"{EVENTS} committed events of {PRODUCERS} apps, relayed until consumed",
        f"{EVENTS} confirmed publishes by {PRODUCERS} publishers, until consumed",
        [Figure("throughput", subject, baseline, "ev/s", f">= {THROUGHPUT_GOAL}x", met)],
    )


async def end_to_end_throughput(infra: Infra, sent: Publishers) -> None:
    baseline = await _published(infra, sent.dual_write, _apps(f"dual-{uuid.uuid4().hex[:6]}"))
    subject = await _published(infra, sent.outbox, _apps(f"uow-{uuid.uuid4().hex[:6]}"))
    compare(
        "outbox.end_to_end_throughput",
        f"{EVENTS} commits with one event each through UnitOfWork by {PRODUCERS} producers",
        "the same commits, each followed by a direct confirmed publish",
        [Figure("throughput", subject, baseline, "ev/s")],
    )


async def main() -> None:
    infra = ensure_infra()
    async with publishers(infra) as sent:
        await latency(infra, sent)
        await relay_throughput(infra, sent)
        await end_to_end_throughput(infra, sent)


if __name__ == "__main__":
    asyncio.run(main())
