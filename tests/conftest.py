"""Fixtures every tier may use: the real infrastructure, unique names, tokens."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterable

import pytest
from pymongo import AsyncMongoClient

from platform_core.mongo import Document
from platform_core.service_auth import Scope, mint_token
from tests.support.infra import TEST_JWT_SECRET, Infra, ensure_infra
from tests.support.processes import delete_queues

ALL_SCOPES = (Scope.READ, Scope.WRITE, Scope.ISSUE_TOKENS)


@pytest.fixture(scope="session")
def infra() -> Infra:
    return ensure_infra()


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture(scope="session")
async def mongo_client(infra: Infra) -> AsyncIterator[AsyncMongoClient[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    yield client
    await client.close()


@pytest.fixture
def token() -> Callable[..., str]:
    def make(
        scopes: Iterable[Scope | str] = ALL_SCOPES,
        app_ids: Iterable[str] | None = None,
        ttl_seconds: int = 300,
        subject: str = "test-caller",
    ) -> str:
        return mint_token(
            TEST_JWT_SECRET, subject, scopes, app_ids=app_ids, ttl_seconds=ttl_seconds
        )

    return make


def _database(unique: str, service: str) -> str:
    return f"t_{unique}_{service.replace('-', '_')}"


def _queue(unique: str, service: str) -> str:
    return f"t.{unique}.{service}.events"


@pytest.fixture
async def _service_resources(
    infra: Infra, unique: str, mongo_client: AsyncMongoClient[Document]
) -> AsyncIterator[set[str]]:
    """Services a test configured; their databases and queues are removed afterwards."""
    used: set[str] = set()
    yield used
    for service in used:
        await mongo_client.drop_database(_database(unique, service))
        queue = _queue(unique, service)
        await delete_queues(
            infra.amqp_url, [queue, f"{queue}.dlq", f"{queue}.retry.1", f"{queue}.retry.2"]
        )


@pytest.fixture
def service_settings(
    infra: Infra, unique: str, _service_resources: set[str]
) -> Callable[[str], dict[str, object]]:
    """Keyword arguments for a service's settings class, with its own database and queue."""

    def settings(service: str) -> dict[str, object]:
        _service_resources.add(service)
        return {
            "mongodb_url": infra.mongodb_url,
            "amqp_url": infra.amqp_url,
            "platform_jwt_secret": TEST_JWT_SECRET,
            "mongodb_database": _database(unique, service),
            "event_queue": _queue(unique, service),
            "event_retry_delays_ms": (200, 400),
        }

    return settings


@pytest.fixture
def service_env(
    service_settings: Callable[[str], dict[str, object]],
) -> Callable[[str], dict[str, str]]:
    """The same settings as environment variables, for a service run as its own process."""

    def env(service: str) -> dict[str, str]:
        values = service_settings(service)
        values["event_retry_delays_ms"] = json.dumps(values["event_retry_delays_ms"])
        return {name.upper(): str(value) for name, value in values.items()}

    return env


@pytest.fixture
def extra_service_env() -> Callable[[str], dict[str, str]]:
    """Settings a service needs beyond the common ones, to start at all."""
    from tests.support.infra import service_specific_env

    return service_specific_env
