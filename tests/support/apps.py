"""Serving a service's real app in the test process, on a real port, with real resources,
calling it, and feeding it events as its upstream services would."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aio_pika
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from platform_core.broker import Broker
from platform_core.events import CloudEvent, EventData, new_event
from platform_core.observability import METRICS_KEY
from tests.support.waiting import eventually


@contextlib.asynccontextmanager
async def serving(
    app: web.Application, port: int | None = None
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """Start `app` (running its cleanup contexts, so MongoDB and RabbitMQ are real) and stop it.

    `port` fixes the port when something outside must know it in advance (an IdP's redirect URI).
    """
    client: TestClient[web.Request, web.Application] = TestClient(
        TestServer(app, host="127.0.0.1", port=port)
    )
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


@dataclass
class ServiceUnderTest:
    """A served app, called with a token, and its consumer's counts."""

    client: TestClient[web.Request, web.Application]
    app: web.Application
    headers: dict[str, str]
    queue: str

    async def call(
        self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        async with self.client.request(
            method, path, json=json, headers=self.headers if headers is None else headers
        ) as response:
            body = await response.json(content_type=None) if response.status != 204 else None
            return response.status, body

    def consumed(self, event_type: str, outcome: str = "processed") -> float:
        registry = self.app[METRICS_KEY].registry
        value = registry.get_sample_value(
            "events_consumed_total", {"queue": self.queue, "type": event_type, "outcome": outcome}
        )
        return value or 0.0


PUBLISH_ATTEMPTS = 3


@dataclass
class UpstreamEvents:
    """Publishes real events as another service would, and waits until they were consumed."""

    broker: Broker
    service: ServiceUnderTest
    source: str

    async def send(self, event: CloudEvent, outcome: str = "processed") -> None:
        before = self.service.consumed(event.type, outcome)
        await self._publish(event)
        assert await eventually(lambda: self.service.consumed(event.type, outcome) > before), (
            f"{event.type} was not {outcome}"
        )

    async def publish(self, data: EventData) -> CloudEvent:
        event = new_event(self.source, data)
        await self.send(event)
        return event

    async def _publish(self, event: CloudEvent) -> None:
        # RabbitMQ closes a publishing connection when a queue bound to the same key is deleted
        # mid-delivery (another run's clean-up); the connection is robust and the event id is
        # deduplicated, so publishing again is safe.
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            try:
                await self.broker.publish(event)
                return
            except aio_pika.exceptions.AMQPError:
                if attempt == PUBLISH_ATTEMPTS:
                    raise
                assert await eventually(self.broker.is_ready)
