"""Each auth-service replica caches credentials for the token fast path; what the other replica,
integration-service or an operator changes stops being served everywhere within the bound.

Two replicas share the database. Calls go to one replica or the other on purpose, so they are
made on the wire. The deadline is below the cache's maximum age (10 s by default), so only the
change stream can explain a replica noticing in time.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from pymongo import AsyncMongoClient

from integrations_client import IntegrationsClient
from platform_core.mongo import Document
from platform_core.service_auth import Scope
from tests.e2e.conftest import System
from tests.support.metrics import metric
from tests.support.scenarios import connected_app
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth, pytest.mark.slow]

DEADLINE_SECONDS = 8.0


async def vend(
    system: System, replica: int, app_id: str, *, force: bool = False
) -> tuple[int, dict[str, Any]]:
    url = f"{system.auth[replica].url}/v1/apps/{app_id}/integrations/confluence/access-token"
    body = {"subject": {"type": "app"}, "force_refresh": force}
    headers = system.headers(Scope.ISSUE_TOKENS, Scope.WRITE)
    async with aiohttp.ClientSession() as http, http.post(url, json=body, headers=headers) as r:
        return r.status, await r.json()


def serving(system: System, replica: int, app_id: str, token: str) -> Any:
    async def check() -> bool:
        status, body = await vend(system, replica, app_id)
        return status == 200 and body["access_token"] == token

    return check


def refusing(system: System, replica: int, app_id: str, codes: set[str]) -> Any:
    async def check() -> bool:
        status, body = await vend(system, replica, app_id)
        return status != 200 and body.get("code") in codes

    return check


async def cache_hits(system: System, replica: int) -> float:
    return await metric(system.auth[replica].url, "credential_cache_lookups_total", outcome="hit")


async def warm(system: System, app_id: str) -> str:
    """Both replicas have served the same token, the second time from their cache."""
    tokens = set()
    for replica in (0, 1):
        hits = await cache_hits(system, replica)
        for _ in range(2):
            status, body = await vend(system, replica, app_id)
            assert status == 200, body
            tokens.add(body["access_token"])
        assert await cache_hits(system, replica) > hits
    (token,) = tokens
    return str(token)


async def test_a_rotation_by_the_other_replica_is_served_by_both(
    system: System, api: IntegrationsClient
) -> None:
    app_id = await connected_app(api)
    old = await warm(system, app_id)
    status, rotated = await vend(system, 1, app_id, force=True)
    assert status == 200 and rotated["access_token"] != old
    assert await eventually(
        serving(system, 0, app_id, rotated["access_token"]), timeout=DEADLINE_SECONDS
    )


async def test_disabling_stops_every_replica_vending_and_enabling_resumes_it(
    system: System, api: IntegrationsClient
) -> None:
    app_id = await connected_app(api)
    token = await warm(system, app_id)
    await api.disable(app_id, "confluence")
    for replica in (0, 1):
        refused = refusing(system, replica, app_id, {"integration_disabled"})
        assert await eventually(refused, timeout=DEADLINE_SECONDS)
    await api.enable(app_id, "confluence")
    for replica in (0, 1):
        assert await eventually(serving(system, replica, app_id, token), timeout=DEADLINE_SECONDS)


async def test_a_revocation_on_one_replica_stops_the_other_vending(
    system: System, api: IntegrationsClient
) -> None:
    app_id = await connected_app(api)
    _, body = await vend(system, 0, app_id)
    await warm(system, app_id)
    url = f"{system.auth[1].url}/v1/apps/{app_id}/credentials/{body['credential_id']}"
    async with (
        aiohttp.ClientSession() as http,
        http.delete(url, headers=system.headers(Scope.WRITE)) as response,
    ):
        assert response.status == 204
    gone = {"credential_not_found", "reauthorization_required"}
    assert await eventually(refusing(system, 0, app_id, gone), timeout=DEADLINE_SECONDS)


async def test_a_credential_deleted_from_the_database_stops_being_served(
    system: System, api: IntegrationsClient
) -> None:
    app_id = await connected_app(api)
    await warm(system, app_id)
    mongo: AsyncMongoClient[Document] = AsyncMongoClient(system.infra.mongodb_url)
    try:
        credentials = mongo[system.database("auth-service")]["credentials"]
        deleted = await credentials.delete_many({"app_id": app_id})
        assert deleted.deleted_count == 1
    finally:
        await mongo.close()
    for replica in (0, 1):
        gone = refusing(system, replica, app_id, {"credential_not_found"})
        assert await eventually(gone, timeout=DEADLINE_SECONDS)
