"""The browser dance end to end: /v1/authorizations → /connect → the real IdP → /oauth/callback,
for both subjects, both profile kinds, one site and several, and every failure the contract
names, each with its exact outcome and no credential stored by any failure."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest

from tests.integration.auth.conftest import (
    ALLOWED_RETURN,
    CUSTOM_CLIENT_ID,
    CUSTOM_CLIENT_SECRET,
    TWO_SITES,
    Api,
    Leaks,
    Stack,
    click,
    form_token_of,
    visit,
)
from tests.support.profiles import custom_profile_body

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth]


async def credentials_of(api: Api, app_id: str) -> list[dict[str, Any]]:
    status, body = await api.call("GET", f"/v1/apps/{app_id}/credentials")
    assert status == 200
    return list(body["items"])


async def authorization(api: Api, authorization_id: str) -> dict[str, Any]:
    status, body = await api.call("GET", f"/v1/authorizations/{authorization_id}")
    assert status == 200, body
    return dict(body)


async def failed_event(stack: Stack, authorization_id: str) -> dict[str, Any]:
    def mine(events: list[dict[str, Any]]) -> bool:
        return any(
            e["type"] == "authorization.failed"
            and e["data"]["authorization_id"] == authorization_id
            for e in events
        )

    await stack.events.wait_for(mine)
    return next(
        e["data"]
        for e in stack.events.of_type("authorization.failed")
        if e["data"]["authorization_id"] == authorization_id
    )


async def completed_event(stack: Stack, authorization_id: str) -> dict[str, Any]:
    def mine(events: list[dict[str, Any]]) -> bool:
        return any(
            e["type"] == "authorization.completed"
            and e["data"]["authorization_id"] == authorization_id
            for e in events
        )

    await stack.events.wait_for(mine)
    return next(
        e["data"]
        for e in stack.events.of_type("authorization.completed")
        if e["data"]["authorization_id"] == authorization_id
    )


async def create_custom_profile(api: Api, stack: Stack, app_id: str) -> str:
    status, body = await api.call(
        "POST",
        f"/v1/apps/{app_id}/auth-profiles",
        custom_profile_body(stack.idp.base_url, CUSTOM_CLIENT_ID, CUSTOM_CLIENT_SECRET),
    )
    assert status == 201, body
    return str(body["profile_id"])


async def test_an_admin_connects_confluence_with_the_system_profile_and_one_site(
    api: Api, stack: Stack, browser: aiohttp.ClientSession, consent: Any, leaks: Leaks, unique: str
) -> None:
    app_id = f"app-{unique}"
    issued = await api.authorize(app_id)
    assert issued["status"] == "pending"
    assert issued["authorization_url"].startswith(f"{stack.public_url}/connect/")

    first = await click(browser, issued["authorization_url"], leaks)
    assert first.status == 302
    location = first.headers["Location"]
    params = dict(parse_qsl(urlsplit(location).query))
    assert location.startswith(stack.idp.authorize_url)
    assert params["redirect_uri"] == stack.callback_url
    assert params["audience"] == "api.atlassian.com"
    assert params["prompt"] == "consent"
    assert params["code_challenge_method"] == "S256"
    assert params["scope"] == (
        "read:page:confluence write:page:confluence read:space:confluence "
        "write:comment:confluence search:confluence offline_access"
    )
    assert len(params["state"]) >= 43
    assert "HttpOnly" in first.headers["Set-Cookie"]
    assert "SameSite=Lax" in first.headers["Set-Cookie"]

    result = await consent(browser, location)
    page = await visit(browser, result.url, leaks)
    assert page.status == 200, page.text
    assert "Integration Successful" in page.text
    assert "connected" in page.text

    done = await authorization(api, issued["authorization_id"])
    assert done["status"] == "completed"
    event = await completed_event(stack, issued["authorization_id"])
    assert event["credential_id"] == done["credential_id"]
    assert event["resource"]["cloud_id"] == "11111111-aaaa-4bbb-8ccc-000000000001"
    assert event["profile"] == {"kind": "system"}
    [credential] = await credentials_of(api, app_id)
    assert credential["status"] == "active"
    assert credential["resource"]["site_url"] == "https://acme.atlassian.net"
    assert "access_token" not in credential

    status, token = await api.access_token(app_id)
    assert status == 200, token
    assert token["resource"]["api_base_url"] == (
        f"{stack.atlassian.base_url}/ex/confluence/11111111-aaaa-4bbb-8ccc-000000000001"
    )
    assert (await stack.idp.introspect(token["access_token"]))["active"] is True


async def test_an_end_user_connects_with_a_custom_profile_and_the_link_is_published(
    api: Api, stack: Stack, browser: aiohttp.ClientSession, consent: Any, leaks: Leaks, unique: str
) -> None:
    app_id = f"app-{unique}"
    profile_id = await create_custom_profile(api, stack, app_id)
    issued = await api.authorize(
        app_id,
        subject={"type": "user", "user_id": "u-42"},
        profile={"kind": "custom", "profile_id": profile_id},
        return_url=f"{ALLOWED_RETURN}/done",
    )
    await stack.events.wait_for(
        lambda events: any(
            e["type"] == "authorization.link_issued" and e["subject"] == app_id for e in events
        )
    )
    [link_event] = [
        e for e in stack.events.of_type("authorization.link_issued") if e["subject"] == app_id
    ]
    assert link_event["data"]["link"] == issued["authorization_url"]
    assert link_event["data"]["user_id"] == "u-42"

    first = await click(browser, issued["authorization_url"], leaks)
    assert (
        dict(parse_qsl(urlsplit(first.headers["Location"]).query))["client_id"] == CUSTOM_CLIENT_ID
    )
    result = await consent(browser, first.headers["Location"], login="end-user-42")
    page = await visit(browser, result.url, leaks)
    assert page.status == 302
    assert page.headers["Location"].startswith(f"{ALLOWED_RETURN}/done?status=connected")

    event = await completed_event(stack, issued["authorization_id"])
    assert event["subject"] == {"type": "user", "user_id": "u-42"}
    assert event["profile"] == {"kind": "custom", "profile_id": profile_id}
    status, body = await api.call("GET", f"/v1/apps/{app_id}/credentials?user_id=u-42")
    assert status == 200 and len(body["items"]) == 1
    status, token = await api.access_token(app_id, subject={"type": "user", "user_id": "u-42"})
    assert status == 200
    assert (await stack.idp.introspect(token["access_token"]))["client_id"] == CUSTOM_CLIENT_ID
    status, _ = await api.access_token(app_id)  # the app itself holds no credential
    assert status == 404

    status, problem = await api.call("DELETE", f"/v1/apps/{app_id}/auth-profiles/{profile_id}")
    assert status == 409 and problem["code"] == "auth_profile_in_use"


async def test_several_sites_show_a_picker_and_bind_only_the_chosen_one(
    api: Api, stack: Stack, browser: aiohttp.ClientSession, consent: Any, leaks: Leaks, unique: str
) -> None:
    stack.atlassian.state.replace_sites(TWO_SITES)
    app_id = f"app-{unique}"
    issued = await api.authorize(app_id)
    first = await click(browser, issued["authorization_url"], leaks)
    result = await consent(browser, first.headers["Location"])
    picker = await visit(browser, result.url, leaks)
    assert picker.status == 200
    assert "Choose a site" in picker.text
    assert "acme.atlassian.net" in picker.text and "globex.atlassian.net" in picker.text
    assert (await authorization(api, issued["authorization_id"]))["status"] == (
        "site_selection_required"
    )
    assert await credentials_of(api, app_id) == []

    selection = picker.text.split('name="selection" value="')[1].split('"')[0]
    chosen = await visit(
        browser,
        f"{stack.public_url}/oauth/site",
        leaks,
        data={"selection": selection, "cloud_id": TWO_SITES[1]["id"]},
    )
    assert chosen.status == 200, chosen.text
    assert "globex" in chosen.text
    [credential] = await credentials_of(api, app_id)
    assert credential["resource"] == {
        "cloud_id": TWO_SITES[1]["id"],
        "site_url": "https://globex.atlassian.net",
    }
    again = await visit(
        browser,
        f"{stack.public_url}/oauth/site",
        leaks,
        data={"selection": selection, "cloud_id": TWO_SITES[0]["id"]},
    )
    assert again.status == 400
    [still] = await credentials_of(api, app_id)
    assert still["resource"]["cloud_id"] == TWO_SITES[1]["id"]


async def test_several_sites_with_a_matching_hint_bind_that_site_without_asking(
    api: Api, stack: Stack, browser: aiohttp.ClientSession, consent: Any, leaks: Leaks, unique: str
) -> None:
    stack.atlassian.state.replace_sites(TWO_SITES)
    app_id = f"app-{unique}"
    issued = await api.authorize(app_id, site_hint="https://globex.atlassian.net/")
    first = await click(browser, issued["authorization_url"], leaks)
    result = await consent(browser, first.headers["Location"])
    page = await visit(browser, result.url, leaks)
    assert page.status == 200 and "Integration Successful" in page.text
    [credential] = await credentials_of(api, app_id)
    assert credential["resource"]["cloud_id"] == TWO_SITES[1]["id"]


async def test_cancelling_the_site_picker_fails_with_site_selection_abandoned(
    api: Api, stack: Stack, browser: aiohttp.ClientSession, consent: Any, leaks: Leaks, unique: str
) -> None:
    stack.atlassian.state.replace_sites(TWO_SITES)
    app_id = f"app-{unique}"
    issued = await api.authorize(app_id)
    first = await click(browser, issued["authorization_url"], leaks)
    picker = await visit(browser, (await consent(browser, first.headers["Location"])).url, leaks)
    selection = picker.text.split('name="selection" value="')[1].split('"')[0]
    page = await visit(
        browser,
        f"{stack.public_url}/oauth/site",
        leaks,
        data={"selection": selection, "cancel": "1"},
    )
    assert page.status == 400
    assert (await failed_event(stack, issued["authorization_id"]))["error"] == (
        "site_selection_abandoned"
    )
    assert await credentials_of(api, app_id) == []


async def test_refusing_consent_fails_with_access_denied(
    api: Api, stack: Stack, browser: aiohttp.ClientSession, consent: Any, leaks: Leaks, unique: str
) -> None:
    app_id = f"app-{unique}"
    issued = await api.authorize(app_id)
    first = await click(browser, issued["authorization_url"], leaks)
    result = await consent(browser, first.headers["Location"], deny=True)
    page = await visit(browser, result.url, leaks)
    assert page.status == 400
    assert "access_denied" in page.text
    failed = await failed_event(stack, issued["authorization_id"])
    assert failed["error"] == "access_denied"
    assert failed["error_description"]
    status = await authorization(api, issued["authorization_id"])
    assert status["status"] == "failed"
    assert status["error"]["code"] == "access_denied"
    assert await credentials_of(api, app_id) == []


async def test_an_expired_link_answers_410_and_fails_the_authorization(
    api: Api, stack: Stack, browser: aiohttp.ClientSession, leaks: Leaks, unique: str, auth_db: Any
) -> None:
    app_id = f"app-{unique}"
    issued = await api.authorize(app_id, ttl_seconds=60)
    await auth_db.authorizations.update_one(
        {"_id": issued["authorization_id"]}, {"$set": {"expires_at": _past()}}
    )
    assert (await authorization(api, issued["authorization_id"]))["status"] == "expired"
    page = await visit(browser, issued["authorization_url"], leaks)
    assert page.status == 410
    assert "expired" in page.text.lower()
    assert (await failed_event(stack, issued["authorization_id"]))["error"] == "expired"
    assert await credentials_of(api, app_id) == []


async def test_a_link_works_once(
    api: Api, browser: aiohttp.ClientSession, leaks: Leaks, unique: str
) -> None:
    issued = await api.authorize(f"app-{unique}")
    link = issued["authorization_url"]
    shown = await visit(browser, link, leaks)
    continued = await visit(browser, link, leaks, data={"form_token": form_token_of(shown)})
    assert continued.status == 302
    assert (await visit(browser, link, leaks)).status == 410
    again = await visit(browser, link, leaks, data={"form_token": form_token_of(shown)})
    assert again.status == 410 and "already used" in again.text


async def test_a_replayed_state_is_refused_and_changes_nothing(
    api: Api, stack: Stack, browser: aiohttp.ClientSession, consent: Any, leaks: Leaks, unique: str
) -> None:
    app_id = f"app-{unique}"
    issued = await api.authorize(app_id)
    first = await click(browser, issued["authorization_url"], leaks)
    result = await consent(browser, first.headers["Location"])
    assert (await visit(browser, result.url, leaks)).status == 200
    [before] = await credentials_of(api, app_id)

    replay = await visit(browser, result.url, leaks)
    assert replay.status == 400
    assert "already" in replay.text.lower()
    [after] = await credentials_of(api, app_id)
    assert after == before
    assert (await authorization(api, issued["authorization_id"]))["status"] == "completed"


async def test_a_state_from_another_browser_is_refused_and_fails_the_authorization(
    api: Api, stack: Stack, browser: aiohttp.ClientSession, consent: Any, leaks: Leaks, unique: str
) -> None:
    app_id = f"app-{unique}"
    issued = await api.authorize(app_id)
    first = await click(browser, issued["authorization_url"], leaks)
    result = await consent(browser, first.headers["Location"])
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        page = await visit(other, result.url, leaks)
    assert page.status == 400
    assert "another browser" in page.text
    assert (await failed_event(stack, issued["authorization_id"]))["error"] == "browser_mismatch"
    assert (await visit(browser, result.url, leaks)).status == 400  # the state is spent
    assert await credentials_of(api, app_id) == []


async def test_a_replayed_code_is_refused_by_the_provider_with_invalid_grant(
    api: Api, stack: Stack, browser: aiohttp.ClientSession, consent: Any, leaks: Leaks, unique: str
) -> None:
    first_app, second_app = f"app-{unique}", f"app2-{unique}"
    issued = await api.authorize(first_app)
    start = await click(browser, issued["authorization_url"], leaks)
    used = await consent(browser, start.headers["Location"])
    assert (await visit(browser, used.url, leaks)).status == 200

    second = await api.authorize(second_app)
    start = await click(browser, second["authorization_url"], leaks)
    fresh = await consent(browser, start.headers["Location"])
    replayed = fresh.url.replace(fresh.query["code"], used.query["code"])
    page = await visit(browser, replayed, leaks)
    assert page.status == 400
    assert (await failed_event(stack, second["authorization_id"]))["error"] == "invalid_grant"
    assert await credentials_of(api, second_app) == []


async def test_a_callback_without_state_is_refused(
    api: Api, browser: aiohttp.ClientSession, stack: Stack, leaks: Leaks
) -> None:
    page = await visit(browser, f"{stack.callback_url}?code=whatever", leaks)
    assert page.status == 400
    assert "no state" in page.text
    assert page.headers["Content-Type"].startswith("text/html")


def _past() -> Any:
    from datetime import timedelta

    from platform_core.contract_types import utc_now

    return utc_now() - timedelta(seconds=1)


async def test_a_state_older_than_its_ttl_fails_with_expired(
    api: Api,
    stack: Stack,
    browser: aiohttp.ClientSession,
    consent: Any,
    leaks: Leaks,
    unique: str,
    auth_db: Any,
) -> None:
    app_id = f"app-{unique}"
    issued = await api.authorize(app_id)
    first = await click(browser, issued["authorization_url"], leaks)
    result = await consent(browser, first.headers["Location"])
    await auth_db.authorizations.update_one(
        {"_id": issued["authorization_id"]}, {"$set": {"state_expires_at": _past()}}
    )
    page = await visit(browser, result.url, leaks)
    assert page.status == 400
    assert (await failed_event(stack, issued["authorization_id"]))["error"] == "expired"
    assert await credentials_of(api, app_id) == []


async def test_the_sweeper_ends_unused_links_and_abandoned_site_choices(
    api: Api,
    stack: Stack,
    browser: aiohttp.ClientSession,
    consent: Any,
    leaks: Leaks,
    unique: str,
    auth_db: Any,
) -> None:
    from auth_service.entrypoints.http import LINKS_KEY

    app_id = f"app-{unique}"
    unused = await api.authorize(app_id)
    stack.atlassian.state.replace_sites(TWO_SITES)
    picking = await api.authorize(app_id, subject={"type": "user", "user_id": "slow"})
    first = await click(browser, picking["authorization_url"], leaks)
    assert (
        await visit(browser, (await consent(browser, first.headers["Location"])).url, leaks)
    ).status == 200
    for authorization_id in (unused["authorization_id"], picking["authorization_id"]):
        await auth_db.authorizations.update_one(
            {"_id": authorization_id}, {"$set": {"sweep_at": _past()}}
        )
    assert await api.app[LINKS_KEY].sweep_stale() == 2
    assert (await failed_event(stack, unused["authorization_id"]))["error"] == "expired"
    abandoned = await failed_event(stack, picking["authorization_id"])
    assert abandoned["error"] == "site_selection_abandoned"
    raw = await auth_db.authorizations.find_one({"_id": picking["authorization_id"]})
    assert "pending_access_token" not in raw and "pending_refresh_token" not in raw
    assert await credentials_of(api, app_id) == []
