"""The OAuth stand-ins behave like Atlassian: the real oidc-provider server, the consent driver
and the api.atlassian.com fake's accessible resources."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from authlib.common.security import generate_token

from devinfra.atlassian_fake import AtlassianFake
from devinfra.consent import complete_consent
from devinfra.idp import IdentityProvider
from devinfra.process import free_port
from tests.integration.standins.conftest import (
    ALL_SCOPES,
    CLASSIC_SCOPES,
    CLIENT_ID,
    CLIENT_SECRET,
    SITES,
    Callback,
    authorize,
    authorize_url,
    bearer,
    connect,
    exchange,
    refresh,
    token_call,
)

pytestmark = pytest.mark.oauth


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


async def test_accessible_resources_needs_an_active_token_and_reports_its_known_scopes(
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

    classic = await connect(browser, http, idp, callback, scope=CLASSIC_SCOPES)
    async with http.get(url, headers=bearer(classic)) as resp:
        reported = (await resp.json())[0]["scopes"]
    assert reported == sorted(set(CLASSIC_SCOPES.split()) - {"offline_access"})

    async with http.get(url, headers={"Authorization": "Bearer bogus"}) as resp:
        assert resp.status == 401
        assert await resp.json() == {"code": 401, "message": "Unauthorized"}
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
