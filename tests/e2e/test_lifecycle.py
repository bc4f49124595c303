"""Disable, enable, delete, provider revocation and a restart, across the three services."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from devinfra.platform_client import PlatformClient
from platform_core.service_auth import Scope
from tests.e2e.conftest import SITES, System
from tests.e2e.test_walkthrough import (
    configured,
    new_app,
    pre_authorize,
)
from tests.support.events import EventTap
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth, pytest.mark.slow]


async def task_status(client: PlatformClient, app_id: str, task_id: str, status: str) -> Any:
    async def check() -> Any:
        task = await client.dialog_task(app_id, task_id)
        return task if task["status"] == status else None

    task = await eventually(check, timeout=15)
    assert task is not None, f"dialog task never became {status}"
    return task


def service_auth(task: dict[str, Any]) -> list[Any]:
    return [node["auth"] for node in task["nodes"] if node["type"] == "service"]


async def configured_with_task(client: PlatformClient) -> tuple[str, str]:
    app_id = new_app()
    await client.register_app(app_id, "developer")
    await pre_authorize(client, app_id, SITES[0])
    await configured(client, app_id)
    installation = await client.install_when_installable(app_id, "confluence.create_content")
    return app_id, installation["dialog_task_id"]


async def test_disabling_unbinds_the_dialog_tasks_and_enabling_binds_them_again(
    client: PlatformClient,
) -> None:
    app_id, task_id = await configured_with_task(client)
    bound = {"integration": "confluence", "authorization_type": "pre_authorize"}

    disabled = await client.set_enabled(app_id, False)
    assert disabled["state"] == "disabled"
    task = await task_status(client, app_id, task_id, "integration_disabled")
    assert set(map(str, service_auth(task))) == {"None"}

    enabled = await client.set_enabled(app_id, True)
    assert enabled["state"] == "configured"
    task = await task_status(client, app_id, task_id, "active")
    assert service_auth(task) == [bound] * len(service_auth(task))


async def test_deleting_destroys_the_credentials_and_unbinds_the_tasks(
    system: System, client: PlatformClient
) -> None:
    app_id, task_id = await configured_with_task(client)
    assert len(await client.credentials(app_id)) == 1

    async with EventTap(
        system.infra.amqp_url, ["integration.removed", "credential.revoked"]
    ) as tap:
        await client.remove(app_id)
        assert (await client.integration(app_id))["state"] == "available"
        await tap.wait_for(
            lambda evs: any(
                e["type"] == "credential.revoked" and e["data"]["app_id"] == app_id for e in evs
            ),
            timeout=15,
        )

    async def only_revoked() -> bool:
        return all(c["status"] == "revoked" for c in await client.credentials(app_id))

    assert await eventually(only_revoked, timeout=15)
    refused = await client.call(
        "POST",
        f"{system.auth_url}/v1/apps/{app_id}/integrations/confluence/access-token",
        {"subject": {"type": "app"}},
        expect=404,
        scopes=(Scope.ISSUE_TOKENS,),
    )
    assert refused["code"] == "credential_not_found"
    task = await task_status(client, app_id, task_id, "integration_disabled")
    assert all(auth is None for auth in service_auth(task))


async def test_a_grant_revoked_at_the_provider_asks_the_developers_to_reauthorize(
    system: System, client: PlatformClient
) -> None:
    app_id = new_app()
    await client.register_app(app_id, "developer")
    await pre_authorize(client, app_id, SITES[0])
    await configured(client, app_id)
    await client.access_token(app_id, {"type": "app"})

    async with EventTap(system.infra.amqp_url, ["integration.reauthorization_required"]) as tap:
        await system.idp.revoke_grants()
        refused = await client.call(
            "POST",
            f"{system.auth_url}/v1/apps/{app_id}/integrations/confluence/access-token",
            {"subject": {"type": "app"}, "force_refresh": True},
            expect=409,
            scopes=(Scope.ISSUE_TOKENS,),
        )
        assert refused["code"] == "reauthorization_required"
        events = await tap.wait_for(
            lambda evs: any(e["data"]["app_id"] == app_id for e in evs), timeout=15
        )

    state = await configured(client, app_id, status="reauthorization_required")
    assert state["state"] == "configured"
    assert [e["data"]["app_id"] for e in events].count(app_id) == 1
    refused = await client.call(
        "PATCH",
        f"{system.integration.url}/v1/apps/{app_id}/integrations/confluence",
        {"enabled": True},
        expect=(200, 409),
    )
    assert refused.get("code") in {None, "reauthorization_required"}


async def test_a_service_restarted_mid_flow_finishes_it_with_nothing_lost_or_doubled(
    system: System, client: PlatformClient
) -> None:
    app_id = f"e2e-restart-{uuid.uuid4().hex[:6]}"
    await client.register_app(app_id, "developer")
    async with EventTap(system.infra.amqp_url, ["integration.configured"]) as tap:
        started = await client.configure(
            app_id, {"type": "pre_authorize", "profile": {"kind": "system"}}
        )
        assert await system.integration.stop() == 0
        try:
            page = await client.consent(
                started["authorization"]["authorization_url"], cloud_id=SITES[0]["id"]
            )
            assert page.status == 200
        finally:
            await system.integration.start()
        state = await configured(client, app_id)
        assert state["state"] == "configured"
        await tap.wait_for(lambda evs: any(e["data"]["app_id"] == app_id for e in evs), 15)
        await client.install_when_installable(app_id, "confluence.create_content")
    ours = [e for e in tap.events if e["data"]["app_id"] == app_id]
    assert len(ours) == 1
