"""Dialog task nodes: as a template's blueprint declares them and as an app's task holds them.

A blueprint node has a `name` (unique in its task) and a `type`. A task node is the same node
placed in one app's task: it gains an opaque `id`, an entity node gains the template input it
asks for, and a service node gains `auth`, its binding to the integration (never a credential):
`{"integration", "authorization_type"}` while the integration is usable, `null` otherwise.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    field_validator,
)

from platform_core.contract_types import AuthorizationType, IntegrationName
from template_service.domain import expressions

NodeName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")]
QueryName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-\[\]]{1,64}$")]
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
    """Sets context values from expressions (`domain/expressions.py`): no code runs.

    `set` maps each output to a sandboxed Jinja2 expression over the run context, e.g.
    `{"nextVersion": "context.getPage.response.body.version.number + 1"}`; the runtime stores
    each result as `{"value": result}`, so later nodes read it as `{{context.nextVersion.value}}`.
    Every expression is compiled here, when the template loads: one that does not compile
    refuses the template.
    """

    name: NodeName
    type: Literal["script"]
    set: dict[NodeName, str] = Field(min_length=1, description="Output name -> expression")

    @field_validator("set")
    @classmethod
    def _compiles(cls, value: dict[str, str]) -> dict[str, str]:
        problems = []
        for output, source in value.items():
            try:
                expressions.compile_expression(source)
            except expressions.ExpressionError as exc:
                problems.append(f"{output}: {exc}")
        if problems:
            raise ValueError("; ".join(problems))
        return value


class ServiceNode(Frozen):
    """One HTTP call: `url` is a root placeholder and a path, `query` its parameters (name ->
    text that may hold placeholders), `body` null for methods that send none."""

    name: NodeName
    type: Literal["service"]
    method: HttpMethod
    url: str = Field(min_length=1)
    query: dict[QueryName, str] = Field(default_factory=dict)
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


class TaskLegacyScriptNode(Placed):
    """A script node of a task installed from a template of the first format (JavaScript, which
    the platform never runs): kept as stored, and refused by a run, until the task is upgraded
    by installing its template again."""

    name: NodeName
    type: Literal["script"]
    language: Literal["javascript"]
    code: str
    outputs: list[NodeName] = Field(default_factory=list)


def _task_node_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    legacy = "code" in value if isinstance(value, dict) else isinstance(value, TaskLegacyScriptNode)
    return "legacy_script" if kind == "script" and legacy else str(kind)


TaskNode = Annotated[
    Annotated[TaskIntentNode, Tag("intent")]
    | Annotated[TaskEntityNode, Tag("entity")]
    | Annotated[TaskScriptNode, Tag("script")]
    | Annotated[TaskServiceNode, Tag("service")]
    | Annotated[TaskMessageNode, Tag("message")]
    | Annotated[TaskLegacyScriptNode, Tag("legacy_script")],
    Discriminator(_task_node_kind),
]


class Transition(Frozen):
    """An edge of the dialog: by node name in a blueprint, by node id in a task."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, serialize_by_alias=True
    )

    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
