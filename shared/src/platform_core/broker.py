"""The RabbitMQ connection of one service: the `integrations` topic exchange and publishing.

Publishing uses a channel with publisher confirms and persistent delivery (contract §4), so
`publish` returns only once the broker has taken responsibility for the message. The connection
is aio-pika's robust one: after an outage it reconnects and re-declares what was declared.
"""

from __future__ import annotations

import asyncio
import contextlib

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from platform_core.events import CONTENT_TYPE, EXCHANGE, CloudEvent, traceparent_of
from platform_core.logs import get_logger

log = get_logger("platform_core.broker")

PUBLISH_TIMEOUT_SECONDS = 5.0


class Broker:
    def __init__(self, url: str, service: str) -> None:
        self._url = url
        self._service = service
        self._connection: AbstractRobustConnection | None = None
        self._exchange: AbstractExchange | None = None

    @property
    def connection(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise RuntimeError("Broker.connect() has not run")
        return self._connection

    async def connect(self, attempts: int = 30, delay: float = 1.0) -> None:
        for attempt in range(1, attempts + 1):
            try:
                self._connection = await aio_pika.connect_robust(
                    self._url, client_properties={"connection_name": self._service}, timeout=5
                )
                break
            except (TimeoutError, OSError, aio_pika.exceptions.AMQPError) as exc:
                if attempt == attempts:
                    raise
                log.warning("broker_unreachable", attempt=attempt, error=type(exc).__name__)
                await asyncio.sleep(delay)
        channel = await self.connection.channel(publisher_confirms=True)
        self._exchange = await declare_exchange(channel)

    def is_ready(self) -> bool:
        return (
            self._connection is not None
            and not self._connection.is_closed
            and bool(self._connection.connected.is_set())
        )

    async def publish(self, event: CloudEvent) -> None:
        if self._exchange is None:
            raise RuntimeError("Broker.connect() has not run")
        trace = traceparent_of(event)
        message = aio_pika.Message(
            body=event.model_dump_json().encode(),
            headers={"traceparent": trace} if trace is not None else None,
            content_type=CONTENT_TYPE,
            message_id=event.id,
            type=event.type,
            app_id=self._service,
            timestamp=event.time,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self._exchange.publish(
            message, routing_key=event.type, mandatory=False, timeout=PUBLISH_TIMEOUT_SECONDS
        )

    async def close(self, timeout: float = 10.0) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._connection.close(), timeout)


async def declare_exchange(channel: AbstractChannel) -> AbstractExchange:
    return await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
