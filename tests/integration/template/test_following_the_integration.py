"""How dialog tasks follow the integration's lifecycle, from integration-service's real events."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from platform_core.contract_types import SystemProfileRef, utc_now
from platform_core.events import IntegrationConfigured, IntegrationDisabled, new_event
from tests.integration.template.conftest import IntegrationEvents, Service
from tests.support.events import EventTap

# Create Content calls accessible-resources, looks the space up, then creates the content.
SERVICE_NODES = 3

pytestmark = [pytest.mark.mongo, pytest.mark.broker]

CREATE_CONTENT = "confluence.create_content"
BOUND = {"integration": "confluence", "authorization_type": "pre_authorize"}


def service_auth(task: dict[str, Any]) -> list[Any]:
    return [node["auth"] for node in task["nodes"] if node["type"] == "service"]


async def installed_task(
    service: Service, integration_events: IntegrationEvents, app_id: str
) -> str:
    await integration_events.configured(app_id)
    status, installation = await service.install(app_id, CREATE_CONTENT)
    assert status == 201, installation
    return str(installation["dialog_task_id"])


async def test_disabling_unbinds_the_service_nodes_and_enabling_binds_them_again(
    service: Service, integration_events: IntegrationEvents, unique: str
) -> None:
    app_id = f"app-{unique}"
    task_id = await installed_task(service, integration_events, app_id)

    await integration_events.disabled(app_id)
    task = await service.task(app_id, task_id)
    assert task["status"] == "integration_disabled"
    assert service_auth(task) == [None] * SERVICE_NODES
    view = await service.app_template(app_id, CREATE_CONTENT)
    assert (view["installable"], view["installed"]) == (False, True)
    status, body = await service.install(app_id, "confluence.get_content")
    assert (status, body["code"]) == (409, "integration_not_configured")

    await integration_events.enabled(app_id)
    task = await service.task(app_id, task_id)
    assert task["status"] == "active"
    assert service_auth(task) == [BOUND] * SERVICE_NODES


async def test_removal_keeps_the_installation_unbound_until_configured_again(
    service: Service, integration_events: IntegrationEvents, unique: str
) -> None:
    app_id = f"app-{unique}"
    task_id = await installed_task(service, integration_events, app_id)

    await integration_events.removed(app_id)
    task = await service.task(app_id, task_id)
    assert (task["status"], service_auth(task)) == ("integration_disabled", [None] * SERVICE_NODES)
    view = await service.app_template(app_id, CREATE_CONTENT)
    assert (view["installable"], view["installed"]) == (False, True)
    status, body = await service.install(app_id, "confluence.list_spaces")
    assert (status, body["code"]) == (409, "integration_not_configured")

    await integration_events.configured(app_id, "user_authorize")
    task = await service.task(app_id, task_id)
    assert task["status"] == "active"
    user_bound = {"integration": "confluence", "authorization_type": "user_authorize"}
    assert service_auth(task) == [user_bound] * SERVICE_NODES


async def test_events_delivered_three_times_change_nothing_more(
    service: Service, integration_events: IntegrationEvents, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    task_id = await installed_task(service, integration_events, app_id)
    disabled = new_event(
        "/integration-service", IntegrationDisabled(app_id=app_id, integration="confluence")
    )
    await integration_events.send(disabled)
    await integration_events.enabled(app_id)
    active = await service.task(app_id, task_id)
    assert active["status"] == "active"

    # The disable is redelivered twice after the enable: the same event id changes nothing.
    await integration_events.send(disabled, outcome="duplicate")
    await integration_events.send(disabled, outcome="duplicate")
    assert await service.task(app_id, task_id) == active

    configured = new_event(
        "/integration-service",
        IntegrationConfigured(
            app_id=app_id,
            integration="confluence",
            authorization_type="pre_authorize",
            profile=SystemProfileRef(),
            first_configuration=False,
            configured_at=utc_now(),
        ),
    )
    await integration_events.send(configured)
    await integration_events.send(configured, outcome="duplicate")
    await integration_events.send(configured, outcome="duplicate")
    assert await service.task(app_id, task_id) == active
    status, tasks = await service.call("GET", f"/v1/apps/{app_id}/dialog-tasks")
    assert (status, len(tasks["items"])) == (200, 1)
    await tap.wait_for_type("dialog_task.updated", count=2)
    # Contract v2: the disable and the enable each announce the task's binding change, once.
    ours = [e for e in tap.events if e["subject"] == app_id]
    assert [e["type"] for e in ours] == [
        "dialog_task.created",
        "template.installed",
        "dialog_task.updated",
        "dialog_task.updated",
    ]
    assert [e["data"]["status"] for e in ours[2:]] == ["integration_disabled", "active"]


async def test_a_late_event_older_than_the_last_change_is_ignored(
    service: Service, integration_events: IntegrationEvents, unique: str
) -> None:
    app_id = f"app-{unique}"
    task_id = await installed_task(service, integration_events, app_id)
    stale = new_event(
        "/integration-service",
        IntegrationDisabled(app_id=app_id, integration="confluence"),
        time=utc_now().replace(year=2020),
    )
    await integration_events.send(stale)
    assert (await service.task(app_id, task_id))["status"] == "active"


@pytest.mark.slow
async def test_installs_racing_a_disable_leave_no_bound_task_behind_it(
    service: Service, integration_events: IntegrationEvents, unique: str
) -> None:
    app_id = f"app-{unique}"
    await integration_events.configured(app_id)
    status, templates = await service.call("GET", "/v1/templates")
    assert status == 200
    installs = [service.install(app_id, t["template_id"]) for t in templates["items"]]
    results, _ = await asyncio.gather(
        asyncio.gather(*installs), integration_events.disabled(app_id)
    )
    statuses = [status for status, _ in results]
    assert set(statuses) <= {201, 409}, results

    status, tasks = await service.call("GET", f"/v1/apps/{app_id}/dialog-tasks")
    assert status == 200
    assert len(tasks["items"]) == statuses.count(201)
    for task in tasks["items"]:
        assert task["status"] == "integration_disabled"
        assert all(auth is None for auth in service_auth(task))
