"""Fixtures of the client's unit tests: the fake services and a client pointed at them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from integrations_client import IntegrationsClient, RetryPolicy
from tests.unit.client.fakes import SECRET, FakeServices


@pytest.fixture
async def services() -> AsyncIterator[FakeServices]:
    fake = FakeServices()
    server = TestServer(fake.app)
    await server.start_server()
    fake.base_url = str(server.make_url("")).rstrip("/")
    try:
        yield fake
    finally:
        await server.close()


@pytest.fixture
def sleeps() -> list[float]:
    """The waits the client's retry policy asked for, in order (none is actually slept)."""
    return []


@pytest.fixture
def retry(sleeps: list[float]) -> RetryPolicy:
    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    return RetryPolicy(attempts=4, base_delay=0.2, max_delay=5.0, sleep=record)


@pytest.fixture
async def client(services: FakeServices, retry: RetryPolicy) -> AsyncIterator[IntegrationsClient]:
    async with IntegrationsClient.with_secret(services.urls(), SECRET, retry=retry) as made:
        yield made
