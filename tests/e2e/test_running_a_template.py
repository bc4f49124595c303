"""An installed dialog task runs, as a dialog runtime would run it, against the Atlassian API.

The test plays the runtime: it walks the task's transitions from the intent, fills entities,
asks auth-service for the bound connection's token, renders each service node with the
reference placeholder semantics and sends it to the Atlassian-shaped API.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from devinfra.platform_client import PlatformClient
from template_service.domain.placeholders import render
from tests.e2e.conftest import SITES, System
from tests.e2e.test_walkthrough import configured, new_app, pre_authorize

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth, pytest.mark.slow]


def in_order(task: dict[str, Any]) -> list[dict[str, Any]]:
    by_id = {node["id"]: node for node in task["nodes"]}
    following = {t["from"]: t["to"] for t in task["transitions"]}
    current = next(n for n in task["nodes"] if n["type"] == "intent")["id"]
    ordered = [by_id[current]]
    while current in following:
        current = following[current]
        ordered.append(by_id[current])
    return ordered


async def run_task(
    session: aiohttp.ClientSession,
    task: dict[str, Any],
    entities: dict[str, Any],
    token: dict[str, Any],
    provider_api_base_url: str,
) -> list[str]:
    """Run every node in order; return the messages it shows."""
    context: dict[str, Any] = {
        "connection": {
            "api_base_url": token["resource"]["api_base_url"],
            "cloud_id": token["resource"]["cloud_id"],
        },
        "provider": {"api_base_url": provider_api_base_url},
        "context": {"entities": entities},
    }
    messages = []
    for node in in_order(task):
        if node["type"] == "service":
            assert node["auth"] == {
                "integration": "confluence",
                "authorization_type": "pre_authorize",
            }
            headers = {**node["headers"], "Authorization": f"Bearer {token['access_token']}"}
            async with session.request(
                node["method"],
                render(node["url"], context),
                json=render(node["body"], context) if node["body"] is not None else None,
                headers=headers,
            ) as response:
                assert response.status == 200, await response.text()
                context["context"][node["name"]] = {"response": {"body": await response.json()}}
        elif node["type"] == "message":
            messages.append(render(node["text"], context))
    return messages


async def test_create_content_creates_the_page_on_the_bound_site_and_links_to_it(
    system: System, client: PlatformClient, browser: aiohttp.ClientSession
) -> None:
    app_id = new_app()
    await client.register_app(app_id, "developer")
    await pre_authorize(client, app_id, SITES[1])
    await configured(client, app_id)
    installation = await client.install_when_installable(app_id, "confluence.create_content")
    task = await client.dialog_task(app_id, installation["dialog_task_id"])
    token = await client.access_token(app_id, {"type": "app"})

    entities = {
        "contentType": "page",
        "spaceKey": "ENG",
        "contentTitle": f"Release notes {app_id}",
        "contentBody": "<p>Shipped.</p>",
    }
    messages = await run_task(browser, task, entities, token, system.atlassian.base_url)

    assert len(messages) == 1
    assert messages[0].startswith(f'Created "Release notes {app_id}": {SITES[1]["url"]}/wiki')
    site = system.atlassian.state.sites[SITES[1]["id"]]
    created = [c for c in site.contents.values() if c.title == f"Release notes {app_id}"]
    assert [(c.type, c.space_key, c.body) for c in created] == [("page", "ENG", "<p>Shipped.</p>")]
    other_site = system.atlassian.state.sites[SITES[0]["id"]]
    assert not [c for c in other_site.contents.values() if app_id in c.title]
