"""The OAuth stand-ins behave like Atlassian: the real oidc-provider server, the consent driver
and the api.atlassian.com fake (accessible resources, Confluence v1)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from devinfra.atlassian_fake import AtlassianFake
from devinfra.consent import complete_consent
from devinfra.idp import IdentityProvider
from devinfra.process import free_port

pytestmark = pytest.mark.oauth

CLIENT_ID = "confluence-bot"
CLIENT_SECRET = "confluence-bot-secret"
SCOPE = "write:confluence-content offline_access"
ALL_SCOPES = (
    "write:confluence-content read:confluence-content.all read:confluence-content.summary "
    "read:confluence-space.summary search:confluence offline_access"
)
SITES = [
    {
        "id": "11111111-2222-3333-4444-555555555555",
        "name": "acme",
        "url": "https://acme.atlassian.net",
    },
    {
        "id": "99999999-8888-7777-6666-555555555555",
        "name": "globex",
        "url": "https://globex.atlassian.net",
        "avatarUrl": "https://example.invalid/globex.png",
    },
]


@dataclass
class Callback:
    url: str
    received: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Authorization:
    code: str
    state: str
    verifier: str
    params: dict[str, str]


@pytest.fixture(scope="module")
async def callback() -> AsyncIterator[Callback]:
    port = free_port()
    recorder = Callback(f"http://127.0.0.1:{port}/oauth/callback")

    async def receive(request: web.Request) -> web.Response:
        recorder.received.append(dict(request.query))
        return web.Response(text="connected")

    app = web.Application()
    app.router.add_get("/oauth/callback", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield recorder
    await runner.cleanup()


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory, callback: Callback) -> Iterator[IdentityProvider]:
    server = IdentityProvider(
        Path(tmp_path_factory.mktemp("idp")),
        free_port(),
        [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [callback.url],
            }
        ],
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
async def no_faults(idp: IdentityProvider) -> AsyncIterator[None]:
    await idp.clear_faults()
    yield
    await idp.clear_faults()


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(scope="module")
async def atlassian(idp: IdentityProvider) -> AsyncIterator[AtlassianFake]:
    fake = AtlassianFake(idp.base_url, SITES)
    await fake.start()
    yield fake
    await fake.stop()


def authorize_url(
    idp: IdentityProvider,
    callback: Callback,
    *,
    state: str,
    verifier: str,
    scope: str = SCOPE,
    audience: str | None = "api.atlassian.com",
    prompt: str | None = "consent",
) -> str:
    params = [
        ("client_id", CLIENT_ID),
        ("scope", scope),
        ("redirect_uri", callback.url),
        ("state", state),
        ("response_type", "code"),
        ("code_challenge", create_s256_code_challenge(verifier)),
        ("code_challenge_method", "S256"),
    ]
    if audience is not None:
        params.insert(0, ("audience", audience))
    if prompt is not None:
        params.append(("prompt", prompt))
    return str(add_params_to_uri(idp.authorize_url, params))


async def authorize(
    browser: aiohttp.ClientSession,
    idp: IdentityProvider,
    callback: Callback,
    **options: Any,
) -> Authorization:
    state, verifier = generate_token(24), generate_token(48)
    url = authorize_url(idp, callback, state=state, verifier=verifier, **options)
    result = await complete_consent(browser, url, stop_at_prefix=callback.url)
    assert result.stopped, result
    return Authorization(result.query.get("code", ""), state, verifier, result.query)


async def token_call(
    http: aiohttp.ClientSession, idp: IdentityProvider, **form: str
) -> tuple[int, dict[str, Any], aiohttp.ClientResponse]:
    data = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **form}
    async with http.post(idp.token_url, data=data) as resp:
        return resp.status, await resp.json(), resp


async def exchange(
    http: aiohttp.ClientSession, idp: IdentityProvider, callback: Callback, auth: Authorization
) -> tuple[int, dict[str, Any]]:
    status, body, _ = await token_call(
        http,
        idp,
        grant_type="authorization_code",
        code=auth.code,
        redirect_uri=callback.url,
        code_verifier=auth.verifier,
    )
    return status, body


async def refresh(
    http: aiohttp.ClientSession, idp: IdentityProvider, refresh_token: str
) -> tuple[int, dict[str, Any]]:
    status, body, _ = await token_call(
        http, idp, grant_type="refresh_token", refresh_token=refresh_token
    )
    return status, body


async def connect(
    browser: aiohttp.ClientSession,
    http: aiohttp.ClientSession,
    idp: IdentityProvider,
    callback: Callback,
    scope: str = SCOPE,
) -> dict[str, Any]:
    auth = await authorize(browser, idp, callback, scope=scope)
    status, tokens = await exchange(http, idp, callback, auth)
    assert status == 200, tokens
    return tokens


# --- identity provider --------------------------------------------------------------------


async def test_code_exchange_issues_tokens_and_refresh_tokens_rotate(
    idp: IdentityProvider,
    callback: Callback,
    browser: aiohttp.ClientSession,
    http: aiohttp.ClientSession,
) -> None:
    await idp.reset_stats()
    auth = await authorize(browser, idp, callback)
    assert auth.params["state"] == auth.state
    assert auth.code

    status, tokens = await exchange(http, idp, callback, auth)
    assert status == 200, tokens
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert set(tokens["scope"].split()) == {"write:confluence-content", "offline_access"}
    assert tokens["access_token"]
    assert tokens["refresh_token"]
    assert "id_token" not in tokens  # a pure OAuth 2.0 request, no openid

    status, refreshed = await refresh(http, idp, tokens["refresh_token"])
    assert status == 200, refreshed
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert refreshed["access_token"] != tokens["access_token"]
    assert set(refreshed["scope"].split()) == {"write:confluence-content", "offline_access"}

    status, again = await refresh(http, idp, refreshed["refresh_token"])
    assert status == 200, again

    # Reusing a rotated refresh token fails and revokes the whole grant (reuse detection).
    status, reused = await refresh(http, idp, tokens["refresh_token"])
    assert status == 400
    assert reused["error"] == "invalid_grant"
    status, latest = await refresh(http, idp, again["refresh_token"])
    assert status == 400
    assert latest["error"] == "invalid_grant"

    assert await idp.token_request_counts() == {
        "authorization_code": 1,
        "refresh_token": 4,
        "total": 5,
    }


async def test_replayed_code_is_invalid_grant_and_revokes_its_tokens(
    idp: IdentityProvider,
    callback: Callback,
    browser: aiohttp.ClientSession,
    http: aiohttp.ClientSession,
) -> None:
    auth = await authorize(browser, idp, callback)
    status, tokens = await exchange(http, idp, callback, auth)
    assert status == 200, tokens

    status, replay = await exchange(http, idp, callback, auth)
    assert status == 400
    assert replay["error"] == "invalid_grant"

    # RFC 6749 4.1.2: tokens issued from a replayed code are revoked.
    status, body = await refresh(http, idp, tokens["refresh_token"])
    assert status == 400
    assert body["error"] == "invalid_grant"
    assert (await idp.introspect(tokens["access_token"]))["active"] is False


async def test_wrong_code_verifier_is_invalid_grant(
    idp: IdentityProvider,
    callback: Callback,
    browser: aiohttp.ClientSession,
    http: aiohttp.ClientSession,
) -> None:
    auth = await authorize(browser, idp, callback)
    auth.verifier = generate_token(48)
    status, body = await exchange(http, idp, callback, auth)
    assert status == 400
    assert body["error"] == "invalid_grant"


async def test_without_prompt_consent_no_refresh_token_is_issued(
    idp: IdentityProvider,
    callback: Callback,
    browser: aiohttp.ClientSession,
    http: aiohttp.ClientSession,
) -> None:
    auth = await authorize(browser, idp, callback, prompt=None)
    status, tokens = await exchange(http, idp, callback, auth)
    assert status == 200, tokens
    assert "refresh_token" not in tokens
    assert tokens["scope"] == "write:confluence-content"


async def test_audience_must_be_atlassian_api(
    idp: IdentityProvider, callback: Callback, browser: aiohttp.ClientSession
) -> None:
    auth = await authorize(browser, idp, callback, audience=None)
    assert auth.params["error"] == "invalid_request"
    assert "audience" in auth.params["error_description"]
    assert auth.params["state"] == auth.state


async def test_consent_driver_reaches_the_callback(
    idp: IdentityProvider, callback: Callback, browser: aiohttp.ClientSession
) -> None:
    state = generate_token(24)
    url = authorize_url(idp, callback, state=state, verifier=generate_token(48))
    result = await complete_consent(browser, url)
    assert not result.stopped
    assert result.status == 200
    assert result.text == "connected"
    assert result.url.startswith(callback.url)
    assert result.query["state"] == state
    assert callback.received[-1]["code"] == result.query["code"]
    assert result.visited[0] == url
    assert sum("/interaction/" in visited for visited in result.visited) >= 2  # login, consent


async def test_deny_redirects_with_access_denied(
    idp: IdentityProvider, callback: Callback, browser: aiohttp.ClientSession
) -> None:
    state = generate_token(24)
    url = authorize_url(idp, callback, state=state, verifier=generate_token(48))
    result = await complete_consent(browser, url, deny=True, stop_at_prefix=callback.url)
    assert result.stopped
    assert result.query["error"] == "access_denied"
    assert result.query["state"] == state
    assert "code" not in result.query


async def test_status_fault_answers_without_reaching_the_provider(
    idp: IdentityProvider,
    callback: Callback,
    browser: aiohttp.ClientSession,
    http: aiohttp.ClientSession,
) -> None:
    tokens = await connect(browser, http, idp, callback)
    await idp.reset_stats()
    await idp.add_faults(
        [
            {
                "kind": "status",
                "status": 503,
                "body": {"error": "temporarily_unavailable"},
                "headers": {"Retry-After": "1"},
            }
        ]
    )
    status, body, resp = await token_call(
        http, idp, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert status == 503
    assert body == {"error": "temporarily_unavailable"}
    assert resp.headers["Retry-After"] == "1"

    status, refreshed = await refresh(http, idp, tokens["refresh_token"])
    assert status == 200, refreshed
    assert await idp.token_request_counts() == {
        "authorization_code": 0,
        "refresh_token": 2,
        "total": 2,
    }


async def test_drop_refresh_token_fault_still_rotates(
    idp: IdentityProvider,
    callback: Callback,
    browser: aiohttp.ClientSession,
    http: aiohttp.ClientSession,
) -> None:
    tokens = await connect(browser, http, idp, callback)
    await idp.add_faults([{"kind": "drop_refresh_token"}])
    status, refreshed = await refresh(http, idp, tokens["refresh_token"])
    assert status == 200, refreshed
    assert refreshed["access_token"]
    assert "refresh_token" not in refreshed

    status, reused = await refresh(http, idp, tokens["refresh_token"])
    assert status == 400
    assert reused["error"] == "invalid_grant"


async def test_delay_fault_applies_the_grant_before_the_caller_gives_up(
    idp: IdentityProvider,
    callback: Callback,
    browser: aiohttp.ClientSession,
    http: aiohttp.ClientSession,
) -> None:
    tokens = await connect(browser, http, idp, callback)
    await idp.add_faults([{"kind": "delay", "seconds": 1.5}])
    data = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
    }
    with pytest.raises(asyncio.TimeoutError):
        async with http.post(
            idp.token_url, data=data, timeout=aiohttp.ClientTimeout(total=0.5)
        ) as resp:
            await resp.read()

    status, reused = await refresh(http, idp, tokens["refresh_token"])
    assert status == 400
    assert reused["error"] == "invalid_grant"


async def test_revoke_grants_invalidates_refresh_and_access_tokens(
    idp: IdentityProvider,
    callback: Callback,
    browser: aiohttp.ClientSession,
    http: aiohttp.ClientSession,
) -> None:
    tokens = await connect(browser, http, idp, callback)
    introspected = await idp.introspect(tokens["access_token"])
    assert introspected["active"] is True
    assert introspected["client_id"] == CLIENT_ID
    assert introspected["sub"] == "user-1"
    assert "write:confluence-content" in introspected["scope"].split()

    assert await idp.revoke_grants() >= 1

    status, body = await refresh(http, idp, tokens["refresh_token"])
    assert status == 400
    assert body["error"] == "invalid_grant"
    assert (await idp.introspect(tokens["access_token"]))["active"] is False


# --- Atlassian fake -----------------------------------------------------------------------


def confluence(atlassian: AtlassianFake, path: str, cloud_id: str = SITES[0]["id"]) -> str:
    return f"{atlassian.base_url}/ex/confluence/{cloud_id}/wiki/rest/api/{path}"


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def test_accessible_resources_needs_an_active_token(
    idp: IdentityProvider,
    callback: Callback,
    atlassian: AtlassianFake,
    browser: aiohttp.ClientSession,
    http: aiohttp.ClientSession,
) -> None:
    tokens = await connect(browser, http, idp, callback, scope=ALL_SCOPES)
    url = f"{atlassian.base_url}/oauth/token/accessible-resources"
    async with http.get(url, headers=bearer(tokens)) as resp:
        assert resp.status == 200
        sites = await resp.json()
    assert [site["id"] for site in sites] == [site["id"] for site in SITES]
    assert sites[0] == {
        "id": SITES[0]["id"],
        "name": "acme",
        "url": "https://acme.atlassian.net",
        "scopes": sorted(set(ALL_SCOPES.split()) - {"offline_access"}),
        "avatarUrl": sites[0]["avatarUrl"],
    }
    assert sites[1]["avatarUrl"] == "https://example.invalid/globex.png"

    async with http.get(url, headers={"Authorization": "Bearer bogus"}) as resp:
        assert resp.status == 401
    async with http.get(url) as resp:
        assert resp.status == 401

    async with http.get(f"{atlassian.base_url}/__control/requests") as resp:
        logged = await resp.json()
    assert logged[-1]["path"] == "/oauth/token/accessible-resources"
    assert tokens["access_token"] not in str(logged)

    replacement = [{"id": "abc", "name": "solo", "url": "https://solo.atlassian.net"}]
    async with http.put(f"{atlassian.base_url}/__control/sites", json=replacement) as resp:
        assert resp.status == 200
    try:
        async with http.get(url, headers=bearer(tokens)) as resp:
            assert [site["name"] for site in await resp.json()] == ["solo"]
    finally:
        async with http.put(f"{atlassian.base_url}/__control/sites", json=SITES) as resp:
            assert resp.status == 200


async def test_confluence_pages_comments_spaces_and_search(
    idp: IdentityProvider,
    callback: Callback,
    atlassian: AtlassianFake,
    browser: aiohttp.ClientSession,
    http: aiohttp.ClientSession,
) -> None:
    tokens = await connect(browser, http, idp, callback, scope=ALL_SCOPES)
    auth = bearer(tokens)

    async with http.get(confluence(atlassian, "space"), headers=auth) as resp:
        assert resp.status == 200
        spaces = await resp.json()
    assert [space["key"] for space in spaces["results"]] == ["ENG", "TEAM"]
    assert spaces["results"][0]["type"] == "global"
    assert spaces["size"] == 2

    title = f"Release notes {generate_token(6)}"
    page = {
        "type": "page",
        "title": title,
        "space": {"key": "ENG"},
        "body": {"storage": {"value": "<p>Shipped the widget</p>", "representation": "storage"}},
    }
    async with http.post(confluence(atlassian, "content"), json=page, headers=auth) as resp:
        assert resp.status == 200
        created = await resp.json()
    page_id = created["id"]
    assert created["type"] == "page"
    assert created["status"] == "current"
    assert created["title"] == title
    assert created["space"]["key"] == "ENG"
    assert created["version"]["number"] == 1
    assert created["body"]["storage"]["value"] == "<p>Shipped the widget</p>"
    assert created["_links"]["base"] == "https://acme.atlassian.net/wiki"
    assert created["_links"]["webui"].startswith(f"/spaces/ENG/pages/{page_id}/")

    async with http.post(confluence(atlassian, "content"), json=page, headers=auth) as resp:
        assert resp.status == 400  # same title in the same space
        assert "already exists" in (await resp.json())["message"]

    async with http.get(
        confluence(atlassian, f"content/{page_id}"),
        params={"expand": "body.storage,version"},
        headers=auth,
    ) as resp:
        assert resp.status == 200
        fetched = await resp.json()
    assert fetched["body"]["storage"]["value"] == "<p>Shipped the widget</p>"

    update = {
        "type": "page",
        "title": title,
        "version": {"number": 2},
        "body": {"storage": {"value": "<p>Shipped it twice</p>", "representation": "storage"}},
    }
    url = confluence(atlassian, f"content/{page_id}")
    async with http.put(url, json=update, headers=auth) as resp:
        assert resp.status == 200
        updated = await resp.json()
    assert updated["version"]["number"] == 2
    assert updated["body"]["storage"]["value"] == "<p>Shipped it twice</p>"
    async with http.put(url, json=update, headers=auth) as resp:
        assert resp.status == 409
        assert (await resp.json())["statusCode"] == 409

    comment = {
        "type": "comment",
        "container": {"id": page_id, "type": "page"},
        "body": {"storage": {"value": "<p>Nice</p>", "representation": "storage"}},
    }
    async with http.post(confluence(atlassian, "content"), json=comment, headers=auth) as resp:
        assert resp.status == 200
        comment_id = (await resp.json())["id"]
    async with http.get(
        confluence(atlassian, f"content/{page_id}/child/comment"), headers=auth
    ) as resp:
        assert [c["id"] for c in (await resp.json())["results"]] == [comment_id]

    cql = f'type=page AND space="ENG" AND title~"{title.split()[-1]}"'
    async with http.get(confluence(atlassian, "search"), params={"cql": cql}, headers=auth) as resp:
        assert resp.status == 200
        found = await resp.json()
    assert found["totalSize"] == 1
    assert found["results"][0]["content"]["id"] == page_id
    assert found["results"][0]["title"] == title
    assert "twice" in found["results"][0]["excerpt"]
    async with http.get(
        confluence(atlassian, "search"), params={"cql": 'text ~ "twice"'}, headers=auth
    ) as resp:
        assert page_id in [r["content"]["id"] for r in (await resp.json())["results"]]
    async with http.get(
        confluence(atlassian, "search"), params={"cql": "type=page AND space=TEAM"}, headers=auth
    ) as resp:
        assert page_id not in [r["content"]["id"] for r in (await resp.json())["results"]]

    # Content is kept per cloud id.
    other = confluence(atlassian, f"content/{page_id}", cloud_id=SITES[1]["id"])
    async with http.get(other, headers=auth) as resp:
        assert resp.status == 404


async def test_confluence_rejects_bad_input_and_tokens(
    idp: IdentityProvider,
    callback: Callback,
    atlassian: AtlassianFake,
    browser: aiohttp.ClientSession,
    http: aiohttp.ClientSession,
) -> None:
    read_only = await connect(
        browser, http, idp, callback, scope="read:confluence-content.all offline_access"
    )
    page = {
        "type": "page",
        "title": "Nope",
        "space": {"key": "ENG"},
        "body": {"storage": {"value": "<p>x</p>", "representation": "storage"}},
    }
    url = confluence(atlassian, "content")
    async with http.post(url, json=page, headers=bearer(read_only)) as resp:
        assert resp.status == 403
    async with http.post(url, json=page, headers={"Authorization": "Bearer bogus"}) as resp:
        assert resp.status == 401
    async with http.get(confluence(atlassian, "content/424242"), headers=bearer(read_only)) as resp:
        assert resp.status == 404
        assert resp.content_type == "application/json"

    writer = await connect(browser, http, idp, callback, scope=ALL_SCOPES)
    for bad in (
        {**page, "space": {}},
        {**page, "type": "whiteboard"},
        {**page, "title": ""},
        {**page, "body": {"storage": {"value": "x", "representation": "wiki"}}},
        {"type": "comment", "body": page["body"]},
    ):
        async with http.post(url, json=bad, headers=bearer(writer)) as resp:
            assert resp.status == 400, bad
            assert (await resp.json())["statusCode"] == 400

    await idp.revoke_grants()
    async with http.get(confluence(atlassian, "space"), headers=bearer(writer)) as resp:
        assert resp.status == 401


async def test_access_token_ttl_is_configurable(
    tmp_path: Path, callback: Callback, browser: aiohttp.ClientSession, http: aiohttp.ClientSession
) -> None:
    short = IdentityProvider(
        tmp_path,
        free_port(),
        [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [callback.url]}],
        access_token_ttl=1,
        name="idp-short",
    )
    await asyncio.to_thread(short.start)
    try:
        tokens = await connect(browser, http, short, callback)
        assert tokens["expires_in"] == 1
        await asyncio.sleep(1.5)
        assert (await short.introspect(tokens["access_token"]))["active"] is False
        status, refreshed = await refresh(http, short, tokens["refresh_token"])
        assert status == 200, refreshed
        assert (await short.introspect(refreshed["access_token"]))["active"] is True
    finally:
        await asyncio.to_thread(short.stop)
