"""Each Confluence service node is a valid Confluence Cloud v1 REST call.

The facts below are copied from Atlassian's official OpenAPI document of the Confluence Cloud
REST API v1 (paths under `/wiki/rest/api`, with their method, query parameters, the body's
required fields and the enums used) and, for accessible-resources, from Atlassian's OAuth 2.0
(3LO) documentation. The test does not read the document itself: the facts are pinned here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest

from template_service.adapters.template_files import load_catalog
from template_service.domain import placeholders
from template_service.domain.nodes import ScriptNode, ServiceNode
from template_service.domain.template import CONNECTION_ROOT, PROVIDER_ROOT, Template

STORAGE_REPRESENTATIONS = (
    "view",
    "export_view",
    "styled_view",
    "storage",
    "editor",
    "editor2",
    "anonymous_export_view",
    "wiki",
    "atlas_doc_format",
)


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    root: str
    path: str
    query: tuple[str, ...] = ()
    required_query: tuple[str, ...] = ()
    body_properties: tuple[str, ...] | None = None
    required_body: dict[str, tuple[str, ...]] = field(default_factory=dict)
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)


OPERATIONS = {
    op.operation_id: op
    for op in (
        Operation(
            "accessibleResources",
            "GET",
            PROVIDER_ROOT,
            "/oauth/token/accessible-resources",
        ),
        Operation(
            "createContent",
            "POST",
            CONNECTION_ROOT,
            "/wiki/rest/api/content",
            query=("status", "expand"),
            body_properties=(
                "id",
                "title",
                "type",
                "space",
                "status",
                "container",
                "ancestors",
                "body",
            ),
            required_body={
                "": ("type",),
                "space": ("key",),
                "container": ("id", "type"),
                "body.storage": ("value", "representation"),
            },
            enums={
                "status": ("current", "deleted", "historical", "draft"),
                "body.storage.representation": (*STORAGE_REPRESENTATIONS, "plain", "raw"),
            },
        ),
        Operation(
            "getContentById",
            "GET",
            CONNECTION_ROOT,
            "/wiki/rest/api/content/{id}",
            query=("status", "version", "embeddedContentRender", "expand", "trigger"),
        ),
        Operation(
            "updateContent",
            "PUT",
            CONNECTION_ROOT,
            "/wiki/rest/api/content/{id}",
            query=("status", "conflictPolicy"),
            body_properties=("version", "title", "type", "status", "ancestors", "body"),
            required_body={
                "": ("title", "type", "version"),
                "version": ("number",),
                "body.storage": ("value", "representation"),
            },
            enums={
                "status": ("current", "trashed", "deleted", "historical", "draft"),
                "body.storage.representation": STORAGE_REPRESENTATIONS,
            },
        ),
        Operation(
            "searchContentByCQL",
            "GET",
            CONNECTION_ROOT,
            "/wiki/rest/api/content/search",
            query=("cql", "cqlcontext", "expand", "cursor", "limit"),
            required_query=("cql",),
        ),
        Operation(
            "getSpaces",
            "GET",
            CONNECTION_ROOT,
            "/wiki/rest/api/space",
            query=(
                "spaceKey",
                "spaceId",
                "type",
                "status",
                "label",
                "favourite",
                "favouriteUserKey",
                "expand",
                "start",
                "limit",
            ),
            enums={"query.status": ("current", "archived"), "query.type": ("global", "personal")},
        ),
    )
}

TARGETS = {
    "confluence.create_content": {
        "getResourceIdService": "accessibleResources",
        "createContentService": "createContent",
    },
    "confluence.get_content": {"getContentService": "getContentById"},
    "confluence.update_content": {
        "getCurrentContentService": "getContentById",
        "updateContentService": "updateContent",
    },
    "confluence.search_content": {"searchContentService": "searchContentByCQL"},
    "confluence.list_spaces": {"listSpacesService": "getSpaces"},
    "confluence.add_comment": {"addCommentService": "createContent"},
    "confluence.create_blog_post": {"createBlogPostService": "createContent"},
}

CATALOG = load_catalog()


def service_nodes(template: Template) -> dict[str, ServiceNode]:
    return {n.name: n for n in template.blueprint.nodes if isinstance(n, ServiceNode)}


def split_url(node: ServiceNode) -> tuple[str, str, list[tuple[str, str]]]:
    """(root, path with each one-placeholder segment as `{id}`, query pairs)."""
    root = CONNECTION_ROOT if node.url.startswith(CONNECTION_ROOT) else PROVIDER_ROOT
    rest = node.url.removeprefix(root)
    path, _, query = rest.partition("?")
    segments = [
        "{id}" if placeholders.PLACEHOLDER.fullmatch(segment) else segment
        for segment in path.split("/")
    ]
    return root, "/".join(segments), parse_qsl(query, keep_blank_values=True)


def at(body: dict[str, Any], dotted: str) -> Any:
    value: Any = body
    for part in filter(None, dotted.split(".")):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def test_every_template_has_its_service_nodes_mapped_to_an_operation() -> None:
    assert {t.template_id for t in CATALOG.all("confluence")} == set(TARGETS)
    for template in CATALOG.all("confluence"):
        assert set(service_nodes(template)) == set(TARGETS[template.template_id])


@pytest.mark.parametrize(
    ("template_id", "node_name", "operation_id"),
    [(t, n, o) for t, nodes in TARGETS.items() for n, o in nodes.items()],
)
def test_each_service_node_conforms_to_the_official_operation_it_targets(
    template_id: str, node_name: str, operation_id: str
) -> None:
    template = CATALOG.get(template_id)
    assert template is not None
    node = service_nodes(template)[node_name]
    operation = OPERATIONS[operation_id]

    root, path, query = split_url(node)
    assert (node.method, root, path) == (operation.method, operation.root, operation.path)
    names = [name for name, _ in query]
    assert set(names) <= set(operation.query), f"unknown query parameters {names}"
    assert set(operation.required_query) <= set(names)
    for name, value in query:
        allowed = operation.enums.get(f"query.{name}")
        assert allowed is None or value in allowed

    if operation.body_properties is None:
        assert node.body is None
        return
    assert node.body is not None
    assert node.headers.get("Content-Type") == "application/json"
    assert set(node.body) <= set(operation.body_properties)
    for where, required in operation.required_body.items():
        part = at(node.body, where)
        if part is not None:
            assert set(required) <= set(part), f"{where or 'body'} lacks {required}"
    assert set(operation.required_body[""]) <= set(node.body)
    for where, allowed in operation.enums.items():
        value = at(node.body, where)
        assert value is None or value in allowed, f"{where}={value!r}"


def test_create_content_posts_the_reference_products_body() -> None:
    template = CATALOG.get("confluence.create_content")
    assert template is not None
    body = service_nodes(template)["createContentService"].body
    assert body == {
        "title": "{{context.entities.contentTitle}}",
        "type": "{{context.entities.contentType}}",
        "space": {"key": "{{context.entities.spaceKey}}"},
        "status": "current",
        "body": {
            "storage": {"value": "{{context.entities.contentBody}}", "representation": "storage"}
        },
    }
    assert template.input("contentType").values == ["page", "blogpost"]


def test_a_comment_names_its_page_as_container_as_the_operation_requires_for_comments() -> None:
    template = CATALOG.get("confluence.add_comment")
    assert template is not None
    body = service_nodes(template)["addCommentService"].body
    assert body is not None
    assert body["type"] == "comment"
    assert body["container"] == {"id": "{{context.entities.pageId}}", "type": "page"}


def test_a_blog_post_is_created_as_type_blogpost_in_a_space() -> None:
    template = CATALOG.get("confluence.create_blog_post")
    assert template is not None
    body = service_nodes(template)["createBlogPostService"].body
    assert body is not None
    assert (body["type"], body["space"]) == ("blogpost", {"key": "{{context.entities.spaceKey}}"})


def test_update_content_sends_the_current_version_plus_one_as_a_number() -> None:
    template = CATALOG.get("confluence.update_content")
    assert template is not None
    order = [node.name for node in template.blueprint.nodes]
    assert order.index("getCurrentContentService") < order.index("nextVersionScript")
    assert order.index("nextVersionScript") < order.index("updateContentService")
    script = template.blueprint.node("nextVersionScript")
    assert isinstance(script, ScriptNode)
    assert script.outputs == ["nextVersion"]
    assert "getCurrentContentService.response.body.version.number + 1" in script.code

    body = service_nodes(template)["updateContentService"].body
    assert body is not None
    assert body["version"] == {"number": "{{context.nextVersion.value}}"}
    # What the runtime sends once the script has run on a page at version 7:
    context = {
        "entities": {"contentId": "123", "contentTitle": "T", "contentBody": "<p>B</p>"},
        "getCurrentContentService": {"response": {"body": {"type": "page"}}},
        "nextVersion": {"value": 8},
    }
    sent = placeholders.render(body, {"context": context})
    assert sent["version"] == {"number": 8}
    assert sent["type"] == "page"
    assert sent["body"]["storage"] == {"value": "<p>B</p>", "representation": "storage"}


def test_no_service_node_carries_a_credential() -> None:
    for template in CATALOG.all():
        for node in service_nodes(template).values():
            assert not {h.lower() for h in node.headers} & {"authorization", "cookie"}
            assert "token" not in str(node.body).lower()
