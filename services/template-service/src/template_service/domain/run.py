"""A run: one dialog task executed once its entities are filled (contract §3 "Runs").

Pure rules, no I/O: which entities a task accepts (`check_entities`), the order its nodes run in
(`execution_order`: script and service nodes along the transitions from the intent, then the
message nodes), and the `Run` record itself, whose `finish` transition raises
`dialog_task.run_finished`. A run never holds an access token; provider bodies are kept only up
to a bounded size (`kept_body`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from platform_core.contract_types import ErrorInfo, Subject, UtcDateTime
from platform_core.domain import Transition
from platform_core.errors import ValidationFailed
from platform_core.events import DialogTaskRunFinished
from template_service.domain.dialog_task import DialogTask
from template_service.domain.nodes import (
    Frozen,
    TaskEntityNode,
    TaskLegacyScriptNode,
    TaskMessageNode,
    TaskNode,
    TaskScriptNode,
    TaskServiceNode,
)

RunStatus = Literal["running", "succeeded", "failed", "authorization_required"]
StepStatus = Literal["succeeded", "failed", "skipped"]
FINISHED: tuple[RunStatus, ...] = ("succeeded", "failed", "authorization_required")
Action = TaskScriptNode | TaskServiceNode | TaskLegacyScriptNode
MAX_KEPT_BODY_BYTES = 16 * 1024
MAX_ENTITY_TEXT = 32 * 1024


class Step(Frozen):
    node: str
    type: str
    status: StepStatus
    http_status: int | None = None
    attempts: int = 0
    duration_ms: int = 0
    error: ErrorInfo | None = None


class Output(Frozen):
    status: int
    body: Any = None


class AuthorizationLink(Frozen):
    link: str
    expires_at: UtcDateTime


class Run(Frozen):
    run_id: str
    dialog_task_id: str
    app_id: str
    subject: Subject
    idempotency_key: str | None = None
    status: RunStatus = "running"
    messages: list[str] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    outputs: dict[str, Output] = Field(default_factory=dict)
    authorization: AuthorizationLink | None = None
    started_at: UtcDateTime
    finished_at: UtcDateTime | None = None
    version: int = 1

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def finish(
        self,
        status: RunStatus,
        *,
        steps: list[Step],
        outputs: Mapping[str, Output],
        messages: list[str],
        authorization: AuthorizationLink | None,
        now: datetime,
    ) -> Transition[Run]:
        after = self.model_copy(
            update={
                "status": status,
                "steps": steps,
                "outputs": dict(outputs),
                "messages": messages,
                "authorization": authorization,
                "finished_at": now,
                "version": self.version + 1,
            }
        )
        event = DialogTaskRunFinished(
            app_id=self.app_id,
            dialog_task_id=self.dialog_task_id,
            run_id=self.run_id,
            status=status,
        )
        return Transition("finished", self, after, (event,))


def execution_order(task: DialogTask) -> tuple[list[Action], list[TaskMessageNode]]:
    """The script and service nodes in transition order from the intent, then the messages."""
    by_id = {node.id: node for node in task.nodes}
    following: dict[str, list[str]] = {}
    for edge in task.transitions:
        following.setdefault(edge.from_, []).append(edge.to)
    waiting = {node.id: 0 for node in task.nodes}
    for edge in task.transitions:
        waiting[edge.to] += 1
    ready = [node.id for node in task.nodes if waiting[node.id] == 0]
    ordered: list[TaskNode] = []
    while ready:
        current = ready.pop(0)
        ordered.append(by_id[current])
        for next_id in following.get(current, []):
            waiting[next_id] -= 1
            if waiting[next_id] == 0:
                ready.append(next_id)
    actions = [
        n for n in ordered if isinstance(n, TaskScriptNode | TaskServiceNode | TaskLegacyScriptNode)
    ]
    messages = [n for n in ordered if isinstance(n, TaskMessageNode)]
    return actions, messages


def check_entities(task: DialogTask, entities: Mapping[str, Any]) -> dict[str, Any]:
    """The entities a run of `task` gets, or 422 naming each missing, unknown or invalid one."""
    asked = {node.name: node for node in task.nodes if isinstance(node, TaskEntityNode)}
    problems = [
        _problem(name, "is not one of this task's entities", "unknown_entity")
        for name in entities
        if name not in asked
    ]
    accepted: dict[str, Any] = {}
    for name, node in asked.items():
        value = entities.get(name)
        if value is None:
            if node.required:
                problems.append(_problem(name, "is required", "missing"))
            continue
        problem = _value_problem(node, value)
        if problem is not None:
            problems.append(_problem(name, *problem))
        else:
            accepted[name] = value
    if problems:
        raise ValidationFailed(problems)
    return accepted


def _value_problem(node: TaskEntityNode, value: Any) -> tuple[str, str] | None:
    if node.entity_type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number", "number_type"
    elif not isinstance(value, str):
        return "must be a string", "string_type"
    elif not value.strip() and node.required:
        return "must not be empty", "missing"
    elif len(value) > MAX_ENTITY_TEXT:
        return f"must be at most {MAX_ENTITY_TEXT} characters", "string_too_long"
    if node.values is not None and value not in node.values:
        return f"must be one of {', '.join(node.values)}", "enum"
    return None


def _problem(name: str, message: str, kind: str) -> dict[str, str]:
    return {"field": f"entities.{name}", "location": "body", "message": message, "type": kind}


def kept_body(body: Any) -> Any:
    """A provider body as a run keeps it: whole when small, else a cut preview."""
    text = json.dumps(body, default=str, ensure_ascii=False)
    if len(text.encode()) <= MAX_KEPT_BODY_BYTES:
        return body
    return {"truncated": True, "preview": text[: MAX_KEPT_BODY_BYTES // 2]}
