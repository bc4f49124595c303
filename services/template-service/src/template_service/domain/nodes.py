"""Dialog task nodes: as a template's blueprint declares them and as an app's task holds them.

A blueprint node has a `name` (unique in its task) and a `type`. A task node is the same node
placed in one app's task: it gains an opaque `id`, an entity node gains the template input it
asks for, and a service node gains `auth`, its binding to the integration (never a credential):
`{"integration", "authorization_type"}` while the integration is usable, `null` otherwise.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from platform_core.contract_types import AuthorizationType, IntegrationName

NodeName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
InputType = Literal["string", "number"]
METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuthBinding(Frozen):
    """Which integration's connection a service node calls through, and how it is authorized."""

    integration: IntegrationName
    authorization_type: AuthorizationType


class IntentNode(Frozen):
    name: NodeName
    type: Literal["intent"]
    utterances: list[str] = Field(min_length=1, description="Sample user utterances")


class EntityNode(Frozen):
    """Collects one template input from the user; the template's `inputs` describe it."""

    name: NodeName
    type: Literal["entity"]


class ScriptNode(Frozen):
    """Runs `code` in the dialog runtime; it sets each of `outputs` in the context as `{"value"}`.

    Later nodes read an output as `{{context.OUTPUT.value}}`.
    """

    name: NodeName
    type: Literal["script"]
    language: Literal["javascript"]
    code: str = Field(min_length=1)
    outputs: list[NodeName] = Field(default_factory=list)


class ServiceNode(Frozen):
    """One HTTP call; `body` is null for methods that send none."""

    name: NodeName
    type: Literal["service"]
    method: HttpMethod
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any] | None = None


class MessageNode(Frozen):
    name: NodeName
    type: Literal["message"]
    text: str = Field(min_length=1)


BlueprintNode = Annotated[
    IntentNode | EntityNode | ScriptNode | ServiceNode | MessageNode,
    Field(discriminator="type"),
]


class Placed(Frozen):
    id: str = Field(description="Opaque, unique in the task")


# Placed comes last so that `id` is the first field of each task node.
class TaskIntentNode(IntentNode, Placed):
    pass


class TaskEntityNode(EntityNode, Placed):
    entity_type: InputType
    prompt: str
    required: bool
    values: list[str] | None = None


class TaskScriptNode(ScriptNode, Placed):
    pass


class TaskServiceNode(ServiceNode, Placed):
    auth: AuthBinding | None


class TaskMessageNode(MessageNode, Placed):
    pass


TaskNode = Annotated[
    TaskIntentNode | TaskEntityNode | TaskScriptNode | TaskServiceNode | TaskMessageNode,
    Field(discriminator="type"),
]


class Transition(Frozen):
    """An edge of the dialog: by node name in a blueprint, by node id in a task."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, serialize_by_alias=True
    )

    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
