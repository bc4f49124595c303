"""The idempotent event consumer: one durable quorum queue per service, with retries and a DLQ.

Topology for a queue `Q` (all durable):
- `Q` (quorum), bound to the `integrations` exchange for each routing key the service handles,
  dead-lettering to the `integrations.dlx` exchange with routing key `Q`;
- `Q.dlq` (quorum), bound to `integrations.dlx` with key `Q`: where poison messages rest;
- `Q.retry.N` (one per retry delay), whose messages expire after the delay and dead-letter back
  to `Q` through the default exchange: a delayed retry without a plugin.

A service whose replicas each keep their own state in memory (tool-service) consumes with
`replica=`: every replica then gets every event, on its own queue `Q.<replica>` that the broker
drops once it has been unused for `REPLICA_QUEUE_EXPIRES_MS` (a replica that went away takes
its queue with it). Such a queue has no retry queues, which would expire under a live replica;
a message it cannot handle goes to the service's one `Q.dlq`.

A service subscribes with `on(EventModel, handler)`: the routing key is the model's event type
and the handler receives the validated model, as HTTP views receive theirs. For each message: a
malformed one goes straight to `Q.dlq`; an event id already recorded in `processed_events` is
acknowledged and nothing else happens; otherwise the handler's writes and the processed-event
record commit in one transaction (with any events the handler raises), so a redelivered event
changes nothing. A handler failure is retried through `Q.retry.N` with growing
delays, then dead-lettered. Messages are acknowledged by hand, after the outcome is durable.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from opentelemetry.trace import SpanKind
from pymongo import ASCENDING

from platform_core import tracing
from platform_core.broker import Broker, declare_exchange
from platform_core.events import CloudEvent, EventData, InvalidEvent, parse_event, traceparent_of
from platform_core.logs import get_logger
from platform_core.mongo import IndexSpec
from platform_core.observability import ServiceMetrics
from platform_core.unit_of_work import (
    PROCESSED,
    AlreadyProcessed,
    Transaction,
    TransactionRunner,
)

log = get_logger("platform_core.consumer")

DLX = "integrations.dlx"
RETRY_HEADER = "x-retry-count"
REPLICA_QUEUE_EXPIRES_MS = 10 * 60 * 1000
PROCESSED_RETENTION = timedelta(days=30)

PROCESSED_INDEXES = (
    IndexSpec(
        PROCESSED,
        [("processed_at", ASCENDING)],
        "processed_expiry",
        {"expireAfterSeconds": int(PROCESSED_RETENTION.total_seconds())},
    ),
)

E = TypeVar("E", bound=EventData)
Handler = Callable[[Transaction[Any], E, CloudEvent], Awaitable[None]]


@dataclass(frozen=True)
class Subscription(Generic[E]):
    """One event type a consumer handles, and its handler (which gets the typed model)."""

    event: type[E]
    handle: Handler[E]

    @property
    def routing_key(self) -> str:
        return self.event.event_type


def on(event: type[E], handle: Handler[E]) -> Subscription[E]:
    return Subscription(event, handle)


class KeyedLocks:
    """One asyncio lock per key, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class EventConsumer:
    def __init__(
        self,
        broker: Broker,
        uow: TransactionRunner[Any],
        metrics: ServiceMetrics,
        queue: str,
        subscriptions: Sequence[Subscription[Any]],
        *,
        retry_delays_ms: Sequence[int] = (1_000, 5_000, 30_000),
        prefetch: int = 16,
        service: str = "",
        replica: str | None = None,
    ) -> None:
        self._subscriptions = {s.routing_key: s for s in subscriptions}
        if len(self._subscriptions) != len(subscriptions):
            raise ValueError("an event type is subscribed to twice")
        self._service = service
        self._broker = broker
        self._uow = uow
        self._metrics = metrics
        self._dead_letter_key = queue
        self._replica = replica
        self.queue_name = queue if replica is None else f"{queue}.{replica}"
        self._retry_delays_ms = () if replica is not None else tuple(retry_delays_ms)
        self._prefetch = prefetch
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._subject_locks = KeyedLocks()

    @property
    def dead_letter_queue(self) -> str:
        return f"{self._dead_letter_key}.dlq"

    def retry_queue(self, attempt: int) -> str:
        return f"{self.queue_name}.retry.{attempt}"

    async def start(self) -> None:
        channel = await self._broker.connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=self._prefetch)
        self._channel = channel
        self._queue = await self._declare_topology(channel)
        self._consumer_tag = await self._queue.consume(self._on_message, no_ack=False)

    async def _declare_topology(self, channel: AbstractChannel) -> AbstractQueue:
        exchange = await declare_exchange(channel)
        dlx = await channel.declare_exchange(DLX, aio_pika.ExchangeType.DIRECT, durable=True)
        dlq = await channel.declare_queue(
            self.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dlq.bind(dlx, routing_key=self._dead_letter_key)
        for attempt, delay in enumerate(self._retry_delays_ms, start=1):
            await channel.declare_queue(
                self.retry_queue(attempt),
                durable=True,
                arguments={
                    "x-queue-type": "quorum",
                    "x-message-ttl": delay,
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": self.queue_name,
                },
            )
        arguments: dict[str, Any] = {
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": DLX,
            "x-dead-letter-routing-key": self._dead_letter_key,
        }
        if self._replica is not None:
            arguments["x-expires"] = REPLICA_QUEUE_EXPIRES_MS
        queue = await channel.declare_queue(self.queue_name, durable=True, arguments=arguments)
        for routing_key in self._subscriptions:
            await queue.bind(exchange, routing_key=routing_key)
        return queue

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop taking messages, let in-flight ones finish, close the channel.

        Each step is bounded: a message still unfinished at the deadline is simply not acked,
        so the broker redelivers it and the processed-event record makes that harmless.
        """
        if self._queue is not None and self._consumer_tag is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._queue.cancel(self._consumer_tag), timeout)
        if self._in_flight:
            _, unfinished = await asyncio.wait(set(self._in_flight), timeout=timeout)
            for task in unfinished:
                task.cancel()
        if self._channel is not None and not self._channel.is_closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._channel.close(), timeout)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            with structlog.contextvars.bound_contextvars(
                event_id=message.message_id, queue=self.queue_name
            ):
                await self._handle(message)
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope, data = parse_event(message.body)
        except InvalidEvent as exc:
            await self._dead_letter(message, message.type or "unknown", str(exc))
            return
        subscription = self._subscriptions.get(envelope.type)
        if subscription is None:
            await self._dead_letter(message, envelope.type, "no handler for this event type")
            return
        # Messages run concurrently up to the prefetch, but those about one app run in the order
        # they arrived: tasks start in delivery order and asyncio locks are fair.
        async with self._subject_locks.hold(envelope.subject):
            trace = traceparent_of(envelope)
            with tracing.span(
                f"process {envelope.type}",
                SpanKind.CONSUMER,
                parent={"traceparent": trace} if trace is not None else None,
                attributes={
                    "messaging.system": "rabbitmq",
                    "messaging.destination.name": self.queue_name,
                    "messaging.message.id": envelope.id,
                    "service.name": self._service,
                },
            ):
                await self._handle_valid(message, subscription, envelope, data)

    async def _handle_valid(
        self,
        message: AbstractIncomingMessage,
        subscription: Subscription[Any],
        envelope: CloudEvent,
        data: EventData,
    ) -> None:
        try:
            await self._uow.run(
                lambda tx: subscription.handle(tx, data, envelope), processing=envelope
            )
        except AlreadyProcessed:
            await self._finish(message, envelope.type, "duplicate")
        except InvalidEvent as exc:
            await self._dead_letter(message, envelope.type, str(exc))
        except Exception as exc:
            await self._retry_or_dead_letter(message, envelope.type, exc)
        else:
            await self._finish(message, envelope.type, "processed")

    async def _finish(
        self, message: AbstractIncomingMessage, event_type: str, outcome: str
    ) -> None:
        await message.ack()
        self._metrics.events_consumed.labels(self.queue_name, event_type, outcome).inc()
        log.info("event_" + outcome, event_type=event_type)

    async def _dead_letter(
        self, message: AbstractIncomingMessage, event_type: str, reason: str
    ) -> None:
        await message.reject(requeue=False)
        self._metrics.events_consumed.labels(self.queue_name, event_type, "dead_lettered").inc()
        log.warning("event_dead_lettered", event_type=event_type, reason=reason)

    async def _retry_or_dead_letter(
        self, message: AbstractIncomingMessage, event_type: str, exc: Exception
    ) -> None:
        attempt = _retry_count(message) + 1
        if attempt > len(self._retry_delays_ms) or self._channel is None:
            log.error("event_failed_permanently", event_type=event_type, exc_info=exc)
            await self._dead_letter(message, event_type, f"failed {attempt} times")
            return
        retry = aio_pika.Message(
            body=message.body,
            content_type=message.content_type,
            message_id=message.message_id,
            type=message.type,
            app_id=message.app_id,
            timestamp=message.timestamp,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers={**(message.headers or {}), RETRY_HEADER: attempt},
        )
        await self._channel.default_exchange.publish(retry, routing_key=self.retry_queue(attempt))
        await message.ack()
        self._metrics.events_consumed.labels(self.queue_name, event_type, "retried").inc()
        log.warning(
            "event_retry_scheduled",
            event_type=event_type,
            attempt=attempt,
            error=type(exc).__name__,
            exc_info=exc,
        )


def _retry_count(message: AbstractIncomingMessage) -> int:
    value = (message.headers or {}).get(RETRY_HEADER, 0)
    return value if isinstance(value, int) else 0
