"""The product's story across the three services, as `make demo` tells it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from devinfra.platform_client import PlatformClient
from tests.e2e.conftest import CUSTOM_CLIENT_ID, CUSTOM_CLIENT_SECRET, SITES, System
from tests.support.events import EventTap
from tests.support.profiles import custom_profile_body
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth, pytest.mark.slow]


def new_app() -> str:
    return f"e2e-{uuid.uuid4().hex[:10]}"


async def configured(client: PlatformClient, app_id: str, status: str = "connected") -> Any:
    async def check() -> Any:
        state = await client.integration(app_id)
        return state if state["connection"]["status"] == status else None

    return await eventually(check, timeout=15)


async def pre_authorize(client: PlatformClient, app_id: str, site: dict[str, Any]) -> Any:
    started = await client.configure(
        app_id, {"type": "pre_authorize", "profile": {"kind": "system"}}
    )
    page = await client.consent(started["authorization"]["authorization_url"], cloud_id=site["id"])
    assert page.status == 200, page.text
    return started


async def test_an_admin_pre_authorizes_installs_and_a_service_gets_a_token(
    system: System, client: PlatformClient
) -> None:
    app_id = new_app()
    async with EventTap(system.infra.amqp_url, ["integration.configured"]) as tap:
        await client.register_app(app_id, "developer")
        assert (await client.integration(app_id))["state"] == "available"

        started = await pre_authorize(client, app_id, SITES[0])
        assert started["state"] == "available"
        assert started["authorization"]["authorization_url"].startswith(system.auth_url)

        state = await configured(client, app_id)
        assert state["state"] == "configured"
        assert state["authorization"] == {"type": "pre_authorize", "profile": {"kind": "system"}}
        events = await tap.wait_for(
            lambda evs: any(e["data"]["app_id"] == app_id for e in evs), timeout=10
        )
    ours = [e for e in events if e["data"]["app_id"] == app_id]
    assert len(ours) == 1
    assert ours[0]["data"]["first_configuration"] is True

    installation = await client.install_when_installable(app_id, "confluence.create_content")
    task = await client.dialog_task(app_id, installation["dialog_task_id"])
    assert task["name"] == "createContent"
    assert task["status"] == "active"
    names = {node["name"] for node in task["nodes"]}
    assert {"createContentService", "getResourceIdService", "createContentMessage"} <= names

    token = await client.access_token(app_id, {"type": "app"})
    assert token["resource"]["cloud_id"] == SITES[0]["id"]
    assert token["resource"]["site_url"] == SITES[0]["url"]
    assert token["resource"]["api_base_url"] == (
        f"{system.atlassian.base_url}/ex/confluence/{SITES[0]['id']}"
    )
    introspection = await system.idp.introspect(token["access_token"])
    assert introspection["active"] is True
    other_replica = system.client(client.session, auth_url=system.auth[1].url)
    assert await other_replica.access_token(app_id, {"type": "app"}) == token


async def test_end_users_authorize_through_their_own_links(
    system: System, client: PlatformClient
) -> None:
    app_id = new_app()
    await client.register_app(app_id, "enterprise")
    state = await client.configure(app_id, {"type": "user_authorize"}, expect=200)
    assert (state["state"], state["connection"]["status"]) == ("configured", "per_user")

    link = await client.user_link(app_id, "user-7")
    assert link["link"].startswith(system.auth_url)
    page = await client.consent(link["link"], login="user-7", cloud_id=SITES[1]["id"])
    assert page.status == 200

    token = await client.access_token(app_id, {"type": "user", "user_id": "user-7"})
    assert token["resource"]["cloud_id"] == SITES[1]["id"]
    credentials = await client.credentials(app_id)
    assert [c["subject"] for c in credentials] == [{"type": "user", "user_id": "user-7"}]


async def test_a_trial_app_is_refused(client: PlatformClient) -> None:
    app_id = new_app()
    await client.register_app(app_id, "trial")
    refused = await client.configure(
        app_id, {"type": "pre_authorize", "profile": {"kind": "system"}}, expect=403
    )
    assert refused["code"] == "edition_not_supported"
    assert (await client.integration(app_id))["state"] == "available"


async def test_a_custom_profile_pointing_at_the_identity_provider_configures_the_app(
    system: System, client: PlatformClient
) -> None:
    app_id = new_app()
    await client.register_app(app_id, "developer")
    profile = await client.create_profile(
        app_id,
        custom_profile_body(system.idp.base_url, CUSTOM_CLIENT_ID, CUSTOM_CLIENT_SECRET),
    )
    assert "client_secret" not in profile
    assert profile["client_secret_set"] is True
    started = await client.configure(
        app_id,
        {
            "type": "pre_authorize",
            "profile": {"kind": "custom", "profile_id": profile["profile_id"]},
        },
    )
    page = await client.consent(
        started["authorization"]["authorization_url"], cloud_id=SITES[0]["id"]
    )
    assert page.status == 200
    state = await configured(client, app_id)
    assert state["authorization"]["profile"] == {
        "kind": "custom",
        "profile_id": profile["profile_id"],
    }
    token = await client.access_token(app_id, {"type": "app"})
    assert (await system.idp.introspect(token["access_token"]))["client_id"] == CUSTOM_CLIENT_ID


async def test_skip_for_now_then_installing_later_works_the_same(
    system: System, client: PlatformClient
) -> None:
    app_id = new_app()
    await client.register_app(app_id, "developer")
    await pre_authorize(client, app_id, SITES[0])
    await configured(client, app_id)

    async def installable() -> Any:
        items = [i for i in await client.app_templates(app_id) if i["integration"] == "confluence"]
        return all(item["installable"] and not item["installed"] for item in items) and items

    templates = await eventually(installable, timeout=15)
    assert templates, "nothing installable after configuration"
    installation = await client.install_when_installable(app_id, "confluence.create_content")
    again = await client.install(app_id, "confluence.create_content", expect=200)
    assert again == installation


async def test_jira_is_configured_consented_and_installed_as_data_like_confluence(
    system: System, client: PlatformClient
) -> None:
    app_id = new_app()
    await client.register_app(app_id, "enterprise")
    started = await client.configure(
        app_id, {"type": "pre_authorize", "profile": {"kind": "system"}}, integration="jira"
    )
    page = await client.consent(
        started["authorization"]["authorization_url"], cloud_id=SITES[1]["id"]
    )
    assert page.status == 200, page.text

    async def jira_connected() -> Any:
        state = await client.integration(app_id, "jira")
        return state if state["connection"]["status"] == "connected" else None

    assert (await eventually(jira_connected, timeout=15))["state"] == "configured"
    assert (await client.integration(app_id))["state"] == "available"

    installation = await client.install_when_installable(app_id, "jira.create_issue")
    task = await client.dialog_task(app_id, installation["dialog_task_id"])
    services = [node for node in task["nodes"] if node["type"] == "service"]
    assert services and all(
        node["auth"] == {"integration": "jira", "authorization_type": "pre_authorize"}
        for node in services
    )

    token = await client.access_token(app_id, {"type": "app"}, integration="jira")
    assert token["resource"]["cloud_id"] == SITES[1]["id"]
    assert token["resource"]["api_base_url"] == (
        f"{system.atlassian.base_url}/ex/jira/{SITES[1]['id']}"
    )
    assert {"read:jira-work", "write:jira-work"} <= set(token["scopes"])
