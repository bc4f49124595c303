"""auth-service beside the real integration-service, coordinating over HTTP and RabbitMQ as in
production: disabling an integration stops token vending until it is enabled again (real
integration.disabled / integration.enabled events), and a return_url auth-service refuses comes
back from integration-service as the 422 it is, not as an outage."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from devinfra.consent import complete_consent
from integration_manifests import Integrations
from integration_service.app import create_app as create_integration_app
from integration_service.settings import IntegrationSettings
from tests.integration.auth.conftest import ALLOWED_RETURN, Api, Leaks, Stack
from tests.integration.integration_svc.conftest import Service
from tests.support.apps import serving
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth]


@dataclass
class Platform:
    auth: Api
    integration: Service


@pytest.fixture
async def platform(
    start_auth: Callable[..., contextlib.AbstractAsyncContextManager[Api]],
    settings_for: Callable[..., tuple[Any, Integrations]],
    service_settings: Callable[[str], dict[str, object]],
    token: Callable[..., str],
) -> AsyncIterator[Platform]:
    _, integrations = settings_for()
    async with start_auth() as auth:
        settings = IntegrationSettings(
            **service_settings("integration-service"),  # type: ignore[arg-type]
            auth_service_url=auth.base_url,
        )
        app = create_integration_app(settings, integrations)
        async with serving(app) as client:
            bearer = {"Authorization": f"Bearer {token()}"}
            yield Platform(auth, Service(client, app, bearer, settings.event_queue))


async def configured(
    platform: Platform, stack: Stack, browser: aiohttp.ClientSession, leaks: Leaks, app_id: str
) -> None:
    await platform.integration.put_app(app_id)
    status, body = await platform.integration.configure(app_id, "pre_authorize")
    assert status == 202, body
    link = body["authorization"]["authorization_url"]
    page = await complete_consent(browser, link)
    assert page.status == 200, page.text[:300]
    assert "Integration Successful" in page.text

    async def is_configured() -> bool:
        state = await platform.integration.integration(app_id)
        return bool(state["state"] == "configured")

    assert await eventually(is_configured)


async def test_disabling_the_integration_stops_vending_until_it_is_enabled_again(
    platform: Platform,
    stack: Stack,
    browser: aiohttp.ClientSession,
    leaks: Leaks,
    unique: str,
) -> None:
    app_id = f"app-{unique}"
    await configured(platform, stack, browser, leaks, app_id)
    assert (await platform.auth.access_token(app_id))[0] == 200

    path = f"/v1/apps/{app_id}/integrations/confluence"
    status, body = await platform.integration.call("PATCH", path, {"enabled": False})
    assert (status, body["state"]) == (200, "disabled"), body

    async def refused() -> bool:
        status, problem = await platform.auth.access_token(app_id)
        return status == 409 and problem["code"] == "integration_disabled"

    assert await eventually(refused)
    status, problem = await platform.auth.access_token(app_id, force_refresh=True)
    assert (status, problem["code"]) == (409, "integration_disabled")

    status, body = await platform.integration.call("PATCH", path, {"enabled": True})
    assert (status, body["state"]) == (200, "configured"), body

    async def vending() -> bool:
        return (await platform.auth.access_token(app_id))[0] == 200

    assert await eventually(vending)


@pytest.mark.parametrize(
    ("return_url", "code"),
    [
        ("https://app.example.com.evil.net/integrations", "return_url_not_allowed"),
        ("https://app.example.com@evil.net/integrations", "return_url_not_allowed"),
        (f"{ALLOWED_RETURN}evil", "return_url_not_allowed"),
        (f"{ALLOWED_RETURN}/done\r\nSet-Cookie: planted=1", "validation_error"),
    ],
)
async def test_a_return_url_auth_service_refuses_is_a_422_from_integration_service_too(
    platform: Platform, unique: str, return_url: str, code: str
) -> None:
    app_id = f"app-{unique}"
    await platform.integration.put_app(app_id)
    status, body = await platform.integration.configure(
        app_id, "pre_authorize", return_url=return_url
    )
    assert (status, body["code"]) == (422, code), body
    if code == "validation_error":
        assert [error["field"] for error in body["errors"]] == ["return_url"]
    assert (await platform.integration.integration(app_id))["version"] == 0

    status, body = await platform.integration.configure(app_id, "user_authorize")
    assert status == 200, body
    status, body = await platform.integration.call(
        "POST",
        f"/v1/apps/{app_id}/integrations/confluence/user-links",
        {"user_id": "u-1", "return_url": return_url},
    )
    assert (status, body["code"]) == (422, code), body


async def test_the_link_integration_service_hands_out_opens_the_confirmation_page(
    platform: Platform, browser: aiohttp.ClientSession, unique: str
) -> None:
    app_id = f"app-{unique}"
    await platform.integration.put_app(app_id)
    status, body = await platform.integration.configure(app_id, "pre_authorize")
    assert status == 202, body
    async with browser.get(body["authorization"]["authorization_url"]) as resp:
        text = await resp.text()
    assert resp.status == 200
    assert "Connect Confluence" in text
    # integration-service sends the app's name, which the page shows instead of its id.
    assert f"<strong>App {app_id}</strong>" in text
