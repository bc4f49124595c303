"""The Atlassian stand-in's gateway answers as api.atlassian.com does: scopes checked per
operation, a dead token refused the way each API refuses it, injected rate limits, refused
tokens, and a request log that never holds a token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from devinfra.atlassian_fake import AtlassianFake
from devinfra.idp import IdentityProvider
from tests.integration.standins.conftest import (
    ALL_SCOPES,
    CLASSIC_SCOPES,
    CLIENT_ID,
    CLIENT_SECRET,
    SITES,
    Callback,
    bearer,
    grant,
    refresh,
)

pytestmark = pytest.mark.oauth

SCOPE_MISMATCH = {"code": 401, "message": "Unauthorized; scope does not match"}
CLOUD_ID = SITES[0]["id"]


@pytest.fixture
async def http(atlassian: AtlassianFake) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
        for fault in ("rate-limit", "refused-tokens"):
            async with session.delete(f"{atlassian.base_url}/__control/{fault}") as resp:
                assert resp.status == 200


def api(atlassian: AtlassianFake, path: str) -> str:
    product = "jira" if path.startswith("/rest/") else "confluence"
    return f"{atlassian.base_url}/ex/{product}/{CLOUD_ID}{path}"


SPACES = "/wiki/api/v2/spaces"
SEARCH = "/wiki/rest/api/search?cql=type%3Dpage"
JQL = "/rest/api/3/search/jql?jql=project%3DENG"
RESOURCES = "/oauth/token/accessible-resources"


async def status_and_body(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], **kwargs: Any
) -> tuple[int, Any]:
    method = kwargs.pop("method", "GET")
    async with http.request(method, url, headers=headers, **kwargs) as resp:
        return resp.status, await resp.json()


async def test_a_token_without_the_operation_scopes_gets_401_scope_does_not_match(
    idp: IdentityProvider, callback: Callback, atlassian: AtlassianFake, http: aiohttp.ClientSession
) -> None:
    classic = bearer(await grant(idp, callback, CLASSIC_SCOPES))
    page = {"spaceId": "98305", "title": "x", "body": {"representation": "storage", "value": ""}}
    calls: list[tuple[str, str, Any]] = [
        ("POST", "/wiki/api/v2/pages", page),
        ("GET", "/wiki/api/v2/pages/65537", None),
        ("GET", SPACES, None),
        ("POST", "/wiki/api/v2/footer-comments", {"pageId": "65537"}),
        ("GET", JQL, None),
        ("POST", "/rest/api/3/issue", {"fields": {}}),
    ]
    for method, path, body in calls:
        assert await status_and_body(
            http, api(atlassian, path), classic, method=method, json=body
        ) == (401, SCOPE_MISMATCH), path
    # Classic search:confluence is what v1 CQL search needs, and it is enough.
    status, _ = await status_and_body(http, api(atlassian, SEARCH), classic)
    assert status == 200

    readers = bearer(await grant(idp, callback, "read:page:confluence read:space:confluence"))
    assert await status_and_body(http, api(atlassian, SEARCH), readers) == (401, SCOPE_MISMATCH)
    assert await status_and_body(
        http, api(atlassian, "/wiki/api/v2/pages"), readers, method="POST", json=page
    ) == (401, SCOPE_MISMATCH)
    status, _ = await status_and_body(http, api(atlassian, SPACES), readers)
    assert status == 200


async def test_a_dead_token_gets_404_on_v2_403_on_v1_and_401_on_jira_and_the_platform(
    idp: IdentityProvider, callback: Callback, atlassian: AtlassianFake, http: aiohttp.ClientSession
) -> None:
    tokens = await grant(idp, callback, ALL_SCOPES)
    revoke = {
        "token": tokens["access_token"],
        "token_type_hint": "access_token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    async with http.post(f"{idp.base_url}/token/revocation", data=revoke) as resp:
        assert resp.status == 200
    assert (await idp.introspect(tokens["access_token"]))["active"] is False

    v2_gone = {
        "errors": [{"status": 404, "code": "NOT_FOUND", "title": "Not Found", "detail": None}]
    }
    v1_refused = {"statusCode": 403, "message": "Current user not permitted to use Confluence"}
    unauthorized = {"code": 401, "message": "Unauthorized"}
    for headers in (bearer(tokens), {"Authorization": "Bearer not-a-token"}, {}):
        for url, expected in [
            (api(atlassian, SPACES), (404, v2_gone)),
            (api(atlassian, "/wiki/api/v2/pages/65537"), (404, v2_gone)),
            (api(atlassian, SEARCH), (403, v1_refused)),
            (api(atlassian, "/wiki/rest/api/content"), (403, v1_refused)),
            (api(atlassian, JQL), (401, unauthorized)),
            (f"{atlassian.base_url}{RESOURCES}", (401, unauthorized)),
        ]:
            assert await status_and_body(http, url, headers) == expected, (url, headers)


async def test_the_rate_limit_control_answers_429_with_retry_after_then_recovers(
    idp: IdentityProvider, callback: Callback, atlassian: AtlassianFake, http: aiohttp.ClientSession
) -> None:
    auth = bearer(await grant(idp, callback, ALL_SCOPES))
    control = f"{atlassian.base_url}/__control/rate-limit"
    async with http.post(control, json={"count": 2, "retry_after": 3}) as resp:
        assert resp.status == 200
    limited = []
    for url in (api(atlassian, SPACES), api(atlassian, JQL)):
        async with http.get(url, headers=auth) as resp:
            assert resp.status == 429
            limited.append(resp.headers.copy())
        # Control calls are never limited nor counted.
        async with http.get(f"{atlassian.base_url}/__control/requests") as resp:
            assert resp.status == 200
    assert [h["Retry-After"] for h in limited] == ["3", "3"]
    assert "X-RateLimit-Reset" in limited[0]
    assert "X-RateLimit-Reset" not in limited[1]  # no header but Retry-After is always there
    async with http.get(api(atlassian, SPACES), headers=auth) as resp:
        assert resp.status == 200

    async with http.post(control, json={"count": 1, "status": 503}) as resp:
        assert resp.status == 200
    async with http.get(f"{atlassian.base_url}{RESOURCES}", headers=auth) as resp:
        assert resp.status == 503
        assert "Retry-After" not in resp.headers
    async with http.post(control, json={"count": 5}) as resp:
        assert resp.status == 200
    async with http.delete(control) as resp:
        assert resp.status == 200
    async with http.get(api(atlassian, SPACES), headers=auth) as resp:
        assert resp.status == 200
    for bad in ({"count": -1}, {"count": 1, "status": 500}, {"count": 1, "retry_after": "soon"}):
        async with http.post(control, json=bad) as resp:
            assert resp.status == 400, bad


async def test_a_refused_token_is_refused_while_another_token_of_the_same_grant_works(
    idp: IdentityProvider, callback: Callback, atlassian: AtlassianFake, http: aiohttp.ClientSession
) -> None:
    old = await grant(idp, callback, ALL_SCOPES)
    status, new = await refresh(http, idp, old["refresh_token"])
    assert status == 200, new
    async with http.post(
        f"{atlassian.base_url}/__control/refused-tokens", json={"access_token": old["access_token"]}
    ) as resp:
        assert resp.status == 200

    assert (await idp.introspect(old["access_token"]))["active"] is True
    for url, refused in [
        (api(atlassian, SPACES), 404),
        (api(atlassian, SEARCH), 403),
        (api(atlassian, JQL), 401),
        (f"{atlassian.base_url}{RESOURCES}", 401),
    ]:
        async with http.get(url, headers=bearer(old)) as resp:
            assert resp.status == refused, url
        async with http.get(url, headers=bearer(new)) as resp:
            assert resp.status == 200, url

    async with http.delete(f"{atlassian.base_url}/__control/refused-tokens") as resp:
        assert resp.status == 200
    async with http.get(api(atlassian, SPACES), headers=bearer(old)) as resp:
        assert resp.status == 200


async def test_the_request_log_names_each_operation_and_never_holds_a_token(
    idp: IdentityProvider, callback: Callback, atlassian: AtlassianFake, http: aiohttp.ClientSession
) -> None:
    tokens = await grant(idp, callback, ALL_SCOPES)
    auth = bearer(tokens)
    async with http.delete(f"{atlassian.base_url}/__control/requests") as resp:
        assert resp.status == 200
    page = {
        "spaceId": "98305",
        "title": "Logged",
        "body": {"representation": "storage", "value": ""},
    }
    async with http.post(api(atlassian, "/wiki/api/v2/pages"), json=page, headers=auth) as resp:
        assert resp.status == 200
    async with http.get(api(atlassian, "/wiki/rest/api/space"), headers=auth) as resp:
        assert resp.status == 410
    async with http.post(
        f"{atlassian.base_url}/__control/refused-tokens",
        json={"access_token": tokens["access_token"]},
    ) as resp:
        assert resp.status == 200
    async with http.get(api(atlassian, JQL), headers=auth) as resp:
        assert resp.status == 401

    async with http.get(f"{atlassian.base_url}/__control/requests") as resp:
        logged = await resp.json()
    assert [(e["method"], e["operation"], e["status"]) for e in logged] == [
        ("POST", "createPage", 200),
        ("GET", "removedSpaceApi", 410),
        ("GET", "searchAndReconsileIssuesUsingJql", 401),
    ]
    assert logged[0]["json"] == page
    assert {e["authorization"] for e in logged} == {"Bearer"}
    assert tokens["access_token"] not in str(logged)
    assert tokens["access_token"] not in str(atlassian.state.faults)
