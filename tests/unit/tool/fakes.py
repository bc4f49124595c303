"""Fakes of tool-service's ports and the few values its unit tests share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from platform_core.contract_types import Subject
from tool_service.domain.access import McpCaller
from tool_service.domain.runs import RunRefusal, RunReport
from tool_service.domain.tools import ToolDefinition
from tool_service.service_layer.ports import TemplateServiceUnavailable

SECRET = "s" * 40
APP = "app-1"


def listed(name: str = "confluence_create_content", task: str = "dt_1") -> dict[str, Any]:
    """A tool as template-service lists it with format=mcp."""
    return {
        "name": name,
        "title": "Create Content",
        "description": "Create a page or a blog post",
        "inputSchema": {
            "type": "object",
            "properties": {"spaceKey": {"type": "string", "description": "Space"}},
            "required": ["spaceKey"],
            "additionalProperties": False,
        },
        "annotations": {
            "readOnlyHint": False,
            "destructiveHint": False,
            "idempotentHint": False,
            "openWorldHint": True,
        },
        "_meta": {"dialog_task_id": task, "integration": "confluence"},
    }


def tool(name: str = "confluence_create_content", task: str = "dt_1") -> ToolDefinition:
    return ToolDefinition.from_listing(listed(name, task))


def caller(user_id: str | None = None, app_id: str = APP) -> McpCaller:
    return McpCaller(
        subject="agent-runtime", app_id=app_id, user_id=user_id, scopes=frozenset({"actions:run"})
    )


def run_body(status: str = "succeeded", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "run_id": "run_1",
        "dialog_task_id": "dt_1",
        "app_id": APP,
        "status": status,
        "messages": ['Created "Q3 plan": https://acme.atlassian.net/wiki/spaces/ENG/pages/1']
        if status == "succeeded"
        else [],
        "steps": [],
        "outputs": {},
        "authorization": None,
        "started_at": "2026-11-29T10:00:00Z",
        "finished_at": "2026-11-29T10:00:01Z",
    }
    if status == "authorization_required":
        body["authorization"] = {
            "link": "https://auth.example/connect/abc",
            "expires_at": "2026-11-29T11:00:00Z",
        }
        body["messages"] = [
            "Connect your Confluence account to continue: https://auth.example/connect/abc"
        ]
    return {**body, **extra}


def report(status: str = "succeeded", **extra: Any) -> RunReport:
    return RunReport.of(run_body(status, **extra))


class FakeTemplateService:
    """template-service: a tool list per app and a queue of run answers."""

    def __init__(self) -> None:
        self.apps: dict[str, list[ToolDefinition]] = {}
        self.answers: list[RunReport | RunRefusal | Exception] = []
        self.runs: list[dict[str, Any]] = []
        self.listings: list[str] = []
        self.down = False

    async def tools(self, app_id: str) -> list[ToolDefinition]:
        self.listings.append(app_id)
        if self.down:
            raise TemplateServiceUnavailable("tools answered 503")
        return list(self.apps.get(app_id, []))

    async def start_run(
        self,
        app_id: str,
        dialog_task_id: str,
        entities: Mapping[str, Any],
        subject: Subject,
        idempotency_key: str,
    ) -> RunReport | RunRefusal:
        self.runs.append(
            {
                "app_id": app_id,
                "dialog_task_id": dialog_task_id,
                "entities": dict(entities),
                "subject": subject.model_dump(),
                "idempotency_key": idempotency_key,
            }
        )
        answer = self.answers.pop(0) if self.answers else report()
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def reachable(self) -> bool:
        return not self.down


class FakeAnnouncer:
    def __init__(self) -> None:
        self.changed: list[str] = []

    async def tools_changed(self, app_id: str) -> None:
        self.changed.append(app_id)
