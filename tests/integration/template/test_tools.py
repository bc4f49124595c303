"""Installed dialog tasks as tools (contract §3 "Tools"), each format checked against the type
its vendor publishes: the MCP SDK's `Tool`, OpenAI's and Anthropic's SDK tool params."""

from __future__ import annotations

from typing import Any

import jsonschema
import mcp.types
import pytest
from anthropic.types import ToolParam
from openai.types.chat import ChatCompletionToolParam
from pydantic import TypeAdapter

from tests.integration.template.conftest import IntegrationEvents, Service

pytestmark = [pytest.mark.mongo, pytest.mark.broker]


async def tools(service: Service, app_id: str, shape: str) -> list[dict[str, Any]]:
    status, body = await service.call("GET", f"/v1/apps/{app_id}/tools?format={shape}")
    assert status == 200, body
    assert body["next_cursor"] is None
    return list(body["items"])


async def test_each_installed_active_task_is_one_tool_in_every_format(
    service: Service, integration_events: IntegrationEvents, unique: str
) -> None:
    app_id = f"app-{unique}"
    await integration_events.configured(app_id)
    assert await tools(service, app_id, "mcp") == []
    for template_id in (
        "confluence.create_content",
        "confluence.get_content",
        "confluence.update_content",
    ):
        status, body = await service.install(app_id, template_id)
        assert status == 201, body

    listed = await tools(service, app_id, "mcp")
    by_name = {tool["name"]: mcp.types.Tool.model_validate(tool) for tool in listed}
    assert list(by_name) == [
        "confluence_create_content",
        "confluence_get_content",
        "confluence_update_content",
    ]
    create = by_name["confluence_create_content"]
    assert create.title == "Create Content"
    assert create.input_schema["required"] == [
        "contentType",
        "spaceKey",
        "contentTitle",
        "contentBody",
    ]
    assert create.input_schema["properties"]["contentType"]["enum"] == ["page", "blogpost"]
    assert create.annotations is not None
    assert (create.annotations.read_only_hint, create.annotations.destructive_hint) == (
        False,
        False,
    )
    get = by_name["confluence_get_content"].annotations
    assert get is not None and get.read_only_hint is True
    update = by_name["confluence_update_content"].annotations
    assert update is not None and (update.destructive_hint, update.idempotent_hint) == (True, True)
    for tool in by_name.values():
        jsonschema.Draft202012Validator.check_schema(tool.input_schema)
        assert tool.annotations is not None and tool.annotations.open_world_hint is True

    for item in await tools(service, app_id, "openai"):
        TypeAdapter(ChatCompletionToolParam).validate_python(item)
        assert item["function"]["parameters"]["additionalProperties"] is False
    for item in await tools(service, app_id, "anthropic"):
        TypeAdapter(ToolParam).validate_python(item)
        jsonschema.Draft202012Validator.check_schema(item["input_schema"])

    await integration_events.disabled(app_id)
    assert await tools(service, app_id, "mcp") == []
    status, body = await service.call("GET", f"/v1/apps/{app_id}/tools?format=yaml")
    assert (status, body["code"]) == (422, "validation_error")
