"""Templates: what each one installs, validated once when the service starts.

A template is data (one JSON file under `template_service/templates/`) turned into a `Template`
here. Loading refuses a template whose blueprint is not a well-formed dialog: node names must be
unique, transitions must join existing nodes, every node must be reachable from the one intent,
every entity node must be one of the template's inputs, service calls must go to an allowed
root without carrying credentials, and each placeholder must name something an earlier node
provides (an entity, a service node's response, a script's output) or the bound connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from platform_core.contract_types import IntegrationName
from template_service.domain import placeholders
from template_service.domain.nodes import (
    METHODS_WITH_BODY,
    BlueprintNode,
    EntityNode,
    Frozen,
    InputType,
    IntentNode,
    MessageNode,
    NodeName,
    ScriptNode,
    ServiceNode,
    Transition,
)

TemplateId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")]
Version = Annotated[str, StringConstraints(pattern=r"^\d+\.\d+\.\d+$")]

CONNECTION_ROOT = "{{connection.api_base_url}}"
PROVIDER_ROOT = "{{provider.api_base_url}}"
URL_ROOTS = (CONNECTION_ROOT + "/", PROVIDER_ROOT + "/")
BOUND_VALUES = frozenset(
    {"connection.api_base_url", "connection.cloud_id", "provider.api_base_url"}
)
# A node is bound to an integration, never handed a credential: these headers are the runtime's.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
RESPONSE_PARTS = frozenset({"body", "status", "headers"})


class TemplateInput(Frozen):
    name: NodeName
    type: InputType
    prompt: str = Field(min_length=1)
    required: bool = True
    values: list[str] | None = Field(default=None, description="The allowed values, if limited")


class Blueprint(Frozen):
    """The dialog task a template installs: its name, nodes and transitions (by node name)."""

    name: NodeName
    nodes: list[BlueprintNode] = Field(min_length=2)
    transitions: list[Transition] = Field(min_length=1)

    @model_validator(mode="after")
    def _well_formed(self) -> Blueprint:
        problems = list(blueprint_problems(self))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def node(self, name: str) -> BlueprintNode:
        return next(node for node in self.nodes if node.name == name)

    def of_type(self, kind: str) -> list[BlueprintNode]:
        return [node for node in self.nodes if node.type == kind]


class Template(Frozen):
    template_id: TemplateId
    integration: IntegrationName
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(min_length=1)
    version: Version
    inputs: list[TemplateInput]
    blueprint: Blueprint

    @model_validator(mode="after")
    def _consistent(self) -> Template:
        if not self.template_id.startswith(f"{self.integration}."):
            raise ValueError(f"template_id must start with '{self.integration}.'")
        names = [item.name for item in self.inputs]
        if len(set(names)) != len(names):
            raise ValueError("input names must be unique")
        entities = [node.name for node in self.blueprint.of_type("entity")]
        if sorted(names) != sorted(entities):
            raise ValueError(f"inputs {sorted(names)} must be the entity nodes {sorted(entities)}")
        return self

    def input(self, name: str) -> TemplateInput:
        return next(item for item in self.inputs if item.name == name)


class TemplateCatalog:
    """Every template the service offers, by id."""

    def __init__(self, templates: Iterable[Template]) -> None:
        self._templates: dict[str, Template] = {}
        for template in templates:
            if template.template_id in self._templates:
                raise ValueError(f"template {template.template_id!r} is defined twice")
            self._templates[template.template_id] = template

    def get(self, template_id: str) -> Template | None:
        return self._templates.get(template_id)

    def all(self, integration: str | None = None) -> list[Template]:
        chosen = (t for t in self._templates.values() if integration in (None, t.integration))
        return sorted(chosen, key=lambda t: t.template_id)


# --- blueprint rules ---------------------------------------------------------------------------


def blueprint_problems(blueprint: Blueprint) -> Iterator[str]:
    names = [node.name for node in blueprint.nodes]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        yield f"node names must be unique: {duplicates}"
        return
    known = set(names)
    edges = [(t.from_, t.to) for t in blueprint.transitions]
    for start, end in edges:
        if start not in known or end not in known:
            yield f"transition {start} -> {end} joins a node that does not exist"
        elif start == end:
            yield f"transition {start} -> {end} loops on itself"
    if len(set(edges)) != len(edges):
        yield "transitions must not repeat"
    intents = [node.name for node in blueprint.nodes if isinstance(node, IntentNode)]
    if len(intents) != 1:
        yield f"a blueprint has exactly one intent node, not {len(intents)}"
        return
    if any(end == intents[0] for _, end in edges):
        yield f"the intent {intents[0]} must be where the dialog starts"
    parents = _parents(edges)
    ancestry = {name: _ancestors(name, parents) for name in names}
    unreachable = sorted(n for n in names if n != intents[0] and intents[0] not in ancestry[n])
    if unreachable:
        yield f"nodes not reachable from the intent: {unreachable}"
    by_name = {node.name: node for node in blueprint.nodes}
    for node in blueprint.nodes:
        earlier = [by_name[name] for name in ancestry[node.name] if name in by_name]
        yield from _node_problems(node, earlier)


def _parents(edges: Sequence[tuple[str, str]]) -> dict[str, set[str]]:
    parents: dict[str, set[str]] = {}
    for start, end in edges:
        parents.setdefault(end, set()).add(start)
    return parents


def _ancestors(name: str, parents: Mapping[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        for parent in parents.get(todo.pop(), set()):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    seen.discard(name)
    return seen


def _node_problems(node: BlueprintNode, earlier: Sequence[BlueprintNode]) -> Iterator[str]:
    if isinstance(node, ServiceNode):
        yield from _service_problems(node)
        values: list[object] = [node.url, node.headers, node.body]
    elif isinstance(node, MessageNode):
        values = [node.text]
    else:
        return
    for path in placeholders.find(values):
        problem = _placeholder_problem(path, earlier)
        if problem:
            yield f"{node.name}: {{{{{path}}}}} {problem}"


def _service_problems(node: ServiceNode) -> Iterator[str]:
    if not node.url.startswith(URL_ROOTS):
        yield f"{node.name}: the url must start with {CONNECTION_ROOT}/ or {PROVIDER_ROOT}/"
    if node.url.startswith(PROVIDER_ROOT) and "{{connection." in node.url:
        yield f"{node.name}: a provider-level call cannot address the connection's site"
    credentials = sorted(h for h in node.headers if h.lower() in CREDENTIAL_HEADERS)
    if credentials:
        yield f"{node.name}: headers {credentials} are set by the runtime from the binding"
    if (node.body is not None) != (node.method in METHODS_WITH_BODY):
        yield f"{node.name}: a {node.method} call {'needs' if node.body is None else 'has no'} body"


def _placeholder_problem(path: str, earlier: Sequence[BlueprintNode]) -> str | None:
    if not placeholders.is_well_formed(path):
        return "is not a dotted path"
    if path in BOUND_VALUES:
        return None
    parts = path.split(".")
    if parts[0] != "context" or len(parts) < 3:
        return "names nothing a dialog provides"
    head, rest = parts[1], parts[2:]
    if head == "entities":
        entities = {n.name for n in earlier if isinstance(n, EntityNode)}
        return None if len(rest) == 1 and rest[0] in entities else "names no earlier entity"
    services = {n.name for n in earlier if isinstance(n, ServiceNode)}
    if head in services:
        if rest[0] != "response" or len(rest) < 2 or rest[1] not in RESPONSE_PARTS:
            return "must read response.body, response.status or response.headers"
        return None
    outputs = {out for n in earlier if isinstance(n, ScriptNode) for out in n.outputs}
    if head in outputs:
        return None if rest[0] == "value" else "must read a script output's value"
    return "names no earlier service node or script output"
