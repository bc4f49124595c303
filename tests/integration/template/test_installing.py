"""Installing templates over HTTP, once integration-service's events have made them installable."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.template.conftest import IntegrationEvents, Service, of_app
from tests.support.events import EventTap

pytestmark = [pytest.mark.mongo, pytest.mark.broker]

CREATE_CONTENT = "confluence.create_content"


async def test_install_is_refused_until_the_integration_is_configured(
    service: Service, integration_events: IntegrationEvents, unique: str
) -> None:
    app_id = f"app-{unique}"
    before = await service.app_template(app_id, CREATE_CONTENT)
    assert (before["installable"], before["installed"]) == (False, False)
    status, body = await service.install(app_id, CREATE_CONTENT)
    assert status == 409, body
    assert body["code"] == "integration_not_configured"

    await integration_events.configured(app_id)
    assert (await service.app_template(app_id, CREATE_CONTENT))["installable"] is True
    status, body = await service.install(app_id, CREATE_CONTENT)
    assert status == 201, body


async def test_install_creates_the_dialog_task_and_announces_both(
    service: Service, integration_events: IntegrationEvents, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    await integration_events.configured(app_id)
    status, installation = await service.install(app_id, CREATE_CONTENT)
    assert status == 201, installation
    assert set(installation) == {
        "installation_id",
        "template_id",
        "template_version",
        "dialog_task_id",
        "installed_at",
    }
    assert installation["template_id"] == CREATE_CONTENT
    assert installation["installed_at"].endswith("Z")

    task = await service.task(app_id, installation["dialog_task_id"])
    assert task["name"] == "createContent"
    assert task["status"] == "active"
    assert task["source"] == {"template_id": CREATE_CONTENT, "template_version": "2.0.0"}
    names = [node["name"] for node in task["nodes"]]
    assert names == [
        "createContent",
        "contentType",
        "spaceKey",
        "contentTitle",
        "contentBody",
        "getResourceIdService",
        "getSpaceService",
        "prepareContentScript",
        "createContentService",
        "createContentMessage",
    ]
    services = [node for node in task["nodes"] if node["type"] == "service"]
    assert [node["auth"] for node in services] == [
        {"integration": "confluence", "authorization_type": "pre_authorize"}
    ] * 3
    ids = {node["id"] for node in task["nodes"]}
    assert all(t["from"] in ids and t["to"] in ids for t in task["transitions"])

    created = await tap.wait_for_type("dialog_task.created")
    installed = await tap.wait_for_type("template.installed")
    assert created[0]["source"] == "/template-service"
    assert created[0]["data"] == {
        "app_id": app_id,
        "dialog_task_id": task["dialog_task_id"],
        "name": "createContent",
        "template_id": CREATE_CONTENT,
        "definition": task,
    }
    assert installed[0]["data"] == {
        "app_id": app_id,
        "template_id": CREATE_CONTENT,
        "template_version": "2.0.0",
        "installation_id": installation["installation_id"],
        "dialog_task_id": installation["dialog_task_id"],
    }

    view = await service.app_template(app_id, CREATE_CONTENT)
    assert view["installed"] is True
    assert view["installation_id"] == installation["installation_id"]
    assert view["dialog_task_id"] == installation["dialog_task_id"]


async def test_installing_the_same_template_again_answers_200_with_the_same_installation(
    service: Service, integration_events: IntegrationEvents, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    await integration_events.configured(app_id)
    status, first = await service.install(app_id, CREATE_CONTENT)
    assert status == 201, first
    status, again = await service.install(app_id, CREATE_CONTENT)
    assert (status, again) == (200, first)

    status, tasks = await service.call("GET", f"/v1/apps/{app_id}/dialog-tasks")
    assert status == 200
    assert [t["dialog_task_id"] for t in tasks["items"]] == [first["dialog_task_id"]]
    await tap.wait_for_type("template.installed")
    await asyncio.sleep(0.3)
    assert len(of_app(tap, app_id, "template.installed")) == 1


@pytest.mark.slow
async def test_twenty_concurrent_installs_make_one_dialog_task_and_one_event(
    service: Service, integration_events: IntegrationEvents, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    await integration_events.configured(app_id)
    results = await asyncio.gather(*(service.install(app_id, CREATE_CONTENT) for _ in range(20)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 19 + [201], results
    assert len({body["installation_id"] for _, body in results}) == 1

    status, tasks = await service.call("GET", f"/v1/apps/{app_id}/dialog-tasks")
    assert (status, len(tasks["items"])) == (200, 1)
    await tap.wait_for_type("template.installed")
    await asyncio.sleep(0.5)
    assert len(of_app(tap, app_id, "template.installed")) == 1
    assert len(of_app(tap, app_id, "dialog_task.created")) == 1


async def test_an_unknown_template_is_404_template_not_found(
    service: Service, integration_events: IntegrationEvents, unique: str
) -> None:
    app_id = f"app-{unique}"
    await integration_events.configured(app_id)
    for template_id in ("confluence.no_such_thing", "no-such-template"):
        status, body = await service.install(app_id, template_id)
        assert status == 404, body
        assert body["code"] == "template_not_found"


async def test_uninstall_deletes_the_dialog_task_and_installing_later_works_the_same(
    service: Service, integration_events: IntegrationEvents, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    await integration_events.configured(app_id)
    _, installation = await service.install(app_id, CREATE_CONTENT)
    path = f"/v1/apps/{app_id}/template-installations/{installation['installation_id']}"

    status, _ = await service.call("DELETE", path)
    assert status == 204
    status, body = await service.call(
        "GET", f"/v1/apps/{app_id}/dialog-tasks/{installation['dialog_task_id']}"
    )
    assert (status, body["code"]) == (404, "dialog_task_not_found")
    status, body = await service.call("DELETE", path)
    assert (status, body["code"]) == (404, "installation_not_found")

    uninstalled = await tap.wait_for_type("template.uninstalled")
    deleted = await tap.wait_for_type("dialog_task.deleted")
    assert uninstalled[0]["data"] == {
        "app_id": app_id,
        "template_id": CREATE_CONTENT,
        "installation_id": installation["installation_id"],
        "dialog_task_id": installation["dialog_task_id"],
    }
    assert deleted[0]["data"] == {
        "app_id": app_id,
        "dialog_task_id": installation["dialog_task_id"],
    }

    status, again = await service.install(app_id, CREATE_CONTENT)
    assert status == 201, again
    assert again["installation_id"] != installation["installation_id"]


async def test_lists_are_paged_with_items_and_next_cursor(
    service: Service, integration_events: IntegrationEvents, unique: str
) -> None:
    app_id = f"app-{unique}"
    await integration_events.configured(app_id)
    for template_id in ("confluence.create_content", "confluence.get_content"):
        status, _ = await service.install(app_id, template_id)
        assert status == 201

    for listing in ("template-installations", "dialog-tasks"):
        status, first = await service.call("GET", f"/v1/apps/{app_id}/{listing}?limit=1")
        assert status == 200, first
        assert len(first["items"]) == 1 and first["next_cursor"]
        status, second = await service.call(
            "GET", f"/v1/apps/{app_id}/{listing}?limit=1&cursor={first['next_cursor']}"
        )
        assert len(second["items"]) == 1 and second["next_cursor"] is None
        assert first["items"][0] != second["items"][0]

    status, body = await service.call("GET", f"/v1/apps/{app_id}/dialog-tasks?limit=0")
    assert (status, body["code"]) == (422, "validation_error")


async def test_templates_are_listed_filtered_and_read_one_by_one(service: Service) -> None:
    status, body = await service.call("GET", "/v1/templates?integration=confluence")
    assert status == 200, body
    ids = [item["template_id"] for item in body["items"]]
    assert "confluence.create_content" in ids and len(ids) == 7
    assert body["next_cursor"] is None
    status, none = await service.call("GET", "/v1/templates?integration=servicenow")
    assert (status, none) == (200, {"items": [], "next_cursor": None})

    status, template = await service.call("GET", "/v1/templates/confluence.create_content")
    assert status == 200, template
    assert template["name"] == "Create Content"
    assert {i["name"] for i in template["inputs"]} == {
        "contentType",
        "spaceKey",
        "contentTitle",
        "contentBody",
    }
    assert all(set(i) >= {"name", "type", "prompt", "required"} for i in template["inputs"])
    assert template["blueprint"]["name"] == "createContent"
    status, body = await service.call("GET", "/v1/templates/confluence.nothing")
    assert (status, body["code"]) == (404, "template_not_found")


async def test_a_token_for_another_app_is_forbidden(
    service: Service, token: Any, unique: str
) -> None:
    headers = {"Authorization": f"Bearer {token(app_ids=['someone-else'])}"}
    status, body = await service.call("GET", f"/v1/apps/app-{unique}/templates", headers=headers)
    assert (status, body["code"]) == (403, "forbidden")
