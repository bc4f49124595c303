"""Steps the cross-service scenarios and the benchmarks share: a connected app, an installed task, and a look at
what landed on the Atlassian stand-in."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp

from devinfra.platform_client import PlatformClient
from tests.support.system import SITES, System
from tests.support.waiting import eventually

SITE = SITES[0]


def new_app() -> str:
    return f"run-{uuid.uuid4().hex[:10]}"


async def connected_app(client: PlatformClient, integration: str = "confluence") -> str:
    """An app whose integration is pre-authorized through the real consent, on the first site."""
    app_id = new_app()
    await client.register_app(app_id, "developer")
    started = await client.configure(
        app_id, {"type": "pre_authorize", "profile": {"kind": "system"}}, integration=integration
    )
    page = await client.consent(started["authorization"]["authorization_url"], cloud_id=SITE["id"])
    assert page.status == 200, page.text

    async def connected() -> Any:
        state = await client.integration(app_id, integration)
        return state["connection"]["status"] == "connected"

    await eventually(connected, timeout=15)
    return app_id


async def installed(client: PlatformClient, app_id: str, template_id: str) -> str:
    return str((await client.install_when_installable(app_id, template_id))["dialog_task_id"])


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
