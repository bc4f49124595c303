"""The credential cache against the real MongoDB-compatible server and its change stream: what
another writer changes stops being served once its change arrives, and while the stream is down
nothing older than the maximum age is served."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from auth_service.adapters.credential_cache import CredentialCache
from platform_core.mongo import Document
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo]

KEY = ("app-1", "confluence", "app")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def credential(version: int = 1, **fields: Any) -> Document:
    return {
        "_id": "cred-1",
        "app_id": KEY[0],
        "integration": KEY[1],
        "subject_key": KEY[2],
        "status": "active",
        "integration_disabled": False,
        "version": version,
        **fields,
    }


def lookups(registry: CollectorRegistry, outcome: str) -> float:
    value = registry.get_sample_value("credential_cache_lookups_total", {"outcome": outcome})
    return value or 0.0


@pytest.fixture
async def credentials(
    mongo_client: AsyncMongoClient[Document], unique: str
) -> AsyncIterator[AsyncCollection[Document]]:
    db = mongo_client[f"t_{unique}_cache"]
    yield db["credentials"]
    await mongo_client.drop_database(db.name)


@contextlib.asynccontextmanager
async def watched(cache: CredentialCache) -> AsyncIterator[None]:
    task = asyncio.create_task(cache.watch())
    try:
        await asyncio.wait_for(cache.watching.wait(), 10)
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_changes_by_another_writer_stop_being_served_once_the_stream_delivers_them(
    credentials: AsyncCollection[Document],
) -> None:
    registry = CollectorRegistry()
    # A maximum age far beyond the deadlines below: only the change stream can explain them.
    cache = CredentialCache(credentials, max_age_seconds=300, registry=registry)
    await credentials.insert_one(credential(access_token="sealed-1"))
    async with watched(cache):
        assert (await cache.find(*KEY) or {})["access_token"] == "sealed-1"
        assert (await cache.find(*KEY) or {})["access_token"] == "sealed-1"
        assert lookups(registry, "hit") == 1

        # A rotation by another replica.
        await credentials.update_one(
            {"_id": "cred-1"}, {"$set": {"access_token": "sealed-2", "version": 2}}
        )

        async def rotated() -> bool:
            return (await cache.find(*KEY) or {}).get("access_token") == "sealed-2"

        assert await eventually(rotated, timeout=5)

        # A disable: served from the database from then on, never kept.
        await credentials.update_one(
            {"_id": "cred-1"}, {"$set": {"integration_disabled": True}, "$inc": {"version": 1}}
        )

        async def disabled() -> bool:
            return bool((await cache.find(*KEY) or {}).get("integration_disabled"))

        assert await eventually(disabled, timeout=5)
        hits = lookups(registry, "hit")
        await cache.find(*KEY)
        assert lookups(registry, "hit") == hits

        # Enabled again, then revoked, then deleted.
        await credentials.update_one(
            {"_id": "cred-1"}, {"$set": {"integration_disabled": False}, "$inc": {"version": 1}}
        )
        assert await eventually(lambda: _not_disabled(cache), timeout=5)
        await credentials.update_one({"_id": "cred-1"}, {"$set": {"status": "revoked"}})

        async def revoked() -> bool:
            return (await cache.find(*KEY) or {}).get("status") == "revoked"

        assert await eventually(revoked, timeout=5)
        await credentials.update_one({"_id": "cred-1"}, {"$set": {"status": "active"}})
        await cache.find(*KEY)
        await credentials.delete_one({"_id": "cred-1"})

        async def deleted() -> bool:
            return await cache.find(*KEY) is None

        assert await eventually(deleted, timeout=5)


async def _not_disabled(cache: CredentialCache) -> bool:
    found = await cache.find(*KEY)
    return found is not None and not found["integration_disabled"]


async def test_while_the_stream_is_down_no_entry_is_served_past_its_maximum_age(
    credentials: AsyncCollection[Document],
) -> None:
    clock = Clock()
    cache = CredentialCache(credentials, max_age_seconds=10, clock=clock)
    await credentials.insert_one(credential(access_token="sealed-1"))
    assert (await cache.find(*KEY) or {})["access_token"] == "sealed-1"
    await credentials.update_one({"_id": "cred-1"}, {"$set": {"access_token": "sealed-2"}})

    clock.now += 10
    assert (await cache.find(*KEY) or {})["access_token"] == "sealed-1"
    clock.now += 0.5
    assert (await cache.find(*KEY) or {})["access_token"] == "sealed-2"


async def test_opening_the_stream_starts_from_an_empty_cache(
    credentials: AsyncCollection[Document],
) -> None:
    registry = CollectorRegistry()
    cache = CredentialCache(credentials, max_age_seconds=300, registry=registry)
    await credentials.insert_one(credential())
    await cache.find(*KEY)
    async with watched(cache):
        await cache.find(*KEY)
    # Whatever changed before the stream was open was never seen: nothing older was served.
    assert lookups(registry, "hit") == 0
    assert lookups(registry, "miss") == 2


async def test_a_read_that_a_change_overtook_is_not_kept(
    credentials: AsyncCollection[Document],
) -> None:
    class Overtaken:
        """The collection, where a change event arrives while the first read is on its way."""

        cache: CredentialCache | None = None
        overtake = True

        async def find_one(self, query: Document) -> Document | None:
            found = await credentials.find_one(query)
            if self.cache is not None and self.overtake:
                self.overtake = False
                self.cache.forget("cred-1")
            return found

    registry = CollectorRegistry()
    collection = Overtaken()
    cache = CredentialCache(collection, max_age_seconds=300, registry=registry)  # type: ignore[arg-type]
    collection.cache = cache
    await credentials.insert_one(credential())
    await cache.find(*KEY)
    await cache.find(*KEY)
    await cache.find(*KEY)
    assert (lookups(registry, "miss"), lookups(registry, "hit")) == (2, 1)


async def test_a_maximum_age_of_zero_turns_the_cache_off(
    credentials: AsyncCollection[Document],
) -> None:
    registry = CollectorRegistry()
    cache = CredentialCache(credentials, max_age_seconds=0, registry=registry)
    await credentials.insert_one(credential())
    for _ in range(3):
        await cache.find(*KEY)
    await asyncio.wait_for(cache.watch(), 1)  # returns at once: nothing to watch
    assert lookups(registry, "bypass") == 3
    assert lookups(registry, "hit") == 0
