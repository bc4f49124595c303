"""An event tap: a test's own queue on the `integrations` exchange, to see what was published."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

from platform_core.events import EXCHANGE


class EventTap:
    def __init__(
        self,
        amqp_url: str,
        routing_keys: Sequence[str],
        durable_queue: str | None = None,
        subjects: Callable[[str], bool] | None = None,
    ) -> None:
        """`durable_queue` keeps the tap's queue across a broker restart (outage tests);
        `subjects` keeps only events about the test's own apps, whatever else shares the broker.
        """
        self._url = amqp_url
        self._subjects = subjects
        self._durable_queue = durable_queue
        self._keys = list(routing_keys)
        self.messages: list[AbstractIncomingMessage] = []
        self.events: list[dict[str, Any]] = []
        self._arrived = asyncio.Condition()
        self._connection: AbstractRobustConnection | None = None
        self._queue: AbstractQueue | None = None

    async def __aenter__(self) -> EventTap:
        self._connection = await aio_pika.connect_robust(self._url)
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(
            EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        if self._durable_queue:
            self._queue = await channel.declare_queue(
                self._durable_queue, durable=True, arguments={"x-queue-type": "quorum"}
            )
        else:
            self._queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for key in self._keys:
            await self._queue.bind(exchange, routing_key=key)
        await self._queue.consume(self._on_message, no_ack=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                if self._durable_queue and self._queue is not None:
                    await asyncio.wait_for(self._queue.delete(if_unused=False, if_empty=False), 10)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._connection.close(), 10)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        event = json.loads(message.body)
        if self._subjects is not None and not self._subjects(str(event.get("subject"))):
            return
        async with self._arrived:
            self.messages.append(message)
            self.events.append(event)
            self._arrived.notify_all()

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == event_type]

    async def wait_for(
        self,
        predicate: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 10.0,
    ) -> list[dict[str, Any]]:
        async def satisfied() -> None:
            async with self._arrived:
                await self._arrived.wait_for(lambda: predicate(self.events))

        await asyncio.wait_for(satisfied(), timeout)
        return self.events

    async def wait_for_type(
        self, event_type: str, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        await self.wait_for(lambda events: len(self.of_type(event_type)) >= count, timeout)
        return self.of_type(event_type)
