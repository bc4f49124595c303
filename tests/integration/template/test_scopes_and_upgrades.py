"""Contract v2's install rules: a connection without the template's scopes cannot install it,
and a task installed from an older version of its template is upgraded in place."""

from __future__ import annotations

import pytest
from pymongo import AsyncMongoClient

from platform_core.mongo import Document
from template_service.settings import TemplateSettings
from tests.integration.template.conftest import AuthStub, IntegrationEvents, Service
from tests.support.events import EventTap

pytestmark = [pytest.mark.mongo, pytest.mark.broker]

CREATE_CONTENT = "confluence.create_content"
UPDATE_CONTENT = "confluence.update_content"
CLASSIC_ONLY = ["write:confluence-content", "offline_access"]


async def test_a_connection_with_only_classic_scopes_shows_what_is_missing_and_cannot_install(
    service: Service, integration_events: IntegrationEvents, auth_stub: AuthStub, unique: str
) -> None:
    app_id = f"app-{unique}"
    auth_stub.granted = CLASSIC_ONLY
    await integration_events.configured(app_id)
    view = await service.app_template(app_id, CREATE_CONTENT)
    assert view["required_scopes"] == ["read:space:confluence", "write:page:confluence"]
    assert view["missing_scopes"] == ["read:space:confluence", "write:page:confluence"]
    assert view["installable"] is False

    status, body = await service.install(app_id, CREATE_CONTENT)
    assert (status, body["code"]) == (409, "insufficient_scope")
    assert body["missing_scopes"] == ["read:space:confluence", "write:page:confluence"]

    auth_stub.granted = [*CLASSIC_ONLY, "read:space:confluence", "write:page:confluence"]
    assert (await service.app_template(app_id, CREATE_CONTENT))["missing_scopes"] == []
    status, body = await service.install(app_id, CREATE_CONTENT)
    assert status == 201, body


async def test_installing_a_newer_version_upgrades_the_task_in_place(
    service: Service,
    integration_events: IntegrationEvents,
    tap: EventTap,
    template_settings: TemplateSettings,
    mongo_client: AsyncMongoClient[Document],
    unique: str,
) -> None:
    app_id = f"app-{unique}"
    await integration_events.configured(app_id)
    status, installed = await service.install(app_id, UPDATE_CONTENT)
    assert status == 201, installed
    task_id = installed["dialog_task_id"]
    db = mongo_client[template_settings.database_name("template-service")]
    # The shape a task installed from version 1.0.0 of the template has in storage: its script
    # node was JavaScript.
    await db.installations.update_one(
        {"_id": installed["installation_id"]}, {"$set": {"template_version": "1.0.0"}}
    )
    script = {
        "type": "script",
        "language": "javascript",
        "code": "context.nextVersion = {value: 1};",
        "outputs": ["nextVersion"],
    }
    await db.dialog_tasks.update_one(
        {"_id": task_id, "nodes.name": "nextVersionScript"},
        {
            "$set": {
                "source.template_version": "1.0.0",
                "nodes.$": {"name": "nextVersionScript", "id": "legacy-node", **script},
            }
        },
    )
    old = await service.task(app_id, task_id)
    assert old["source"]["template_version"] == "1.0.0"
    assert any(node.get("language") == "javascript" for node in old["nodes"])

    status, upgraded = await service.install(app_id, UPDATE_CONTENT)
    assert status == 200, upgraded
    assert upgraded["dialog_task_id"] == task_id
    assert upgraded["installation_id"] == installed["installation_id"]
    assert upgraded["template_version"] == "2.0.0"
    task = await service.task(app_id, task_id)
    assert task["source"]["template_version"] == "2.0.0"
    assert task["created_at"] == old["created_at"]
    assert not any("language" in node for node in task["nodes"])
    updated = await tap.wait_for_type("dialog_task.updated")
    assert updated[0]["data"] == {"app_id": app_id, "dialog_task_id": task_id, "status": "active"}
    again = await service.install(app_id, UPDATE_CONTENT)
    assert again == (200, upgraded)
