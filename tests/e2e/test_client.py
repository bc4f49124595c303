"""The typed client's methods against the running services: an app for end users from
registration to removal, and a pre-authorized app from consent to an access token.

Only the browser's part (consent at the identity provider, the site picker) is driven by hand,
with `devinfra.consent.follow_link`; everything else goes through `integrations_client`, typed
models in and out, problems as its exceptions. Its client is built here with the library's own
defaults (retries included), not the suite's.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from devinfra.consent import follow_link
from integrations_client import (
    AppSubject,
    CustomProfileRef,
    IntegrationsClient,
    NewProfile,
    ProfileChanges,
    ServiceUrls,
    UserSubject,
    errors,
    models,
)
from tests.e2e.conftest import CUSTOM_CLIENT_ID, CUSTOM_CLIENT_SECRET, SITES, System
from tests.support.infra import TEST_JWT_SECRET
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth, pytest.mark.slow]

LIST_SPACES = "confluence.list_spaces"
CREATE_CONTENT = "confluence.create_content"


@pytest.fixture
async def api(system: System) -> AsyncIterator[IntegrationsClient]:
    urls = ServiceUrls(system.auth_url, system.integration.url, system.template.url)
    async with IntegrationsClient.with_secret(urls, TEST_JWT_SECRET, subject="e2e-client") as made:
        yield made


def new_app() -> str:
    return f"cli-{uuid.uuid4().hex[:10]}"


async def installable(api: IntegrationsClient, app_id: str, template_id: str) -> None:
    """template-service learns of a configuration from an event: wait until it has."""

    async def ready() -> bool:
        async for template in api.list_app_templates(app_id, integration="confluence"):
            if template.template_id == template_id:
                return template.installable
        return False

    assert await eventually(ready, timeout=15), f"{template_id} never became installable"


async def test_an_app_for_end_users_is_registered_configured_installed_run_and_removed(
    system: System, api: IntegrationsClient
) -> None:
    app_id = new_app()
    app = await api.put_app(app_id, name="Client e2e", edition="enterprise")
    assert (app.app_id, app.edition) == (app_id, "enterprise")
    assert await api.get_app(app_id) == app
    catalog = {entry.integration: entry async for entry in api.list_catalog()}
    assert "user_authorize" in catalog["confluence"].authorization_types

    state = await api.configure(app_id, "confluence", "user_authorize")
    assert (state.state, state.connection.status) == ("configured", "per_user")
    assert state.authorization == models.AuthorizationSettings(
        type="user_authorize", profile=models.SystemProfileRef()
    )
    # A page of one at a time: the pager follows the real service's cursors.
    listed = {i.integration: i async for i in api.list_integrations(app_id, limit=1)}
    assert listed["confluence"].state == "configured"
    assert listed.keys() >= {"confluence", "jira"}
    link = await api.create_user_link(app_id, "confluence", "user-1")
    assert link.link.startswith(f"{system.auth_url}/connect/")

    templates = await api.list_templates(integration="confluence").collect()
    assert LIST_SPACES in {t.template_id for t in templates}
    assert (await api.get_template(LIST_SPACES)).integration == "confluence"
    await installable(api, app_id, LIST_SPACES)
    installation = await api.install(app_id, LIST_SPACES)
    assert await api.install(app_id, LIST_SPACES) == installation
    assert [i.installation_id async for i in api.list_installations(app_id)] == [
        installation.installation_id
    ]

    tasks = await api.list_dialog_tasks(app_id).collect()
    assert [t.dialog_task_id for t in tasks] == [installation.dialog_task_id]
    task = await api.get_dialog_task(app_id, installation.dialog_task_id)
    assert (task.status, task.source.template_id) == ("active", LIST_SPACES)

    run = await api.start_run(
        app_id,
        task.dialog_task_id,
        subject=UserSubject(user_id="u-without-consent"),
        idempotency_key=f"first-{app_id}",
    )
    assert run.status == "authorization_required"
    assert run.authorization is not None
    assert run.authorization.link.startswith(f"{system.auth_url}/connect/")
    assert all(step.status == "skipped" for step in run.steps)
    again = await api.start_run(
        app_id,
        task.dialog_task_id,
        subject=UserSubject(user_id="u-without-consent"),
        idempotency_key=f"first-{app_id}",
    )
    assert again.run_id == run.run_id
    assert [r.run_id async for r in api.list_runs(app_id, task.dialog_task_id)] == [run.run_id]
    assert (await api.get_run(app_id, task.dialog_task_id, run.run_id)).status == run.status
    with pytest.raises(errors.ValidationError):
        await api.start_run(app_id, task.dialog_task_id, subject=AppSubject())

    [openai_tool] = await api.list_tools(app_id, format="openai").collect()
    assert openai_tool.function.name == "confluence_list_spaces"
    [mcp_tool] = await api.list_tools(app_id).collect()
    assert mcp_tool.annotations is not None and mcp_tool.annotations.read_only_hint is True

    await api.uninstall(app_id, installation.installation_id)
    assert await api.list_installations(app_id).collect() == []
    with pytest.raises(errors.DialogTaskNotFound):
        await api.get_dialog_task(app_id, task.dialog_task_id)
    await api.remove_integration(app_id, "confluence")
    assert (await api.get_integration(app_id, "confluence")).state == "available"
    with pytest.raises(errors.IntegrationNotConfigured):
        await api.create_user_link(app_id, "confluence", "user-1")


async def test_a_pre_authorized_app_consents_then_gets_an_access_token_through_the_client(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    app_id = new_app()
    await api.put_app(app_id, name="Client e2e", edition="developer")
    [system_profile] = [
        p async for p in api.list_system_profiles() if p.profile_id == "system:confluence"
    ]
    assert system_profile.available is True

    started = await api.configure(app_id, "confluence", "pre_authorize")
    assert started.state == "available"
    assert started.authorization.authorization_url.startswith(system.auth_url)
    page = await follow_link(
        browser,
        started.authorization.authorization_url,
        login="admin",
        cloud_id=SITES[0]["id"],
    )
    assert page.status == 200, page.text

    async def connected() -> Any:
        state = await api.get_integration(app_id, "confluence")
        return state if state.connection.status == "connected" else None

    state = await eventually(connected, timeout=15)
    assert state.state == "configured"
    authorization = await api.get_authorization(started.authorization.authorization_id)
    assert authorization.status == "completed"
    [credential] = await api.list_credentials(app_id, integration="confluence").collect()
    assert credential.credential_id == authorization.credential_id
    assert credential.subject == AppSubject()

    token = await api.issue_access_token(app_id, "confluence")
    assert token.credential_id == credential.credential_id
    assert token.resource is not None
    assert token.resource.cloud_id == SITES[0]["id"]
    assert token.resource.api_base_url == (
        f"{system.atlassian.base_url}/ex/confluence/{SITES[0]['id']}"
    )
    assert token.access_token.get_secret_value() not in repr(token)
    introspection = await system.idp.introspect(token.access_token.get_secret_value())
    assert introspection["active"] is True

    assert (await api.disable(app_id, "confluence")).state == "disabled"

    async def refused_while_disabled() -> bool:
        try:
            await api.issue_access_token(app_id, "confluence")
        except errors.IntegrationDisabled:
            return True
        return False

    # auth-service learns of it from integration.disabled, behind whatever its queue holds.
    assert await eventually(refused_while_disabled, timeout=30)
    assert (await api.enable(app_id, "confluence")).state == "configured"


async def test_custom_profiles_are_created_read_changed_and_deleted_and_refusals_are_typed(
    system: System, api: IntegrationsClient
) -> None:
    app_id = new_app()
    await api.put_app(app_id, name="Client e2e", edition="developer")
    profile = await api.create_profile(
        app_id,
        NewProfile(
            name="Team Confluence app",
            integration="confluence",
            idp_name="Atlassian",
            client_id=CUSTOM_CLIENT_ID,
            client_secret=CUSTOM_CLIENT_SECRET,
            authorization_url=f"{system.idp.base_url}/authorize",
            token_url=f"{system.idp.base_url}/oauth/token",
            scopes=["write:confluence-content", "offline_access"],
        ),
    )
    assert profile.client_secret_set is True
    assert "client_secret" not in profile.model_dump()
    assert await api.get_profile(app_id, profile.profile_id) == profile
    renamed = await api.update_profile(app_id, profile.profile_id, ProfileChanges(name="Renamed"))
    assert renamed.name == "Renamed"
    with pytest.raises(errors.ClientSecretRequired):
        await api.update_profile(
            app_id, profile.profile_id, ProfileChanges(client_id="another-client")
        )
    assert [p.profile_id async for p in api.list_profiles(app_id)] == [profile.profile_id]
    with pytest.raises(errors.AuthProfileNotFound):
        await api.configure(
            app_id, "confluence", "user_authorize", profile=CustomProfileRef(profile_id="nope")
        )

    await api.delete_profile(app_id, profile.profile_id)
    assert await api.list_profiles(app_id).collect() == []
    with pytest.raises(errors.NotFound):
        await api.get_profile(app_id, profile.profile_id)

    trial = new_app()
    await api.put_app(trial, name="Trial", edition="trial")
    with pytest.raises(errors.EditionNotSupported):
        await api.configure(trial, "confluence", "pre_authorize")
    with pytest.raises(errors.AppNotFound):
        await api.get_app(new_app())
    with pytest.raises(errors.TemplateNotFound):
        await api.install(app_id, "confluence.no_such_template")
