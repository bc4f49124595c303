"""The browser routes as contract version 2 has them: the confirmation page behind a link (which
scanners may fetch as often as they like), the form that spends it, the browser cookie, return
URLs that cannot be bent into an open redirect, and pages (never a 500) for whatever a browser
or an attacker sends."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest

from tests.integration.auth.conftest import (
    ALLOWED_RETURN,
    Api,
    Leaks,
    Stack,
    click,
    form_token_of,
    visit,
)
from tests.integration.auth.test_browser_dance import authorization, credentials_of
from tests.support.infra import TEST_ENCRYPTION_KEYS, TEST_JWT_SECRET

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth]


# --- the confirmation page ---------------------------------------------------------------------


async def test_the_link_shows_a_page_naming_the_integration_the_app_and_the_user(
    api: Api, browser: aiohttp.ClientSession, leaks: Leaks, unique: str
) -> None:
    issued = await api.authorize(
        f"app-{unique}",
        subject={"type": "user", "user_id": "dana@example.com"},
        app_name="Support <Bot>",
    )
    page = await visit(browser, issued["authorization_url"], leaks)
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Connect Confluence" in page.text
    assert "Support &lt;Bot&gt;" in page.text and "<Bot>" not in page.text
    assert "dana@example.com" in page.text
    assert page.text.count("<form") == 1 and page.text.count("<button") == 1
    assert ">Continue</button>" in page.text
    path = urlsplit(issued["authorization_url"]).path
    assert f'<form method="post" action="{path}">' in page.text
    assert form_token_of(page)
    assert page.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in page.headers

    admin = await api.authorize(f"app-{unique}")
    shown = await visit(browser, admin["authorization_url"], leaks)
    assert f"<strong>app-{unique}</strong>" in shown.text  # no app_name: the app's id
    assert "dana" not in shown.text


async def test_scanners_fetching_the_link_do_not_spend_it_and_the_person_then_connects(
    api: Api,
    stack: Stack,
    browser: aiohttp.ClientSession,
    consent: Any,
    leaks: Leaks,
    unique: str,
) -> None:
    app_id = f"app-{unique}"
    issued = await api.authorize(app_id)
    async with aiohttp.ClientSession() as scanner:
        for _ in range(3):
            async with scanner.get(issued["authorization_url"]) as resp:
                assert resp.status == 200
            async with scanner.head(issued["authorization_url"]) as resp:
                assert resp.status in (200, 405)
    assert (await authorization(api, issued["authorization_id"]))["status"] == "pending"

    first = await click(browser, issued["authorization_url"], leaks)
    assert first.status == 302
    assert first.headers["Location"].startswith(stack.idp.authorize_url)
    result = await consent(browser, first.headers["Location"])
    page = await visit(browser, result.url, leaks)
    assert page.status == 200 and "Integration Successful" in page.text
    assert (await authorization(api, issued["authorization_id"]))["status"] == "completed"
    assert len(await credentials_of(api, app_id)) == 1


@pytest.mark.parametrize(
    "form",
    [{}, {"form_token": ""}, {"form_token": "forged-token"}, {"form_token": "é" * 40}],
)
async def test_continuing_without_the_pages_form_token_answers_400_and_spends_nothing(
    api: Api, browser: aiohttp.ClientSession, leaks: Leaks, unique: str, form: dict[str, str]
) -> None:
    issued = await api.authorize(f"app-{unique}")
    refused = await visit(browser, issued["authorization_url"], leaks, data=form)
    assert refused.status == 400
    assert "invalid_form_token" in refused.text
    assert "Set-Cookie" not in refused.headers
    assert (await authorization(api, issued["authorization_id"]))["status"] == "pending"
    assert (await click(browser, issued["authorization_url"], leaks)).status == 302


async def test_the_form_token_of_one_link_does_not_continue_another(
    api: Api, browser: aiohttp.ClientSession, leaks: Leaks, unique: str
) -> None:
    first = await api.authorize(f"app-{unique}")
    second = await api.authorize(f"app-{unique}")
    token = form_token_of(await visit(browser, first["authorization_url"], leaks))
    refused = await visit(browser, second["authorization_url"], leaks, data={"form_token": token})
    assert refused.status == 400


async def test_an_expired_link_answers_410_to_the_page_and_to_the_form(
    api: Api, browser: aiohttp.ClientSession, leaks: Leaks, unique: str, auth_db: Any
) -> None:
    from tests.integration.auth.test_browser_dance import _past

    issued = await api.authorize(f"app-{unique}")
    token = form_token_of(await visit(browser, issued["authorization_url"], leaks))
    await auth_db.authorizations.update_one(
        {"_id": issued["authorization_id"]}, {"$set": {"expires_at": _past()}}
    )
    for data in (None, {"form_token": token}):
        page = await visit(browser, issued["authorization_url"], leaks, data=data)
        assert page.status == 410 and "expired" in page.text.lower()


async def test_an_unknown_link_answers_a_404_page(
    api: Api, browser: aiohttp.ClientSession, stack: Stack, leaks: Leaks
) -> None:
    for data in (None, {"form_token": "x"}):
        page = await visit(browser, f"{stack.public_url}/connect/{'x' * 43}", leaks, data=data)
        assert page.status == 404 and page.headers["Content-Type"].startswith("text/html")


# --- the browser cookie ------------------------------------------------------------------------


def set_cookie(page: Any) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(page.headers["Set-Cookie"])
    return cookie


async def test_on_https_the_cookie_is_a_host_cookie_living_as_long_as_the_state(
    start_auth: Callable[..., Any], browser: aiohttp.ClientSession, leaks: Leaks, unique: str
) -> None:
    async with start_auth(
        public_base_url="https://auth.example.test", state_ttl_seconds=300
    ) as api:
        issued = await api.authorize(f"app-{unique}")
        local = api.base_url + urlsplit(issued["authorization_url"]).path
        continued = await click(browser, local, leaks)
    assert continued.status == 302
    raw = continued.headers["Set-Cookie"]
    cookie = set_cookie(continued)["__Host-auth_browser"]
    assert cookie["secure"] and cookie["httponly"] and cookie["path"] == "/"
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == "300"
    assert cookie["domain"] == "" and "domain" not in raw.lower()


async def test_on_plain_http_the_cookie_is_not_secure_and_lives_as_long_as_the_state(
    api: Api, browser: aiohttp.ClientSession, leaks: Leaks, unique: str
) -> None:
    issued = await api.authorize(f"app-{unique}")
    continued = await click(browser, issued["authorization_url"], leaks)
    cookie = set_cookie(continued)["auth_browser"]
    assert not cookie["secure"] and cookie["httponly"]
    assert cookie["max-age"] == "600"


# --- return URLs -------------------------------------------------------------------------------


async def ask_with_return_url(api: Api, unique: str, return_url: str) -> tuple[int, Any]:
    return await api.call(
        "POST",
        "/v1/authorizations",
        {
            "app_id": f"app-{unique}",
            "integration": "confluence",
            "profile": {"kind": "system"},
            "subject": {"type": "app"},
            "return_url": return_url,
        },
    )


@pytest.mark.parametrize(
    "return_url",
    [
        "https://app.example.com.evil.net/integrations",
        "https://app.example.com@evil.net/integrations",
        "https://app.example.com/integrationsevil",
        "https://app.example.com:8443/integrations",
        "http://app.example.com/integrations",
        "https://evil.net/?https://app.example.com/integrations",
    ],
)
async def test_return_urls_that_only_look_allowed_are_refused(
    api: Api, unique: str, return_url: str
) -> None:
    status, problem = await ask_with_return_url(api, unique, return_url)
    assert (status, problem["code"]) == (422, "return_url_not_allowed")


@pytest.mark.parametrize(
    "return_url",
    [
        f"{ALLOWED_RETURN}/done\r\nSet-Cookie: planted=1",
        f"{ALLOWED_RETURN}/done\n",
        f"{ALLOWED_RETURN}/done\x00",
        f"{ALLOWED_RETURN}/done\x7f",
        f"{ALLOWED_RETURN}/../admin",
        "https://app.example.com\\@evil.net/integrations",
    ],
)
async def test_return_urls_with_control_characters_or_ambiguities_are_a_422_naming_the_field(
    api: Api, unique: str, return_url: str
) -> None:
    status, problem = await ask_with_return_url(api, unique, return_url)
    assert (status, problem["code"]) == (422, "validation_error"), problem
    assert [error["field"] for error in problem["errors"]] == ["return_url"]


async def test_an_allowed_return_url_keeps_its_query_and_fragment_around_the_status(
    api: Api,
    stack: Stack,
    browser: aiohttp.ClientSession,
    consent: Any,
    leaks: Leaks,
    unique: str,
) -> None:
    issued = await api.authorize(
        f"app-{unique}", return_url=f"{ALLOWED_RETURN}/done?tab=apps#confluence"
    )
    first = await click(browser, issued["authorization_url"], leaks)
    result = await consent(browser, first.headers["Location"])
    page = await visit(browser, result.url, leaks)
    assert page.status == 302
    location = urlsplit(page.headers["Location"])
    assert location._replace(query="", fragment="").geturl() == f"{ALLOWED_RETURN}/done"
    assert location.fragment == "confluence"
    assert dict(parse_qsl(location.query)) == {
        "tab": "apps",
        "status": "connected",
        "authorization_id": issued["authorization_id"],
    }


@pytest.mark.parametrize(
    ("allowlist", "reason"),
    [
        ("https://ok.example.com/, ftp://files.example.com/", "entry 2 must be an absolute http"),
        ("https://ok.example.com/?next=1", "entry 1 must have no credentials, query or fragment"),
        ("https://ok.example.com/a b", "entry 1 must be ASCII, without whitespace"),
    ],
)
def test_the_service_refuses_to_start_with_a_bad_allowlist_entry_in_one_line(
    allowlist: str, reason: str
) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PLATFORM_JWT_SECRET": TEST_JWT_SECRET,
        "TOKEN_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
        "RETURN_URL_ALLOWLIST": allowlist,
    }
    result = subprocess.run(
        [sys.executable, "-m", "auth_service"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("auth-service: refusing to start: RETURN_URL_ALLOWLIST")
    assert reason in line
    assert "ok.example.com" not in line and "files.example.com" not in line


# --- pages, never a 500 ------------------------------------------------------------------------


async def post_raw(
    browser: aiohttp.ClientSession, url: str, body: bytes, content_type: str | None
) -> tuple[int, str, str]:
    headers = {"Content-Type": content_type} if content_type else {}
    async with browser.post(url, data=body, headers=headers, allow_redirects=False) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


ODD_FORMS = [
    (b"--x\r\nContent-Disposition: form-data\r\n\r\nv\r\n--x--", "multipart/form-data", 415),
    (b"selection=a", "multipart/form-data; boundary=zz", 415),
    (b'{"selection": "a"}', "application/json", 415),
    (b"selection=a", None, 415),
    (b"selection=%ff%fe", "application/x-www-form-urlencoded", 400),
    (b"selection=\xff", "application/x-www-form-urlencoded", 400),
    (b"&".join(b"f%d=v" % i for i in range(100)), "application/x-www-form-urlencoded", 400),
    (b"selection=a&selection=b", "application/x-www-form-urlencoded", 400),
    (b"selection=" + b"a" * 20_000, "application/x-www-form-urlencoded", 413),
    (b"x" * 200_000, "application/x-www-form-urlencoded", 413),
    (b"", "application/x-www-form-urlencoded", 400),
    (b"cancel=1", "application/x-www-form-urlencoded; charset=latin-9", 400),
]


@pytest.mark.parametrize(("body", "content_type", "status"), ODD_FORMS)
async def test_an_odd_form_posted_to_a_browser_route_gets_a_readable_4xx_page(
    api: Api,
    stack: Stack,
    browser: aiohttp.ClientSession,
    leaks: Leaks,
    unique: str,
    body: bytes,
    content_type: str | None,
    status: int,
) -> None:
    issued = await api.authorize(f"app-{unique}")
    for url in (f"{stack.public_url}/oauth/site", issued["authorization_url"]):
        got, kind, text = await post_raw(browser, url, body, content_type)
        assert got == status, (url, text[:200])
        assert kind.startswith("text/html") and "<h1>" in text
    assert (await authorization(api, issued["authorization_id"]))["status"] == "pending"


@pytest.mark.parametrize(
    "query",
    [
        "state=" + "s" * 7000,
        "state=%ff%fe&code=%00",
        "state=a&state=b&code=c&code=d",
        "error=" + "-eyJ" * 1500 + "&state=x",
        "code=&state=",
    ],
)
async def test_an_odd_callback_gets_a_readable_400_page(
    api: Api, stack: Stack, browser: aiohttp.ClientSession, leaks: Leaks, query: str
) -> None:
    page = await visit(browser, f"{stack.callback_url}?{query}", leaks)
    assert page.status == 400
    assert page.headers["Content-Type"].startswith("text/html")


async def test_an_unexpected_failure_behind_a_browser_route_is_a_page_not_a_500(
    api: Api, browser: aiohttp.ClientSession, leaks: Leaks, unique: str, monkeypatch: Any
) -> None:
    from auth_service.entrypoints.http import LINKS_KEY

    issued = await api.authorize(f"app-{unique}")

    async def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(api.app[LINKS_KEY], "confirmation", broken)
    page = await visit(browser, issued["authorization_url"], leaks)
    assert page.status == 400 and "request_failed" in page.text
    assert "a bug" not in page.text and "Traceback" not in page.text
