"""Steps the cross-service scenarios and the benchmarks share: a connected app, an installed
task, and a look at what landed on the Atlassian stand-in.

The platform's side goes through the typed client (`integrations_client`); only a person's part,
consenting in a browser, goes through `devinfra.consent`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from devinfra.consent import ConsentResult, follow_link
from integrations_client import IntegrationsClient, SystemProfileRef
from integrations_client.models import Installation, NewProfile, Profile
from tests.support.profiles import custom_profile_body
from tests.support.system import CUSTOM_CLIENT_ID, CUSTOM_CLIENT_SECRET, SITES, System
from tests.support.waiting import eventually

SITE = SITES[0]


def new_app() -> str:
    return f"run-{uuid.uuid4().hex[:10]}"


def new_browser() -> aiohttp.ClientSession:
    """A browser of its own: a cookie jar that keeps cookies for IP hosts, as the flow needs."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


@contextlib.asynccontextmanager
async def _browser(given: aiohttp.ClientSession | None) -> AsyncIterator[aiohttp.ClientSession]:
    if given is not None:
        yield given
        return
    async with new_browser() as fresh:
        yield fresh


async def consent(
    link: str,
    *,
    login: str = "admin",
    cloud_id: str | None = None,
    browser: aiohttp.ClientSession | None = None,
) -> ConsentResult:
    """Follow a consent link in `browser` (a fresh one by default), choosing `cloud_id`'s site."""
    async with _browser(browser) as session:
        return await follow_link(session, link, login=login, cloud_id=cloud_id)


async def connected_app(
    client: IntegrationsClient,
    integration: str = "confluence",
    *,
    browser: aiohttp.ClientSession | None = None,
) -> str:
    """An app whose integration is pre-authorized through the real consent, on the first site."""
    app_id = new_app()
    await client.put_app(app_id, name="E2E app", edition="developer")
    started = await client.configure(
        app_id, integration, "pre_authorize", profile=SystemProfileRef()
    )
    page = await consent(
        started.authorization.authorization_url, cloud_id=SITE["id"], browser=browser
    )
    assert page.status == 200, page.text

    async def connected() -> bool:
        state = await client.get_integration(app_id, integration)
        return state.connection.status == "connected"

    await eventually(connected, timeout=15)
    return app_id


async def install_when_installable(
    client: IntegrationsClient, app_id: str, template_id: str, timeout: float = 15.0
) -> Installation:
    """template-service learns of a configuration from an event: wait for it, then install."""

    async def installable() -> bool:
        return any(
            [
                item.template_id == template_id and item.installable
                async for item in client.list_app_templates(app_id)
            ]
        )

    assert await eventually(installable, timeout=timeout), (
        f"{template_id} never became installable for {app_id}"
    )
    return await client.install(app_id, template_id)


async def installed(client: IntegrationsClient, app_id: str, template_id: str) -> str:
    return (await install_when_installable(client, app_id, template_id)).dialog_task_id


async def landed(system: System) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        url = f"{system.atlassian.base_url}/__control/content?site={SITE['id']}"
        async with http.get(url) as response:
            content: dict[str, Any] = await response.json()
            return content


async def control(system: System, method: str, path: str, body: Any = None) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{system.atlassian.base_url}/__control/{path}", json=body) as resp,
    ):
        assert resp.status < 300, await resp.text()


def calls(system: System) -> list[dict[str, Any]]:
    return [r for r in system.atlassian.state.requests if "/ex/" in r["path"]]


async def developer_app_with_custom_profile(
    api: IntegrationsClient, system: System
) -> tuple[str, Profile]:
    """A new developer app and a custom profile of its own, pointing at the identity provider."""
    app_id = new_app()
    await api.put_app(app_id, name="E2E app", edition="developer")
    body = custom_profile_body(system.idp.base_url, CUSTOM_CLIENT_ID, CUSTOM_CLIENT_SECRET)
    return app_id, await api.create_profile(app_id, NewProfile.model_validate(body))
