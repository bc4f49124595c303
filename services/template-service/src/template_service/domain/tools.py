"""Installed templates as tools for LLM agents (contract §3 "Tools"), pure.

One tool per installed, active dialog task, named `{integration}_{template}` in snake case
(`confluence_create_content`), described by its template, with a JSON Schema (2020-12) of its
inputs (`values` become `enum`, required inputs `required`). Three shapes: MCP's `Tool`
(with annotations derived from the calls: read-only when every call is a GET, destructive when
one updates or deletes, idempotent when none creates, open-world always, since the calls reach
a third party), OpenAI's function tool and Anthropic's tool.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from template_service.domain.dialog_task import DialogTask
from template_service.domain.nodes import ServiceNode
from template_service.domain.template import Template

ToolFormat = Literal["mcp", "openai", "anthropic"]
CHANGING = frozenset({"PUT", "PATCH", "DELETE"})
MAX_NAME = 64


def tool_name(template: Template) -> str:
    name = template.template_id.replace(".", "_")
    return re.sub(r"[^a-z0-9_]", "_", name.lower())[:MAX_NAME]


def input_schema(template: Template) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for item in template.inputs:
        prop: dict[str, Any] = {"type": item.type, "description": item.prompt}
        if item.values is not None:
            prop["enum"] = list(item.values)
        properties[item.name] = prop
    return {
        "type": "object",
        "properties": properties,
        "required": [item.name for item in template.inputs if item.required],
        "additionalProperties": False,
    }


def tool_annotations(template: Template) -> dict[str, bool]:
    methods = {node.method for node in template.blueprint.nodes if isinstance(node, ServiceNode)}
    return {
        "readOnlyHint": methods <= {"GET"},
        "destructiveHint": bool(methods & CHANGING),
        "idempotentHint": "POST" not in methods,
        "openWorldHint": True,
    }


def tool(template: Template, task: DialogTask, shape: ToolFormat) -> dict[str, Any]:
    name, schema = tool_name(template), input_schema(template)
    if shape == "openai":
        return {
            "type": "function",
            "function": {"name": name, "description": template.description, "parameters": schema},
        }
    if shape == "anthropic":
        return {"name": name, "description": template.description, "input_schema": schema}
    return {
        "name": name,
        "title": template.name,
        "description": template.description,
        "inputSchema": schema,
        "annotations": tool_annotations(template),
        "_meta": {"dialog_task_id": task.dialog_task_id, "integration": template.integration},
    }
