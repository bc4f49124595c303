"""Disable, enable, delete, provider revocation and a restart, across the three services."""

from __future__ import annotations

import uuid

import aiohttp
import pytest

from integrations_client import AppSubject, IntegrationsClient, SystemProfileRef, errors, models
from tests.e2e.conftest import SITES, System
from tests.e2e.test_walkthrough import (
    configured,
    new_app,
    pre_authorize,
)
from tests.support.events import EventTap
from tests.support.scenarios import consent, install_when_installable
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth, pytest.mark.slow]


async def task_status(
    api: IntegrationsClient, app_id: str, task_id: str, status: str
) -> models.DialogTask:
    async def check() -> models.DialogTask | None:
        task = await api.get_dialog_task(app_id, task_id)
        return task if task.status == status else None

    task = await eventually(check, timeout=15)
    assert task is not None, f"dialog task never became {status}"
    return task


def service_auth(task: models.DialogTask) -> list[models.ServiceBinding | None]:
    return [node.auth for node in task.nodes if node.type == "service"]


async def configured_with_task(
    api: IntegrationsClient, browser: aiohttp.ClientSession
) -> tuple[str, str]:
    app_id = new_app()
    await api.put_app(app_id, name="E2E app", edition="developer")
    await pre_authorize(api, browser, app_id, SITES[0])
    await configured(api, app_id)
    installation = await install_when_installable(api, app_id, "confluence.create_content")
    return app_id, installation.dialog_task_id


async def test_disabling_unbinds_the_dialog_tasks_and_enabling_binds_them_again(
    api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    app_id, task_id = await configured_with_task(api, browser)
    bound = models.ServiceBinding(integration="confluence", authorization_type="pre_authorize")

    disabled = await api.disable(app_id, "confluence")
    assert disabled.state == "disabled"
    task = await task_status(api, app_id, task_id, "integration_disabled")
    assert set(map(str, service_auth(task))) == {"None"}

    enabled = await api.enable(app_id, "confluence")
    assert enabled.state == "configured"
    task = await task_status(api, app_id, task_id, "active")
    assert service_auth(task) == [bound] * len(service_auth(task))


async def test_deleting_destroys_the_credentials_and_unbinds_the_tasks(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    app_id, task_id = await configured_with_task(api, browser)
    assert len(await api.list_credentials(app_id).collect()) == 1

    async with EventTap(
        system.infra.amqp_url, ["integration.removed", "credential.revoked"]
    ) as tap:
        await api.remove_integration(app_id, "confluence")
        assert (await api.get_integration(app_id, "confluence")).state == "available"
        await tap.wait_for(
            lambda evs: any(
                e["type"] == "credential.revoked" and e["data"]["app_id"] == app_id for e in evs
            ),
            timeout=15,
        )

    async def only_revoked() -> bool:
        credentials = await api.list_credentials(app_id).collect()
        return all(c.status == "revoked" for c in credentials)

    assert await eventually(only_revoked, timeout=15)
    with pytest.raises(errors.CredentialNotFound) as refused:
        await api.issue_access_token(app_id, "confluence", subject=AppSubject())
    assert (refused.value.status, refused.value.code) == (404, "credential_not_found")
    task = await task_status(api, app_id, task_id, "integration_disabled")
    assert all(auth is None for auth in service_auth(task))


async def test_a_grant_revoked_at_the_provider_asks_the_developers_to_reauthorize(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    app_id = new_app()
    await api.put_app(app_id, name="E2E app", edition="developer")
    await pre_authorize(api, browser, app_id, SITES[0])
    await configured(api, app_id)
    await api.issue_access_token(app_id, "confluence", subject=AppSubject())

    async with EventTap(system.infra.amqp_url, ["integration.reauthorization_required"]) as tap:
        await system.idp.revoke_grants()
        with pytest.raises(errors.ReauthorizationRequired) as refused:
            await api.issue_access_token(
                app_id, "confluence", subject=AppSubject(), force_refresh=True
            )
        assert (refused.value.status, refused.value.code) == (409, "reauthorization_required")
        events = await tap.wait_for(
            lambda evs: any(e["data"]["app_id"] == app_id for e in evs), timeout=15
        )

    state = await configured(api, app_id, status="reauthorization_required")
    assert state.state == "configured"
    assert [e["data"]["app_id"] for e in events].count(app_id) == 1
    # Enabling again either answers (it is enabled already) or is refused as needing consent.
    try:
        await api.enable(app_id, "confluence")
    except errors.Conflict as conflict:
        assert conflict.code == "reauthorization_required"


async def test_a_service_restarted_mid_flow_finishes_it_with_nothing_lost_or_doubled(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    app_id = f"e2e-restart-{uuid.uuid4().hex[:6]}"
    await api.put_app(app_id, name="E2E app", edition="developer")
    async with EventTap(system.infra.amqp_url, ["integration.configured"]) as tap:
        started = await api.configure(
            app_id, "confluence", "pre_authorize", profile=SystemProfileRef()
        )
        assert await system.integration.stop() == 0
        try:
            page = await consent(
                started.authorization.authorization_url, cloud_id=SITES[0]["id"], browser=browser
            )
            assert page.status == 200
        finally:
            await system.integration.start()
        state = await configured(api, app_id)
        assert state.state == "configured"
        await tap.wait_for(lambda evs: any(e["data"]["app_id"] == app_id for e in evs), 15)
        await install_when_installable(api, app_id, "confluence.create_content")
    ours = [e for e in tap.events if e["data"]["app_id"] == app_id]
    assert len(ours) == 1
