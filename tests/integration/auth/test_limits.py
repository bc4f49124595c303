"""Limits of contract §5 against the running service: RATE_LIMIT_PER_MINUTE per client address
on the browser routes and per calling `sub` on `POST /v1/authorizations` (429 with Retry-After,
then recovering), MAX_OPEN_AUTHORIZATIONS_PER_APP (429 too_many_open_authorizations), and the
retention after which finished authorizations are removed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from pymongo.errors import OperationFailure

from platform_core.service_auth import Scope
from tests.integration.auth.conftest import Api, Leaks, Stack, form_token_of, visit
from tests.integration.auth.test_browser_dance import _past, authorization
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth]

LIMIT = 30  # per minute: one more request every two seconds
BEYOND = LIMIT + 10


async def until_refused(call: Callable[[], Any]) -> tuple[int, Any]:
    """Call until the first 429; how many passed, and the refusal."""
    for passed in range(BEYOND):
        status, answer = await call()
        if status == 429:
            return passed, answer
    raise AssertionError(f"no 429 after {BEYOND} calls")


async def test_browser_routes_answer_429_with_retry_after_past_the_limit_and_then_recover(
    start_auth: Callable[..., Any], browser: aiohttp.ClientSession, leaks: Leaks, unique: str
) -> None:
    async with start_auth(rate_limit_per_minute=LIMIT) as api:
        issued = await api.authorize(f"app-{unique}")

        async def open_page() -> tuple[int, Any]:
            page = await visit(browser, issued["authorization_url"], leaks)
            return page.status, page

        passed, refused = await until_refused(open_page)
        assert LIMIT <= passed <= LIMIT + 2
        assert refused.headers["Content-Type"].startswith("text/html")
        wait = int(refused.headers["Retry-After"])
        assert 1 <= wait <= 2
        callback = await visit(browser, f"{api.base_url}/oauth/callback?state=x", leaks)
        assert callback.status == 429  # one allowance for every browser route
        await asyncio.sleep(wait)
        shown = await visit(browser, issued["authorization_url"], leaks)
        assert shown.status == 200
        await asyncio.sleep(60 / LIMIT)  # a steady caller gets the rate
        data = {"form_token": form_token_of(shown)}
        assert (await visit(browser, issued["authorization_url"], leaks, data=data)).status == 302


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_allowance(
    start_auth: Callable[..., Any], unique: str
) -> None:
    async with start_auth(rate_limit_per_minute=LIMIT, trusted_proxy_hops=1) as api:
        issued = await api.authorize(f"app-{unique}")

        async def open_page_as(client: str) -> tuple[int, Any]:
            headers = {"X-Forwarded-For": f"198.51.100.77, {client}"}
            async with api.session.get(issued["authorization_url"], headers=headers) as resp:
                return int(resp.status), None

        passed, _ = await until_refused(lambda: open_page_as("203.0.113.9"))
        assert passed >= LIMIT
        assert (await open_page_as("203.0.113.10"))[0] == 200


async def test_issuing_links_answers_429_per_calling_sub_past_the_limit_and_then_recovers(
    start_auth: Callable[..., Any], token: Callable[..., str], unique: str
) -> None:
    def body(n: int) -> dict[str, Any]:
        return {
            "app_id": f"app{n}-{unique}",
            "integration": "confluence",
            "profile": {"kind": "system"},
            "subject": {"type": "app"},
        }

    async with start_auth(rate_limit_per_minute=LIMIT) as api:
        busy = token(subject="busy-service")
        counter = iter(range(1000))

        async def issue() -> tuple[int, Any]:
            answer: tuple[int, Any] = await api.call(
                "POST", "/v1/authorizations", body(next(counter)), token=busy
            )
            return answer

        passed, problem = await until_refused(issue)
        assert LIMIT <= passed <= LIMIT + 2
        assert problem["code"] == "too_many_requests" and problem["status"] == 429
        async with api.session.post(
            f"{api.base_url}/v1/authorizations",
            json=body(999),
            headers={"Authorization": f"Bearer {busy}"},
        ) as resp:
            assert resp.status == 429
            wait = int(resp.headers["Retry-After"])
        other = token(subject="another-service", scopes=[Scope.WRITE])
        assert (await api.call("POST", "/v1/authorizations", body(500), token=other))[0] == 201
        await asyncio.sleep(wait)
        assert (await issue())[0] == 201


async def test_an_app_past_its_cap_of_open_authorizations_gets_429_until_one_ends(
    start_auth: Callable[..., Any], auth_db: Any, unique: str
) -> None:
    app_id = f"app-{unique}"
    async with start_auth(max_open_authorizations_per_app=3) as api:
        held = [await api.authorize(app_id) for _ in range(3)]
        request = {
            "app_id": app_id,
            "integration": "confluence",
            "profile": {"kind": "system"},
            "subject": {"type": "user", "user_id": "u"},
        }
        status, problem = await api.call("POST", "/v1/authorizations", request)
        assert (status, problem["code"]) == (429, "too_many_open_authorizations")
        assert await auth_db.authorizations.count_documents({"app_id": app_id}) == 3
        assert (await api.authorize(f"other-{unique}"))["status"] == "pending"

        await auth_db.authorizations.update_one(
            {"_id": held[0]["authorization_id"]}, {"$set": {"expires_at": _past()}}
        )
        assert (await authorization(api, held[0]["authorization_id"]))["status"] == "expired"
        status, _ = await api.call("POST", "/v1/authorizations", request)
        assert status == 201


async def ttl_of(auth_db: Any) -> int:
    indexes = await auth_db.authorizations.index_information()
    return int(indexes["finished_expiry"]["expireAfterSeconds"])


async def test_finished_authorizations_are_removed_after_the_retention_and_open_ones_stay(
    start_auth: Callable[..., Any],
    stack: Stack,
    connect: Any,
    auth_db: Any,
    mongo_client: Any,
    unique: str,
) -> None:
    app_id = f"app-{unique}"
    async with start_auth(finished_authorization_retention_seconds=1) as api:
        await connect(api, app_id)
        still_open = await api.authorize(app_id)
    assert await ttl_of(auth_db) == 1
    finished = await auth_db.authorizations.find_one({"app_id": app_id, "status": "completed"})
    assert finished["finished_at"] is not None

    async def removed() -> bool:
        await asyncio.sleep(1.1)
        # SecantusDB runs its TTL pass on demand; mongod's runs every 60 s by itself
        with contextlib.suppress(OperationFailure):
            await mongo_client.admin.command("secantusAdmin.pruneTtl")
        return await auth_db.authorizations.find_one({"_id": finished["_id"]}) is None

    assert await eventually(removed, timeout=90)
    assert await auth_db.authorizations.find_one({"_id": still_open["authorization_id"]})

    async with start_auth(finished_authorization_retention_seconds=7 * 24 * 3600):
        pass  # a changed retention retunes the index instead of refusing to start
    assert await ttl_of(auth_db) == 7 * 24 * 3600


async def test_the_default_retention_is_thirty_days(api: Api, auth_db: Any) -> None:
    assert await ttl_of(auth_db) == 30 * 24 * 3600
