"""Refresh against the real OAuth server: rotation, reuse detection, a response without a
refresh token, transient failures and timeouts, and the keep-alive sweeper."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from auth_service.adapters.leases import Leases
from auth_service.adapters.vault import Vault
from auth_service.app import MAINTENANCE_KEY
from platform_core.contract_types import utc_now
from tests.integration.auth.conftest import Api, Leaks, Stack, stored_tokens
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth]


async def expire(db: Any, credential_id: str) -> None:
    await db.credentials.update_one(
        {"_id": credential_id}, {"$set": {"expires_at": utc_now() - timedelta(seconds=5)}}
    )


async def events_for(
    stack: Stack, event_type: str, credential_id: str, count: int = 1
) -> list[Any]:
    def enough(events: list[dict[str, Any]]) -> bool:
        return len(_matching(stack, event_type, credential_id)) >= count

    await stack.events.wait_for(enough)
    return _matching(stack, event_type, credential_id)


def _matching(stack: Stack, event_type: str, credential_id: str) -> list[Any]:
    return [
        e for e in stack.events.of_type(event_type) if e["data"]["credential_id"] == credential_id
    ]


async def test_an_expired_token_is_refreshed_and_the_rotated_tokens_are_stored(
    api: Api, stack: Stack, connect: Any, auth_db: Any, vault: Vault, leaks: Leaks, unique: str
) -> None:
    app_id = f"app-{unique}"
    credential_id = await connect(api, app_id)
    before = await stored_tokens(auth_db, vault, credential_id, leaks)
    await expire(auth_db, credential_id)
    await stack.idp.reset_stats()

    status, token = await api.access_token(app_id)
    assert status == 200, token
    after = await stored_tokens(auth_db, vault, credential_id, leaks)
    assert token["access_token"] == after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]
    assert after["version"] == before["version"] + 1
    assert after["expires_at"] > utc_now() + timedelta(minutes=50)
    assert (await stack.idp.token_request_counts())["refresh_token"] == 1
    [event] = await events_for(stack, "credential.refreshed", credential_id)
    assert event["data"]["subject"] == {"type": "app"}

    status, again = await api.access_token(app_id)  # valid now: no second refresh
    assert again["access_token"] == token["access_token"]
    assert (await stack.idp.token_request_counts())["refresh_token"] == 1


async def test_force_refresh_refreshes_once_within_the_deduplication_window(
    api: Api, stack: Stack, connect: Any, auth_db: Any, vault: Vault, leaks: Leaks, unique: str
) -> None:
    app_id = f"app-{unique}"
    await connect(api, app_id)
    await stack.idp.reset_stats()  # a consent is not a refresh: the first force refreshes
    _, first = await api.access_token(app_id, force_refresh=True)
    _, second = await api.access_token(app_id, force_refresh=True)
    assert first["access_token"] == second["access_token"]
    assert (await stack.idp.token_request_counts())["refresh_token"] == 1


async def test_reusing_an_old_refresh_token_after_rotation_requires_reauthorization(
    api: Api, stack: Stack, connect: Any, auth_db: Any, vault: Vault, leaks: Leaks, unique: str
) -> None:
    app_id = f"app-{unique}"
    credential_id = await connect(api, app_id)
    old = await stored_tokens(auth_db, vault, credential_id, leaks)
    await expire(auth_db, credential_id)
    assert (await api.access_token(app_id))[0] == 200
    # The stored refresh token goes back to the one already rotated away (a restored backup).
    await auth_db.credentials.update_one(
        {"_id": credential_id},
        {
            "$set": {
                "refresh_token": vault.seal(old["refresh_token"], credential_id, "refresh_token"),
                "expires_at": utc_now() - timedelta(seconds=5),
            }
        },
    )
    status, problem = await api.access_token(app_id)
    assert status == 409
    assert problem["code"] == "reauthorization_required"
    [event] = await events_for(stack, "credential.reauthorization_required", credential_id)
    assert event["data"]["reason"] == "invalid_grant"
    status, body = await api.call("GET", f"/v1/apps/{app_id}/credentials")
    assert body["items"][0]["status"] == "reauthorization_required"
    status, problem = await api.access_token(app_id)
    assert status == 409  # and no further call reaches the provider


async def test_a_refresh_response_without_a_refresh_token_keeps_the_old_one(
    api: Api, stack: Stack, connect: Any, auth_db: Any, vault: Vault, leaks: Leaks, unique: str
) -> None:
    app_id = f"app-{unique}"
    credential_id = await connect(api, app_id)
    before = await stored_tokens(auth_db, vault, credential_id, leaks)
    await expire(auth_db, credential_id)
    await stack.idp.add_faults([{"kind": "drop_refresh_token"}])
    status, token = await api.access_token(app_id)
    assert status == 200
    after = await stored_tokens(auth_db, vault, credential_id, leaks)
    assert after["access_token"] == token["access_token"] != before["access_token"]
    assert after["refresh_token"] == before["refresh_token"]


async def test_a_5xx_then_a_success_is_retried_and_served(
    api: Api, stack: Stack, connect: Any, auth_db: Any, unique: str
) -> None:
    app_id = f"app-{unique}"
    credential_id = await connect(api, app_id)
    await expire(auth_db, credential_id)
    await stack.idp.reset_stats()
    await stack.idp.add_faults(
        [
            {"kind": "status", "status": 503, "body": {"error": "temporarily_unavailable"}},
            {"kind": "status", "status": 429, "body": {}, "headers": {"Retry-After": "0"}},
        ]
    )
    status, token = await api.access_token(app_id)
    assert status == 200, token
    assert (await stack.idp.token_request_counts())["refresh_token"] == 3


async def test_timeouts_are_retried_a_bounded_number_of_times_then_503_with_the_credential_active(
    api: Api, stack: Stack, connect: Any, auth_db: Any, unique: str
) -> None:
    app_id = f"app-{unique}"
    credential_id = await connect(api, app_id)
    await expire(auth_db, credential_id)
    await stack.idp.reset_stats()
    await stack.idp.add_faults([{"kind": "delay", "seconds": 1.5}] * 3)
    status, problem = await api.access_token(app_id)
    assert status == 503
    assert problem["code"] == "provider_unavailable"
    assert (await stack.idp.token_request_counts())["refresh_token"] == 3
    status, body = await api.call("GET", f"/v1/apps/{app_id}/credentials")
    assert body["items"][0]["status"] == "active"


async def test_a_provider_that_stays_down_gives_503_and_keeps_the_credential_active(
    api: Api, stack: Stack, connect: Any, auth_db: Any, unique: str
) -> None:
    app_id = f"app-{unique}"
    credential_id = await connect(api, app_id)
    await expire(auth_db, credential_id)
    await stack.idp.add_faults([{"kind": "status", "status": 502, "body": {}}] * 3)
    status, problem = await api.access_token(app_id)
    assert status == 503 and problem["code"] == "provider_unavailable"
    status, body = await api.call("GET", f"/v1/apps/{app_id}/credentials")
    assert body["items"][0]["status"] == "active"


async def test_the_keepalive_sweeper_refreshes_credentials_idle_for_the_configured_days(
    api: Api, stack: Stack, connect: Any, auth_db: Any, vault: Vault, leaks: Leaks, unique: str
) -> None:
    app_id = f"app-{unique}"
    idle_id = await connect(api, app_id)
    busy_id = await connect(api, app_id, subject={"type": "user", "user_id": "busy"})
    await auth_db.credentials.update_one(
        {"_id": idle_id}, {"$set": {"tokens_obtained_at": utc_now() - timedelta(days=31)}}
    )
    before = await stored_tokens(auth_db, vault, idle_id, leaks)
    busy_before = await stored_tokens(auth_db, vault, busy_id, leaks)
    assert await api.app[MAINTENANCE_KEY].keep_alive() == 1
    after = await stored_tokens(auth_db, vault, idle_id, leaks)
    assert after["refresh_token"] != before["refresh_token"]
    assert after["last_refreshed_at"] > utc_now() - timedelta(minutes=1)
    assert after["tokens_obtained_at"] == after["last_refreshed_at"]
    busy_after = await stored_tokens(auth_db, vault, busy_id, leaks)
    assert busy_after["version"] == busy_before["version"]
    await events_for(stack, "credential.refreshed", idle_id)


async def test_a_new_consent_replaces_a_credential_that_needs_reauthorization(
    api: Api, stack: Stack, connect: Any, auth_db: Any, unique: str
) -> None:
    app_id = f"app-{unique}"
    credential_id = await connect(api, app_id)
    await stack.idp.revoke_grants()
    status, problem = await api.access_token(app_id, force_refresh=True)
    assert status == 409 and problem["code"] == "reauthorization_required"

    assert await connect(api, app_id) == credential_id
    status, token = await api.access_token(app_id)
    assert status == 200 and token["credential_id"] == credential_id
    assert await auth_db.credentials.count_documents({"app_id": app_id}) == 1


async def test_a_refresh_lease_is_exclusive_until_it_expires_and_only_its_holder_frees_it(
    auth_db: Any,
) -> None:
    leases = Leases(auth_db, seconds=2.0)
    assert await leases.acquire("cred_x", "a")
    assert not await leases.acquire("cred_x", "b")
    await leases.release("cred_x", "b")
    assert not await leases.acquire("cred_x", "b")
    await leases.release("cred_x", "a")
    assert await leases.acquire("cred_x", "b")
    await asyncio.sleep(2.1)
    assert await leases.acquire("cred_x", "c")  # b died holding it: the lease lapsed


async def test_after_a_timeout_the_same_refresh_token_is_sent_again_and_its_late_answer_is_used(
    api: Api, stack: Stack, connect: Any, auth_db: Any, vault: Vault, leaks: Leaks, unique: str
) -> None:
    app_id = f"app-{unique}"
    credential_id = await connect(api, app_id)
    before = await stored_tokens(auth_db, vault, credential_id, leaks)
    await expire(auth_db, credential_id)
    await stack.idp.reset_stats()
    await stack.idp.set_refresh_reuse_leeway(600)
    try:
        # The provider rotates the token, but its answer arrives after auth-service gave up.
        await stack.idp.add_faults([{"kind": "delay", "seconds": 1.5}])
        status, token = await api.access_token(app_id)
    finally:
        await stack.idp.set_refresh_reuse_leeway(0)

    assert status == 200, token
    assert (await stack.idp.token_request_counts())["refresh_token"] == 2
    assert (await stack.idp.introspect(token["access_token"]))["active"] is True
    after = await stored_tokens(auth_db, vault, credential_id, leaks)
    assert after["refresh_token"] != before["refresh_token"]
    status, body = await api.call("GET", f"/v1/apps/{app_id}/credentials")
    assert body["items"][0]["status"] == "active"


async def test_keepalive_around_a_broken_credential_refreshes_the_others_and_still_sweeps(
    start_auth: Any,
    stack: Stack,
    connect: Any,
    auth_db: Any,
    vault: Vault,
    leaks: Leaks,
    unique: str,
) -> None:
    from tests.integration.auth.conftest import CUSTOM_CLIENT_SECRET
    from tests.integration.auth.test_hostile_providers import custom_profile, endpoint, raw_answer

    app_id = f"app-{unique}"
    async with endpoint(raw_answer("<html>garbage</html>")) as garbage:
        async with start_auth() as api:
            healthy = [
                await connect(api, app_id, subject={"type": "user", "user_id": f"ok-{i}"})
                for i in range(2)
            ]
            profile = await custom_profile(api, stack, app_id)
            broken = await connect(
                api,
                app_id,
                subject={"type": "user", "user_id": "broken"},
                profile={"kind": "custom", "profile_id": profile},
            )
            status, _ = await api.call(
                "PATCH",
                f"/v1/apps/{app_id}/auth-profiles/{profile}",
                {"refresh_url": garbage.url, "client_secret": CUSTOM_CLIENT_SECRET},
            )
            assert status == 200
            stale = await api.authorize(app_id)
        idle = utc_now() - timedelta(days=31)
        await auth_db.credentials.update_many(
            {"app_id": app_id}, {"$set": {"tokens_obtained_at": idle}}
        )
        await auth_db.authorizations.update_one(
            {"_id": stale["authorization_id"]},
            {"$set": {"expires_at": utc_now(), "sweep_at": utc_now()}},
        )
        before = await stored_tokens(auth_db, vault, broken, leaks)

        # Broken first in line: the round used to stop at it, every round.
        await auth_db.credentials.update_one(
            {"_id": broken}, {"$set": {"tokens_obtained_at": idle - timedelta(days=1)}}
        )
        versions = {
            doc["_id"]: doc["version"] async for doc in auth_db.credentials.find({"app_id": app_id})
        }

        async def kept_and_swept() -> bool:
            docs = {d["_id"]: d async for d in auth_db.credentials.find({"app_id": app_id})}
            swept = await auth_db.authorizations.find_one({"_id": stale["authorization_id"]})
            return swept["status"] == "expired" and all(
                docs[c]["version"] > versions[c] for c in healthy
            )

        def published(_: object) -> bool:
            return all(_matching(stack, "credential.refreshed", c) for c in healthy)

        async with start_auth(maintenance_loop=True):
            assert await eventually(kept_and_swept)
            # The restarted app's relay may first wait out the outbox lease its predecessor
            # took at shutdown (platform_core's relay flush), up to the lease's 10 seconds.
            await stack.events.wait_for(published, timeout=30)
    after = await stored_tokens(auth_db, vault, broken, leaks)
    assert (after["status"], after["version"]) == ("active", before["version"])
    assert after["refresh_token"] == before["refresh_token"]
    assert len(garbage.requests) == 1
    assert _matching(stack, "credential.refreshed", broken) == []
