"""One app's dialog task, built from a template's blueprint, and its binding to the integration.

Pure: `build_dialog_task` places the blueprint's nodes into a task (each gets an id derived from
the task id and its name, so a rebuild gives the same ids; entity nodes get their input's
details; transitions refer to node ids); `with_binding` binds every service node to the
integration (status `active`) or unbinds them (`auth: null`, status `integration_disabled`), and
`DialogTask.rebind` is that change as a transition raising `dialog_task.updated`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from platform_core.contract_types import UtcDateTime
from platform_core.domain import Transition as _Transition
from platform_core.events import DialogTaskUpdated
from template_service.domain.nodes import (
    AuthBinding,
    BlueprintNode,
    EntityNode,
    Frozen,
    IntentNode,
    MessageNode,
    ScriptNode,
    ServiceNode,
    TaskEntityNode,
    TaskIntentNode,
    TaskMessageNode,
    TaskNode,
    TaskScriptNode,
    TaskServiceNode,
    Transition,
)
from template_service.domain.template import Template

TaskStatus = Literal["active", "integration_disabled"]
NODE_ID_NAMESPACE = uuid.UUID("5b0c1f6e-6c1d-4f4e-9a55-7d1c0e0b7a31")


class TaskSource(Frozen):
    template_id: str
    template_version: str


class DialogTask(Frozen):
    dialog_task_id: str
    app_id: str
    name: str
    source: TaskSource
    status: TaskStatus
    nodes: list[TaskNode]
    transitions: list[Transition]
    created_at: UtcDateTime
    integration: str = Field(exclude=True)

    def definition(self) -> dict[str, Any]:
        """The task as the API shows it (and as `dialog_task.created` carries it)."""
        return self.model_dump(mode="json")

    def rebind(self, binding: AuthBinding | None) -> _Transition[DialogTask]:
        """The task bound to its integration as it now stands; announced when that changes."""
        after = with_binding(self, binding)
        if after == self:
            return _Transition.unchanged("binding_unchanged", self)
        return _Transition("rebound", self, after, (self.updated(after),))

    def updated(self, after: DialogTask) -> DialogTaskUpdated:
        return DialogTaskUpdated(
            app_id=self.app_id, dialog_task_id=self.dialog_task_id, status=after.status
        )


def build_dialog_task(
    template: Template,
    *,
    app_id: str,
    dialog_task_id: str,
    binding: AuthBinding | None,
    now: datetime,
) -> DialogTask:
    ids = {node.name: node_id(dialog_task_id, node.name) for node in template.blueprint.nodes}
    task = DialogTask(
        dialog_task_id=dialog_task_id,
        app_id=app_id,
        name=template.blueprint.name,
        source=TaskSource(template_id=template.template_id, template_version=template.version),
        status="integration_disabled",
        nodes=[_place(node, ids[node.name], template) for node in template.blueprint.nodes],
        transitions=[
            Transition(from_=ids[t.from_], to=ids[t.to]) for t in template.blueprint.transitions
        ],
        created_at=now,
        integration=template.integration,
    )
    return with_binding(task, binding)


def with_binding(task: DialogTask, binding: AuthBinding | None) -> DialogTask:
    """Bind every service node to `binding`, or unbind them all when it is None."""
    nodes = [
        node.model_copy(update={"auth": binding}) if isinstance(node, TaskServiceNode) else node
        for node in task.nodes
    ]
    status: TaskStatus = "active" if binding is not None else "integration_disabled"
    return task.model_copy(update={"nodes": nodes, "status": status})


def node_id(dialog_task_id: str, name: str) -> str:
    return str(uuid.uuid5(NODE_ID_NAMESPACE, f"{dialog_task_id}/{name}"))


def _place(node: BlueprintNode, node_id: str, template: Template) -> TaskNode:
    fields = {**node.model_dump(), "id": node_id}
    if isinstance(node, IntentNode):
        return TaskIntentNode(**fields)
    if isinstance(node, EntityNode):
        asked = template.input(node.name)
        return TaskEntityNode(
            **fields,
            entity_type=asked.type,
            prompt=asked.prompt,
            required=asked.required,
            values=asked.values,
        )
    if isinstance(node, ScriptNode):
        return TaskScriptNode(**fields)
    if isinstance(node, ServiceNode):
        return TaskServiceNode(**fields, auth=None)
    if isinstance(node, MessageNode):
        return TaskMessageNode(**fields)
    raise TypeError(f"unknown node type {node!r}")
