"""Fixtures every tier may use: the real infrastructure, unique names, tokens."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterable

import pytest
from platform_core.mongo import Document
from platform_core.service_auth import Scope, mint_token
from pymongo import AsyncMongoClient

from tests.support.infra import TEST_JWT_SECRET, Infra, ensure_infra

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


@pytest.fixture
def service_settings(infra: Infra, unique: str) -> Callable[[str], dict[str, object]]:
    """Keyword arguments for a service's settings class, with its own database and queue."""

    def settings(service: str) -> dict[str, object]:
        return {
            "mongodb_url": infra.mongodb_url,
            "amqp_url": infra.amqp_url,
            "platform_jwt_secret": TEST_JWT_SECRET,
            "mongodb_database": f"t_{unique}_{service.replace('-', '_')}",
            "event_queue": f"t.{unique}.{service}.events",
            "event_retry_delays_ms": (200, 400),
        }

    return settings


@pytest.fixture
def service_env(infra: Infra, unique: str) -> Callable[[str], dict[str, str]]:
    """The environment for one service process, with its own database and queue names."""

    def env(service: str) -> dict[str, str]:
        return {
            "MONGODB_URL": infra.mongodb_url,
            "AMQP_URL": infra.amqp_url,
            "PLATFORM_JWT_SECRET": TEST_JWT_SECRET,
            "MONGODB_DATABASE": f"t_{unique}_{service.replace('-', '_')}",
            "EVENT_QUEUE": f"t.{unique}.{service}.events",
            "EVENT_RETRY_DELAYS_MS": "[200, 400]",
            "LOG_LEVEL": "INFO",
        }

    return env
