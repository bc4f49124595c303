"""Templates: what each one installs and which scopes its calls need, validated on loading.

A template is data (one JSON file in its integration's `templates/` folder) turned into a
`Template` here. Loading refuses a template whose blueprint is not a well-formed dialog: node
names must be unique, transitions must join existing nodes, every node must be reachable from
the one intent, every entity node must be one of the template's inputs, a service url must be
a root placeholder followed by a path (its parameters in `query`) and carry no credentials,
script outputs must not clash with node names, and each placeholder or expression must read
something an earlier node provides (an entity, a service node's response, a script's output)
or, for placeholders, the bound connection. An optional input may appear only where leaving it
out leaves out its place: as a query value or body value that is that placeholder alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator

from platform_core.contract_types import IntegrationName
from template_service.domain import expressions, placeholders
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
ScopeName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9:._/-]{1,100}$")]

CONNECTION_ROOT = "{{connection.api_base_url}}"
PROVIDER_ROOT = "{{provider.api_base_url}}"
URL_ROOTS = (CONNECTION_ROOT + "/", PROVIDER_ROOT + "/")
# What the runtime binds besides the run context: the access-token call's `resource`
# (`api_base_url`, `cloud_id`, `site_url`: Jira's /browse/KEY links) and the provider's root.
BOUND_VALUES = frozenset(
    {
        "connection.api_base_url",
        "connection.cloud_id",
        "connection.site_url",
        "provider.api_base_url",
    }
)
ROOT_PATHS = frozenset(placeholders.URL_ROOTS)
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
    required_scopes: list[ScopeName] = Field(
        min_length=1, description="The OAuth scopes its service calls need"
    )
    inputs: list[TemplateInput]
    blueprint: Blueprint

    @field_validator("required_scopes")
    @classmethod
    def _unique_scopes(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("required_scopes must not repeat")
        return value

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
        optional = {item.name for item in self.inputs if not item.required}
        problems = list(_optional_input_problems(self.blueprint, optional))
        if problems:
            raise ValueError("; ".join(problems))
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
    yield from _output_problems(blueprint)
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


def _output_problems(blueprint: Blueprint) -> Iterator[str]:
    # Outputs live beside entities and service results in the run context: a clash would
    # overwrite one with the other.
    outputs = [out for node in blueprint.nodes if isinstance(node, ScriptNode) for out in node.set]
    repeated = sorted({out for out in outputs if outputs.count(out) > 1})
    if repeated:
        yield f"script outputs must be unique: {repeated}"
    clashing = sorted(set(outputs) & ({node.name for node in blueprint.nodes} | {"entities"}))
    if clashing:
        yield f"script outputs must not be named like a node or 'entities': {clashing}"


def _node_problems(node: BlueprintNode, earlier: Sequence[BlueprintNode]) -> Iterator[str]:
    if isinstance(node, ScriptNode):
        yield from _script_problems(node, earlier)
        return
    if isinstance(node, ServiceNode):
        yield from _service_problems(node)
        values: list[object] = [node.url, node.query, node.headers, node.body]
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
    if "?" in node.url or "#" in node.url:
        yield f"{node.name}: the url is a path only: its parameters belong in query"
    path = node.url.split("}}", 1)[-1]
    if "//" in path:
        yield f"{node.name}: the url path must not have an empty segment"
    roots = sorted(ROOT_PATHS.intersection(placeholders.find(path)))
    if roots:
        yield f"{node.name}: {roots} may only begin the url"
    credentials = sorted(h for h in node.headers if h.lower() in CREDENTIAL_HEADERS)
    if credentials:
        yield f"{node.name}: headers {credentials} are set by the runtime from the binding"
    if (node.body is not None) != (node.method in METHODS_WITH_BODY):
        yield f"{node.name}: a {node.method} call {'needs' if node.body is None else 'has no'} body"


def _script_problems(node: ScriptNode, earlier: Sequence[BlueprintNode]) -> Iterator[str]:
    for output, source in node.set.items():
        for chain in expressions.compile_expression(source).paths:
            name = chain[0]
            if name == expressions.CONTEXT:
                path = ".".join(chain)
                problem = _placeholder_problem(path, earlier, in_expression=True)
            elif name in expressions.GLOBALS:
                problem = None if len(chain) == 1 else "reads an attribute of a helper"
                path = ".".join(chain)
            else:
                path, problem = name, "names nothing an expression can read (only context)"
            if problem:
                yield f"{node.name}.{output}: {path} {problem}"


def _placeholder_problem(
    path: str, earlier: Sequence[BlueprintNode], *, in_expression: bool = False
) -> str | None:
    """Why `path` reads nothing an earlier node provides, or None. A placeholder names a value;
    an expression may go on past it (`context.entities.key.upper`)."""
    if not placeholders.is_well_formed(path):
        return "is not a dotted path"
    if path in BOUND_VALUES and not in_expression:
        return None
    parts = path.split(".")
    if parts[0] != "context" or len(parts) < 2:
        return "names nothing a dialog provides"
    head, rest = parts[1], parts[2:]
    if head == "entities":
        entities = {n.name for n in earlier if isinstance(n, EntityNode)}
        exact = len(rest) == 1 or (in_expression and len(rest) > 1)
        return None if exact and rest[0] in entities else "names no earlier entity"
    services = {n.name for n in earlier if isinstance(n, ServiceNode)}
    if head in services:
        if rest[:1] != ["response"] or len(rest) < 2 or rest[1] not in RESPONSE_PARTS:
            return "must read response.body, response.status or response.headers"
        return None
    outputs = {out for n in earlier if isinstance(n, ScriptNode) for out in n.set}
    if head in outputs:
        return None if rest[:1] == ["value"] else "must read a script output's value"
    return "names no earlier service node or script output"


def _optional_input_problems(blueprint: Blueprint, optional: set[str]) -> Iterator[str]:
    # A run leaves an optional input out of context.entities: only a lone query or body value
    # can then be left out with it; anywhere else the call or the message would break.
    for node in blueprint.nodes:
        if isinstance(node, ServiceNode):
            anywhere = placeholders.find([node.url, node.query, node.headers, node.body])
            omissible = placeholders.find_lone([node.query, node.body])
        elif isinstance(node, MessageNode):
            anywhere, omissible = placeholders.find(node.text), iter(())
        else:
            continue
        misplaced = _optional(anywhere, optional) - _optional(omissible, optional)
        for path in sorted(misplaced):
            yield (
                f"{node.name}: {{{{{path}}}}} names an optional input: it may only be a query "
                "or body value that is that placeholder alone"
            )


def _optional(paths: Iterable[str], optional: set[str]) -> Counter[str]:
    return Counter(
        path for path in paths if placeholders.is_entity(path) and path.split(".")[2] in optional
    )
