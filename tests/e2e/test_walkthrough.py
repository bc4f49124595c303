"""The product's story across the three services, as `make demo` tells it."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import pytest

from integrations_client import (
    AppSubject,
    CustomProfileRef,
    IntegrationsClient,
    SystemProfileRef,
    UserSubject,
    errors,
    models,
)
from tests.e2e.conftest import CUSTOM_CLIENT_ID, SITES, System
from tests.support.events import EventTap
from tests.support.scenarios import (
    consent,
    developer_app_with_custom_profile,
    install_when_installable,
)
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth, pytest.mark.slow]

SYSTEM = models.AuthorizationSettings(type="pre_authorize", profile=SystemProfileRef())


def new_app() -> str:
    return f"e2e-{uuid.uuid4().hex[:10]}"


async def configured(
    api: IntegrationsClient, app_id: str, status: str = "connected"
) -> models.Integration:
    async def check() -> models.Integration | None:
        state = await api.get_integration(app_id, "confluence")
        return state if state.connection.status == status else None

    state = await eventually(check, timeout=15)
    assert state is not None, f"{app_id}'s connection never became {status}"
    return state


async def pre_authorize(
    api: IntegrationsClient,
    browser: aiohttp.ClientSession,
    app_id: str,
    site: dict[str, Any],
) -> models.PendingIntegration:
    started = await api.configure(app_id, "confluence", "pre_authorize", profile=SystemProfileRef())
    link = started.authorization.authorization_url
    page = await consent(link, cloud_id=site["id"], browser=browser)
    assert page.status == 200, page.text
    return started


async def test_an_admin_pre_authorizes_installs_and_a_service_gets_a_token(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    app_id = new_app()
    async with EventTap(system.infra.amqp_url, ["integration.configured"]) as tap:
        await api.put_app(app_id, name="E2E app", edition="developer")
        assert (await api.get_integration(app_id, "confluence")).state == "available"

        started = await pre_authorize(api, browser, app_id, SITES[0])
        assert started.state == "available"
        assert started.authorization.authorization_url.startswith(system.auth_url)

        state = await configured(api, app_id)
        assert state.state == "configured"
        assert state.authorization == SYSTEM
        events = await tap.wait_for(
            lambda evs: any(e["data"]["app_id"] == app_id for e in evs), timeout=10
        )
    ours = [e for e in events if e["data"]["app_id"] == app_id]
    assert len(ours) == 1
    assert ours[0]["data"]["first_configuration"] is True

    installation = await install_when_installable(api, app_id, "confluence.create_content")
    task = await api.get_dialog_task(app_id, installation.dialog_task_id)
    assert task.name == "createContent"
    assert task.status == "active"
    names = {node.name for node in task.nodes}
    assert {"createContentService", "getResourceIdService", "createContentMessage"} <= names

    token = await api.issue_access_token(app_id, "confluence", subject=AppSubject())
    assert token.resource is not None
    assert token.resource.cloud_id == SITES[0]["id"]
    assert token.resource.site_url == SITES[0]["url"]
    assert token.resource.api_base_url == (
        f"{system.atlassian.base_url}/ex/confluence/{SITES[0]['id']}"
    )
    introspection = await system.idp.introspect(token.access_token.get_secret_value())
    assert introspection["active"] is True
    async with system.client(auth_url=system.auth[1].url) as other_replica:
        again = await other_replica.issue_access_token(app_id, "confluence", subject=AppSubject())
    assert again == token


async def test_end_users_authorize_through_their_own_links(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    app_id = new_app()
    await api.put_app(app_id, name="E2E app", edition="enterprise")
    state = await api.configure(app_id, "confluence", "user_authorize")
    assert (state.state, state.connection.status) == ("configured", "per_user")

    link = await api.create_user_link(app_id, "confluence", "user-7")
    assert link.link.startswith(system.auth_url)
    page = await consent(link.link, login="user-7", cloud_id=SITES[1]["id"], browser=browser)
    assert page.status == 200

    user = UserSubject(user_id="user-7")
    token = await api.issue_access_token(app_id, "confluence", subject=user)
    assert token.resource is not None
    assert token.resource.cloud_id == SITES[1]["id"]
    credentials = await api.list_credentials(app_id).collect()
    assert [c.subject for c in credentials] == [user]


async def test_a_trial_app_is_refused(api: IntegrationsClient) -> None:
    app_id = new_app()
    await api.put_app(app_id, name="E2E app", edition="trial")
    with pytest.raises(errors.EditionNotSupported) as refused:
        await api.configure(app_id, "confluence", "pre_authorize", profile=SystemProfileRef())
    assert (refused.value.status, refused.value.code) == (403, "edition_not_supported")
    assert (await api.get_integration(app_id, "confluence")).state == "available"


async def test_a_custom_profile_pointing_at_the_identity_provider_configures_the_app(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    app_id, profile = await developer_app_with_custom_profile(api, system)
    assert "client_secret" not in profile.model_dump()
    assert profile.client_secret_set is True
    chosen = CustomProfileRef(profile_id=profile.profile_id)
    started = await api.configure(app_id, "confluence", "pre_authorize", profile=chosen)
    page = await consent(
        started.authorization.authorization_url, cloud_id=SITES[0]["id"], browser=browser
    )
    assert page.status == 200
    state = await configured(api, app_id)
    assert state.authorization is not None
    assert state.authorization.profile == chosen
    token = await api.issue_access_token(app_id, "confluence", subject=AppSubject())
    introspection = await system.idp.introspect(token.access_token.get_secret_value())
    assert introspection["client_id"] == CUSTOM_CLIENT_ID


async def test_skip_for_now_then_installing_later_works_the_same(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    app_id = new_app()
    await api.put_app(app_id, name="E2E app", edition="developer")
    await pre_authorize(api, browser, app_id, SITES[0])
    await configured(api, app_id)

    async def installable() -> Any:
        listed = await api.list_app_templates(app_id).collect()
        items = [item for item in listed if item.integration == "confluence"]
        return all(item.installable and not item.installed for item in items) and items

    templates = await eventually(installable, timeout=15)
    assert templates, "nothing installable after configuration"
    installation = await install_when_installable(api, app_id, "confluence.create_content")
    # The wire itself: the same template again answers 200 (not 201) with the same installation.
    url = f"{system.template.url}/v1/apps/{app_id}/template-installations"
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            url, json={"template_id": "confluence.create_content"}, headers=system.headers()
        ) as response,
    ):
        assert response.status == 200, await response.text()
        again = models.Installation.model_validate(await response.json())
    assert again == installation


async def test_jira_is_configured_consented_and_installed_as_data_like_confluence(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    app_id = new_app()
    await api.put_app(app_id, name="E2E app", edition="enterprise")
    started = await api.configure(app_id, "jira", "pre_authorize", profile=SystemProfileRef())
    page = await consent(
        started.authorization.authorization_url, cloud_id=SITES[1]["id"], browser=browser
    )
    assert page.status == 200, page.text

    async def jira_connected() -> models.Integration | None:
        state = await api.get_integration(app_id, "jira")
        return state if state.connection.status == "connected" else None

    connected = await eventually(jira_connected, timeout=15)
    assert connected is not None and connected.state == "configured"
    assert (await api.get_integration(app_id, "confluence")).state == "available"

    installation = await install_when_installable(api, app_id, "jira.create_issue")
    task = await api.get_dialog_task(app_id, installation.dialog_task_id)
    services = [node for node in task.nodes if node.type == "service"]
    binding = models.ServiceBinding(integration="jira", authorization_type="pre_authorize")
    assert services and all(node.auth == binding for node in services)

    token = await api.issue_access_token(app_id, "jira", subject=AppSubject())
    assert token.resource is not None
    assert token.resource.cloud_id == SITES[1]["id"]
    assert token.resource.api_base_url == (f"{system.atlassian.base_url}/ex/jira/{SITES[1]['id']}")
    assert {"read:jira-work", "write:jira-work"} <= set(token.scopes)
