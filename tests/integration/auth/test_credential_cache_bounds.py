"""The credential cache's bounds with two auth-service processes on a MongoDB-compatible server
of the test's own (so it may fail commands on purpose):

- while a replica's change stream is down, what the other replica rotated stops being served
  there within the cache's maximum age;
- a cached token is never handed out when it expires within the caller's min_valid_seconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pymongo import AsyncMongoClient

from devinfra.mongodb import start_secantus, stop_secantus
from devinfra.process import free_port
from platform_core.mongo import Document
from tests.integration.auth.conftest import Api, Leaks, Stack, process_env, two_replicas
from tests.support.metrics import metric
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth, pytest.mark.slow]

MAX_AGE_SECONDS = 3.0
# Past the maximum age, time for a poll and a read; far below anything a stream could explain
# since the stream is down.
DEADLINE_SECONDS = MAX_AGE_SECONDS + 5.0
STREAM_BROKEN = {
    "configureFailPoint": "failCommand",
    "mode": "alwaysOn",
    # Fails the stream's getMore and every attempt to open a new one; plain reads still work.
    "data": {"failCommands": ["aggregate", "getMore"], "errorCode": 2},
}


@dataclass
class Replicas:
    rotating: Api
    cut_off: Api
    database: AsyncMongoClient[Document]


@pytest.fixture
async def replicas(
    stack: Stack,
    service_env: Callable[[str], dict[str, str]],
    token: Callable[..., str],
    leaks: Leaks,
    tmp_path: Path,
) -> AsyncIterator[Replicas]:
    state = tmp_path / "mongodb"
    url = start_secantus(state, free_port(), state / "data", test_commands=True)
    env = process_env(
        stack,
        service_env,
        MONGODB_URL=url,
        CREDENTIAL_CACHE_MAX_AGE_SECONDS=str(MAX_AGE_SECONDS),
    )
    database: AsyncMongoClient[Document] = AsyncMongoClient(url, tz_aware=True)
    try:
        async with (
            two_replicas(stack, env, tmp_path, leaks) as (first, second),
            aiohttp.ClientSession() as session,
        ):
            yield Replicas(
                Api(session, first.url, token(), leaks),
                Api(session, second.url, token(), leaks),
                database,
            )
    finally:
        await database.admin.command({"configureFailPoint": "failCommand", "mode": "off"})
        await database.close()
        stop_secantus(state)


async def cache_hits(api: Api) -> float:
    return await metric(api.base_url, "credential_cache_lookups_total", outcome="hit")


async def stream_up(api: Api) -> bool:
    return await metric(api.base_url, "credential_cache_stream_up") == 1


async def served(api: Api, app_id: str, **body: Any) -> str:
    status, answer = await api.access_token(app_id, **body)
    assert status == 200, answer
    return str(answer["access_token"])


async def test_with_its_stream_down_a_replica_stops_serving_a_rotated_token_within_the_max_age(
    replicas: Replicas, connect: Any, unique: str
) -> None:
    app_id = f"app-{unique}"
    await connect(replicas.rotating, app_id)
    assert await eventually(lambda: stream_up(replicas.cut_off))
    old = await served(replicas.cut_off, app_id)
    hits = await cache_hits(replicas.cut_off)
    assert await served(replicas.cut_off, app_id) == old
    assert await cache_hits(replicas.cut_off) > hits

    await replicas.database.admin.command(STREAM_BROKEN)

    async def stream_down() -> bool:
        return not await stream_up(replicas.cut_off)

    assert await eventually(stream_down, timeout=10)
    new = await served(replicas.rotating, app_id, force_refresh=True)
    assert new != old

    async def serving_the_rotation() -> bool:
        return await served(replicas.cut_off, app_id) == new

    assert await eventually(serving_the_rotation, timeout=DEADLINE_SECONDS)
    # Still down: the maximum age, not the stream, explains it.
    assert await stream_down()


async def test_a_cached_token_that_expires_within_min_valid_seconds_is_refreshed_not_served(
    replicas: Replicas, connect: Any, unique: str
) -> None:
    app_id = f"app-{unique}"
    await connect(replicas.rotating, app_id)
    cached = await served(replicas.cut_off, app_id)
    assert await served(replicas.cut_off, app_id) == cached

    # Every token the identity provider issues lives for less than the largest window.
    fresh = await served(replicas.cut_off, app_id, min_valid_seconds=3600)

    assert fresh != cached
    assert await served(replicas.rotating, app_id) == fresh
