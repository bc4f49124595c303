"""Each service call of each template is a valid call of the official operation it targets.

The table below is derived from Atlassian's official OpenAPI documents of the Confluence Cloud
REST API v2 (`/wiki/api/v2/...`) and v1 (only `/wiki/rest/api/search`, CQL search: v1's content
and space endpoints answer 410 Gone to OAuth apps), from Atlassian's Jira Cloud platform REST
API v3 reference, and, for accessible-resources, from Atlassian's OAuth 2.0 (3LO) guide: per
operation its method, path, query parameters (allowed, required, enums), body fields (types,
required, enums) and the OAuth scopes its `security` lists. The test never reads the documents:
the facts are pinned here.

Each template is then run the way the runtime runs it, with the pure renderers and the
expression sandbox, against responses shaped like the documents' own, and every call it makes
is checked against its operation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from integration_manifests import load_integrations
from template_service.adapters.template_files import load_catalog
from template_service.domain import expressions, placeholders
from template_service.domain.nodes import MessageNode, ScriptNode, ServiceNode
from template_service.domain.template import CONNECTION_ROOT, PROVIDER_ROOT, Template

INTEGRATIONS = load_integrations({})
CATALOG = load_catalog(INTEGRATIONS)

SITE = "https://acme.atlassian.net"
PROVIDER = "https://api.atlassian.com"
API_ROOTS = {
    "confluence": f"{PROVIDER}/ex/confluence/cloud-1",
    "jira": f"{PROVIDER}/ex/jira/cloud-1",
}

# Confluence v2 write representations (PageBodyWrite, BlogPostBodyWrite, CommentBodyWrite).
WRITE_REPRESENTATIONS = ("storage", "atlas_doc_format", "wiki")
# PrimaryBodyRepresentationSingle.
READ_REPRESENTATIONS = (
    "storage",
    "atlas_doc_format",
    "view",
    "export_view",
    "anonymous_export_view",
    "styled_view",
    "editor",
)
V2_WRITE_BODY = {"body": dict, "body.representation": str, "body.value": str}
PAGE_RESPONSE = {
    "id": "98765",
    "status": "current",
    "title": "Q3 plan",
    "spaceId": "123456",
    "version": {"number": 7},
    "body": {"storage": {"representation": "storage", "value": "<p>Old</p>"}},
    "_links": {"webui": "/spaces/ENG/pages/98765/Q3+plan", "base": f"{SITE}/wiki"},
}
ADF_TYPES = {"doc", "paragraph", "text"}


@dataclass(frozen=True)
class Operation:
    """One official operation. `fields` lists every body field a call may send (dotted, with
    its JSON type); a dict-typed field with no declared children is free-form (ADF)."""

    operation_id: str
    method: str
    root: str
    path: str
    scopes: frozenset[str]
    query: frozenset[str] = frozenset()
    required_query: frozenset[str] = frozenset()
    query_enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fields: Mapping[str, type] | None = None
    required_body: tuple[str, ...] = ()
    enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    status: int = 200
    response: Any = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(self.path))
        return method == self.method and re.fullmatch(pattern, path) is not None


OPERATIONS = {
    op.operation_id: op
    for op in (
        # OAuth 2.0 (3LO) guide: any valid token may list its sites.
        Operation(
            "accessibleResources",
            "GET",
            PROVIDER_ROOT,
            "/oauth/token/accessible-resources",
            scopes=frozenset(),
            response=[{"id": "cloud-1", "name": "acme", "url": SITE, "scopes": []}],
        ),
        # --- Confluence Cloud REST API v2 ---
        Operation(
            "getSpaces",
            "GET",
            CONNECTION_ROOT,
            "/wiki/api/v2/spaces",
            scopes=frozenset({"read:space:confluence"}),
            query=frozenset(
                {
                    "ids",
                    "keys",
                    "type",
                    "status",
                    "labels",
                    "favorited-by",
                    "not-favorited-by",
                    "sort",
                    "description-format",
                    "include-icon",
                    "cursor",
                    "limit",
                }
            ),
            query_enums={
                "type": ("global", "collaboration", "knowledge_base", "personal"),
                "status": ("current", "archived"),
                "sort": ("id", "-id", "key", "-key", "name", "-name"),
                "description-format": ("plain", "view"),
            },
            response={
                "results": [
                    {
                        "id": "123456",
                        "key": "ENG",
                        "name": "Engineering",
                        "type": "global",
                        "status": "current",
                        "_links": {"webui": "/spaces/ENG"},
                    }
                ],
                "_links": {"base": f"{SITE}/wiki"},
            },
        ),
        Operation(
            "createPage",
            "POST",
            CONNECTION_ROOT,
            "/wiki/api/v2/pages",
            scopes=frozenset({"write:page:confluence"}),
            query=frozenset({"embedded", "private", "root-level"}),
            fields={"spaceId": str, "status": str, "title": str, "parentId": str, **V2_WRITE_BODY},
            # spaceId is required; a title too unless the status is draft.
            required_body=("spaceId", "title"),
            enums={"status": ("current", "draft"), "body.representation": WRITE_REPRESENTATIONS},
            response=PAGE_RESPONSE,
        ),
        Operation(
            "createBlogPost",
            "POST",
            CONNECTION_ROOT,
            "/wiki/api/v2/blogposts",
            scopes=frozenset({"write:page:confluence"}),
            query=frozenset({"private"}),
            fields={"spaceId": str, "status": str, "title": str, **V2_WRITE_BODY},
            required_body=("spaceId", "title"),
            enums={"status": ("current", "draft"), "body.representation": WRITE_REPRESENTATIONS},
            response={
                **PAGE_RESPONSE,
                "id": "55555",
                "_links": {"webui": "/spaces/ENG/blog/2026/11/29/55555", "base": f"{SITE}/wiki"},
            },
        ),
        Operation(
            "getPageById",
            "GET",
            CONNECTION_ROOT,
            "/wiki/api/v2/pages/{id}",
            scopes=frozenset({"read:page:confluence"}),
            query=frozenset(
                {
                    "body-format",
                    "get-draft",
                    "status",
                    "version",
                    "include-labels",
                    "include-properties",
                    "include-operations",
                    "include-likes",
                    "include-versions",
                    "include-version",
                    "include-favorited-by-current-user-status",
                    "include-webresources",
                }
            ),
            query_enums={"body-format": READ_REPRESENTATIONS},
            response=PAGE_RESPONSE,
        ),
        Operation(
            "updatePage",
            "PUT",
            CONNECTION_ROOT,
            "/wiki/api/v2/pages/{id}",
            scopes=frozenset({"write:page:confluence"}),
            fields={
                "id": str,
                "status": str,
                "title": str,
                "spaceId": str,
                "parentId": str,
                "ownerId": str,
                **V2_WRITE_BODY,
                "version": dict,
                "version.number": int,
                "version.message": str,
            },
            # The schema requires id, status, title, body, version; version.number is "the
            # current version number plus one".
            required_body=("id", "status", "title", "body", "version", "version.number"),
            enums={"status": ("current", "draft"), "body.representation": WRITE_REPRESENTATIONS},
            response={**PAGE_RESPONSE, "title": "Q4 plan", "version": {"number": 8}},
        ),
        Operation(
            "createFooterComment",
            "POST",
            CONNECTION_ROOT,
            "/wiki/api/v2/footer-comments",
            scopes=frozenset({"write:comment:confluence"}),
            fields={
                "blogPostId": str,
                "pageId": str,
                "parentCommentId": str,
                "attachmentId": str,
                "customContentId": str,
                **V2_WRITE_BODY,
            },
            # No field is marked required; a top-level comment names its page (or blog post).
            required_body=("pageId", "body"),
            enums={"body.representation": WRITE_REPRESENTATIONS},
            status=201,
            response={
                "id": "777",
                "status": "current",
                "pageId": "98765",
                "_links": {
                    "webui": "/spaces/ENG/pages/98765/Q3+plan?focusedCommentId=777",
                    "base": f"{SITE}/wiki",
                },
            },
        ),
        # --- Confluence Cloud REST API v1: CQL search only ---
        Operation(
            "searchByCQL",
            "GET",
            CONNECTION_ROOT,
            "/wiki/rest/api/search",
            scopes=frozenset({"search:confluence"}),
            query=frozenset(
                {
                    "cql",
                    "cqlcontext",
                    "cursor",
                    "next",
                    "prev",
                    "limit",
                    "start",
                    "includeArchivedSpaces",
                    "excludeCurrentSpaces",
                    "excerpt",
                    "sitePermissionTypeFilter",
                    "_",
                    "expand",
                }
            ),
            required_query=frozenset({"cql"}),
            query_enums={
                "excerpt": (
                    "highlight",
                    "indexed",
                    "none",
                    "highlight_unescaped",
                    "indexed_unescaped",
                ),
                "sitePermissionTypeFilter": ("externalCollaborator", "none"),
            },
            response={
                "results": [
                    {
                        "title": "Roadmap",
                        "url": "/spaces/ENG/pages/4242/Roadmap",
                        "excerpt": "",
                        "entityType": "content",
                    }
                ],
                "start": 0,
                "limit": 10,
                "size": 1,
                "totalSize": 1,
                "cqlQuery": "",
                "searchDuration": 12,
                "_links": {"base": f"{SITE}/wiki"},
            },
        ),
        # --- Jira Cloud platform REST API v3 (classic scopes) ---
        Operation(
            "createIssue",
            "POST",
            CONNECTION_ROOT,
            "/rest/api/3/issue",
            scopes=frozenset({"write:jira-work"}),
            query=frozenset({"updateHistory"}),
            fields={
                "fields": dict,
                "fields.project": dict,
                "fields.project.key": str,
                "fields.issuetype": dict,
                "fields.issuetype.name": str,
                "fields.summary": str,
                "fields.description": dict,
                "update": dict,
                "historyMetadata": dict,
                "properties": list,
                "transition": dict,
            },
            # Jira requires a project, an issue type and a summary for every issue type.
            required_body=("fields.project", "fields.issuetype", "fields.summary"),
            status=201,
            response={"id": "10042", "key": "ENG-42", "self": f"{PROVIDER}/rest/api/3/issue/10042"},
        ),
        Operation(
            "searchAndReconsileIssuesUsingJql",
            "GET",
            CONNECTION_ROOT,
            "/rest/api/3/search/jql",
            scopes=frozenset({"read:jira-work"}),
            query=frozenset(
                {
                    "jql",
                    "nextPageToken",
                    "maxResults",
                    "fields",
                    "expand",
                    "properties",
                    "fieldsByKeys",
                    "failFast",
                    "reconcileIssues",
                }
            ),
            # Neither is marked required, but an unbounded search is refused and, without
            # fields, only issue ids come back.
            required_query=frozenset({"jql", "fields"}),
            response={
                "issues": [
                    {
                        "id": "10042",
                        "key": "ENG-42",
                        "fields": {"summary": "Fix login", "status": {"name": "To Do"}},
                    }
                ],
                "isLast": True,
            },
        ),
        Operation(
            "addComment",
            "POST",
            CONNECTION_ROOT,
            "/rest/api/3/issue/{issueIdOrKey}/comment",
            scopes=frozenset({"write:jira-work"}),
            query=frozenset({"expand"}),
            fields={"body": dict, "visibility": dict, "properties": list},
            required_body=("body",),
            status=201,
            response={"id": "10100", "self": f"{PROVIDER}/rest/api/3/issue/10042/comment/10100"},
        ),
    )
}

# Which operation(s) each service node may call: Create Content calls one of two.
TARGETS: dict[str, dict[str, tuple[str, ...]]] = {
    "confluence.create_content": {
        "getResourceIdService": ("accessibleResources",),
        "getSpaceService": ("getSpaces",),
        "createContentService": ("createPage", "createBlogPost"),
    },
    "confluence.get_content": {"getContentService": ("getPageById",)},
    "confluence.update_content": {
        "getCurrentContentService": ("getPageById",),
        "updateContentService": ("updatePage",),
    },
    "confluence.search_content": {"searchContentService": ("searchByCQL",)},
    "confluence.list_spaces": {"listSpacesService": ("getSpaces",)},
    "confluence.add_comment": {"addCommentService": ("createFooterComment",)},
    "confluence.create_blog_post": {
        "getSpaceService": ("getSpaces",),
        "createBlogPostService": ("createBlogPost",),
    },
    "jira.create_issue": {"createIssueService": ("createIssue",)},
    "jira.search_issues": {"searchIssuesService": ("searchAndReconsileIssuesUsingJql",)},
    "jira.add_comment": {"addCommentService": ("addComment",)},
}

# The entities of each run the test makes of each template.
SCENARIOS: dict[str, list[dict[str, Any]]] = {
    "confluence.create_content": [
        {
            "contentType": "page",
            "spaceKey": "ENG",
            "contentTitle": "Q3 plan",
            "contentBody": "<p>B</p>",
        },
        {
            "contentType": "blogpost",
            "spaceKey": "ENG",
            "contentTitle": "Q3 plan",
            "contentBody": "<p>B</p>",
        },
    ],
    "confluence.get_content": [{"contentId": "98765"}],
    "confluence.update_content": [
        {"contentId": "98765", "contentTitle": "Q4 plan", "contentBody": "<p>New</p>"}
    ],
    "confluence.search_content": [
        {"searchText": 'road "map"'},
        {"searchText": "roadmap", "spaceKey": "ENG"},
    ],
    "confluence.list_spaces": [{}],
    "confluence.add_comment": [{"pageId": "98765", "commentBody": "Looks good"}],
    "confluence.create_blog_post": [
        {"spaceKey": "ENG", "postTitle": "Q3 plan", "postBody": "<p>B</p>"}
    ],
    "jira.create_issue": [
        {
            "projectKey": "ENG",
            "issueType": "Bug",
            "issueSummary": "Fix login",
            "issueDescription": "It fails",
        }
    ],
    "jira.search_issues": [{"searchText": "login"}, {"searchText": "login", "projectKey": "ENG"}],
    "jira.add_comment": [{"issueKey": "ENG-42", "commentBody": "On it"}],
}


@dataclass
class Call:
    node: str
    method: str
    url: str
    query: list[tuple[str, str]]
    body: Any


@dataclass
class Run:
    calls: list[Call]
    messages: list[str]
    values: dict[str, Any]


def in_order(template: Template) -> list[Any]:
    following = {t.from_: t.to for t in template.blueprint.transitions}
    current = template.blueprint.of_type("intent")[0].name
    ordered = [template.blueprint.node(current)]
    while current in following:
        current = following[current]
        ordered.append(template.blueprint.node(current))
    return ordered


def run(
    template: Template, entities: dict[str, Any], responses: Mapping[str, Any] | None = None
) -> Run:
    """Run `template` as the runtime would: each call answered with its operation's sample
    response (or `responses[node]`)."""
    values: dict[str, Any] = {
        "connection": {
            "api_base_url": API_ROOTS[template.integration],
            "cloud_id": "cloud-1",
            "site_url": SITE,
        },
        "provider": {"api_base_url": PROVIDER},
        "context": {"entities": entities},
    }
    context = values["context"]
    calls, messages = [], []
    for node in in_order(template):
        if isinstance(node, ServiceNode):
            call = Call(
                node.name,
                node.method,
                placeholders.render_url(node.url, values),
                placeholders.render_query(node.query, values),
                None if node.body is None else placeholders.render_body(node.body, values),
            )
            calls.append(call)
            operation = operation_of(template, call)
            answer = (responses or {}).get(node.name, operation.response)
            context[node.name] = {
                "response": {"status": operation.status, "headers": {}, "body": answer}
            }
        elif isinstance(node, ScriptNode):
            context.update(expressions.run_script(node.set, context))
        elif isinstance(node, MessageNode):
            messages.append(placeholders.render_text(node.text, values))
    return Run(calls, messages, values)


def operation_of(template: Template, call: Call) -> Operation:
    candidates = [OPERATIONS[o] for o in TARGETS[template.template_id][call.node]]
    matching = [op for op in candidates if op.matches(call.method, path_of(template, call))]
    assert len(matching) == 1, f"{call.node}: {call.method} {call.url} matches {matching}"
    return matching[0]


def path_of(template: Template, call: Call) -> str:
    for root in (API_ROOTS[template.integration], PROVIDER):
        if call.url.startswith(root + "/"):
            return call.url.removeprefix(root)
    raise AssertionError(f"{call.url} is under no root")


def leaves(body: Any, prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    if isinstance(body, dict):
        for key, value in body.items():
            found[prefix + key] = value
            found.update(leaves(value, f"{prefix}{key}."))
    return found


def service_nodes(template: Template) -> dict[str, ServiceNode]:
    return {n.name: n for n in template.blueprint.nodes if isinstance(n, ServiceNode)}


def template(template_id: str) -> Template:
    found = CATALOG.get(template_id)
    assert found is not None
    return found


def assert_conforms(call: Call, operation: Operation, template_: Template) -> None:
    node = service_nodes(template_)[call.node]
    root = CONNECTION_ROOT if node.url.startswith(CONNECTION_ROOT) else PROVIDER_ROOT
    assert root == operation.root
    names = [name for name, _ in call.query]
    assert set(names) <= operation.query, f"{call.node}: unknown query parameters {names}"
    assert operation.required_query <= set(names), f"{call.node}: lacks query parameters"
    for name, value in call.query:
        assert value != "", f"{call.node}: {name} is empty"
        allowed = operation.query_enums.get(name)
        assert allowed is None or value in allowed, f"{call.node}: {name}={value!r}"

    if operation.fields is None:
        assert call.body is None and node.body is None
        return
    assert call.body is not None
    assert node.headers.get("Content-Type") == "application/json"
    declared = operation.fields
    free_form = _free_form(declared)
    sent = leaves(call.body)
    for path, value in sent.items():
        if any(path.startswith(free + ".") for free in free_form):
            continue  # inside a free-form field: an ADF document, checked below
        assert path in declared, f"{call.node}: the operation has no body field {path}"
        expected = declared[path]
        assert isinstance(value, expected) and not (expected is int and isinstance(value, bool)), (
            f"{call.node}: {path} is {type(value).__name__}, the operation takes {expected}"
        )
    for path in operation.required_body:
        assert path in sent, f"{call.node}: the body lacks {path}"
    for path, allowed in operation.enums.items():
        assert path not in sent or sent[path] in allowed, f"{call.node}: {path}={sent[path]!r}"


def _free_form(declared: Mapping[str, type]) -> list[str]:
    return [
        path
        for path, kind in declared.items()
        if kind in (dict, list) and not any(other.startswith(path + ".") for other in declared)
    ]


SCENARIO_CASES = [
    pytest.param(template_id, index, id=f"{template_id}-{index}")
    for template_id, scenarios in SCENARIOS.items()
    for index in range(len(scenarios))
]


# --- the table covers every call ----------------------------------------------------------


def test_every_service_node_of_every_template_targets_an_official_operation() -> None:
    assert {t.template_id for t in CATALOG.all()} == set(TARGETS) == set(SCENARIOS)
    for template_ in CATALOG.all():
        assert set(service_nodes(template_)) == set(TARGETS[template_.template_id])


@pytest.mark.parametrize(("template_id", "index"), SCENARIO_CASES)
def test_each_call_a_run_makes_conforms_to_the_official_operation_it_targets(
    template_id: str, index: int
) -> None:
    template_ = template(template_id)
    made = run(template_, SCENARIOS[template_id][index])
    assert [call.node for call in made.calls] == list(service_nodes(template_))
    for call in made.calls:
        assert_conforms(call, operation_of(template_, call), template_)
    assert len(made.messages) == 1


def test_no_template_calls_an_endpoint_atlassian_has_removed() -> None:
    removed_prefixes = ("/wiki/rest/api/content", "/wiki/rest/api/space")
    for template_ in CATALOG.all():
        for node in service_nodes(template_).values():
            path = node.url.split("}}", 1)[1]
            where = f"{template_.template_id}.{node.name}: {path}"
            assert not path.startswith(removed_prefixes), where
            assert path.rstrip("/") != "/rest/api/3/search", where
            # v1 only for CQL search.
            assert not path.startswith("/wiki/rest/api/") or path == "/wiki/rest/api/search", where


def test_each_template_requires_exactly_the_scopes_of_the_calls_it_makes() -> None:
    for template_ in CATALOG.all():
        needed = {
            scope
            for operations in TARGETS[template_.template_id].values()
            for operation_id in operations
            for scope in OPERATIONS[operation_id].scopes
        }
        assert set(template_.required_scopes) == needed, template_.template_id


def test_every_manifests_default_scopes_are_its_templates_scopes_plus_offline_access() -> None:
    for spec in INTEGRATIONS:
        scopes = spec.manifest.provider.default_scopes
        union = {s for t in CATALOG.all(spec.name) for s in t.required_scopes}
        assert len(set(scopes)) == len(scopes)
        assert set(scopes) == union | {"offline_access"}, spec.name
    confluence = INTEGRATIONS.get("confluence")
    assert confluence is not None
    assert set(confluence.manifest.provider.default_scopes) == {
        "read:page:confluence",
        "write:page:confluence",
        "read:space:confluence",
        "write:comment:confluence",
        "search:confluence",
        "offline_access",
    }


# --- what the runs send and show ----------------------------------------------------------


def test_create_content_looks_the_space_up_and_posts_a_page_or_a_blog_post_by_its_type() -> None:
    template_ = template("confluence.create_content")
    page, blog_post = (run(template_, entities) for entities in SCENARIOS[template_.template_id])
    root = API_ROOTS["confluence"]
    assert page.calls[1].url == f"{root}/wiki/api/v2/spaces"
    assert page.calls[1].query == [("keys", "ENG")]
    assert (page.calls[2].method, page.calls[2].url) == ("POST", f"{root}/wiki/api/v2/pages")
    assert blog_post.calls[2].url == f"{root}/wiki/api/v2/blogposts"
    for made in (page, blog_post):
        assert made.calls[2].body == {
            "spaceId": "123456",
            "status": "current",
            "title": "Q3 plan",
            "body": {"representation": "storage", "value": "<p>B</p>"},
        }
    assert page.messages == [f'Created "Q3 plan": {SITE}/wiki/spaces/ENG/pages/98765/Q3+plan']
    assert blog_post.messages == [
        f'Created "Q3 plan": {SITE}/wiki/spaces/ENG/blog/2026/11/29/55555'
    ]
    assert template_.input("contentType").values == ["page", "blogpost"]


def test_the_site_comes_from_the_connection_not_from_the_first_accessible_resource() -> None:
    template_ = template("confluence.create_content")
    sites = [{"id": "other-cloud", "url": "https://other.atlassian.net"}, {"id": "cloud-1"}]
    made = run(template_, SCENARIOS[template_.template_id][0], {"getResourceIdService": sites})
    assert all(call.url.startswith(API_ROOTS["confluence"]) for call in made.calls[1:])


@pytest.mark.parametrize(
    "template_id", ["confluence.create_content", "confluence.create_blog_post"]
)
def test_a_space_key_that_matches_no_space_stops_the_run_with_a_clear_error(
    template_id: str,
) -> None:
    template_ = template(template_id)
    no_space = {"getSpaceService": {"results": [], "_links": {"base": f"{SITE}/wiki"}}}
    with pytest.raises(expressions.ScriptFailed) as failed:
        run(template_, SCENARIOS[template_id][0], no_space)
    assert failed.value.message == 'No Confluence space has the key "ENG".'


def test_update_content_sends_the_current_version_plus_one_as_a_number() -> None:
    template_ = template("confluence.update_content")
    order = [node.name for node in template_.blueprint.nodes]
    assert order.index("getCurrentContentService") < order.index("nextVersionScript")
    assert order.index("nextVersionScript") < order.index("updateContentService")
    script = template_.blueprint.node("nextVersionScript")
    assert isinstance(script, ScriptNode)
    assert script.set == {
        "nextVersion": "context.getCurrentContentService.response.body.version.number + 1"
    }
    made = run(template_, SCENARIOS[template_.template_id][0])
    update = made.calls[1]
    assert (update.method, update.url) == (
        "PUT",
        f"{API_ROOTS['confluence']}/wiki/api/v2/pages/98765",
    )
    assert update.body == {
        "id": "98765",
        "status": "current",
        "title": "Q4 plan",
        "body": {"representation": "storage", "value": "<p>New</p>"},
        "version": {"number": 8},
    }
    assert made.messages == [
        f'Updated "Q4 plan" to version 8: {SITE}/wiki/spaces/ENG/pages/98765/Q3+plan'
    ]


def test_get_content_reads_the_page_in_storage_format_and_links_to_it() -> None:
    made = run(template("confluence.get_content"), SCENARIOS["confluence.get_content"][0])
    assert made.calls[0].query == [("body-format", "storage")]
    assert made.messages == [f'"Q3 plan" (version 7): {SITE}/wiki/spaces/ENG/pages/98765/Q3+plan']


def test_search_content_quotes_the_text_and_narrows_to_a_space_only_when_one_is_given() -> None:
    template_ = template("confluence.search_content")
    everywhere, in_space = (run(template_, e) for e in SCENARIOS[template_.template_id])
    assert everywhere.calls[0].query == [
        ("cql", 'type in (page, blogpost) AND text ~ "road \\"map\\""'),
        ("limit", "10"),
    ]
    assert in_space.calls[0].query[0] == (
        "cql",
        'type in (page, blogpost) AND text ~ "roadmap" AND space = "ENG"',
    )
    assert in_space.messages == [
        f'Found 1 result(s); the first: "Roadmap" {SITE}/wiki/spaces/ENG/pages/4242/Roadmap'
    ]
    nothing = {"searchContentService": {"results": [], "totalSize": 0, "_links": {}}}
    assert run(template_, {"searchText": "x"}, nothing).messages == [
        'Nothing matches type in (page, blogpost) AND text ~ "x".'
    ]


def test_list_spaces_names_the_spaces_and_links_to_the_first() -> None:
    made = run(template("confluence.list_spaces"), {})
    assert made.calls[0].query == [("status", "current"), ("limit", "25")]
    assert made.messages == [f"1 space(s): ENG. The first, Engineering: {SITE}/wiki/spaces/ENG"]


def test_add_comment_posts_a_footer_comment_on_the_page_and_links_to_it() -> None:
    made = run(template("confluence.add_comment"), SCENARIOS["confluence.add_comment"][0])
    assert made.calls[0].body == {
        "pageId": "98765",
        "body": {"representation": "storage", "value": "Looks good"},
    }
    assert made.messages == [
        f"Comment added: {SITE}/wiki/spaces/ENG/pages/98765/Q3+plan?focusedCommentId=777"
    ]


def adf(text: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }


def test_create_issue_sends_the_fields_with_an_adf_description_and_links_to_the_issue() -> None:
    template_ = template("jira.create_issue")
    made = run(template_, SCENARIOS[template_.template_id][0])
    call = made.calls[0]
    assert call.url == f"{API_ROOTS['jira']}/rest/api/3/issue"
    assert call.body == {
        "fields": {
            "project": {"key": "ENG"},
            "issuetype": {"name": "Bug"},
            "summary": "Fix login",
            "description": adf("It fails"),
        }
    }
    assert template_.input("issueType").values == ["Task", "Bug", "Story"]
    assert made.messages == [f'Created ENG-42 "Fix login": {SITE}/browse/ENG-42']


def test_search_issues_asks_for_summary_and_status_with_quoted_jql() -> None:
    template_ = template("jira.search_issues")
    everywhere, in_project = (run(template_, e) for e in SCENARIOS[template_.template_id])
    assert everywhere.calls[0].url == f"{API_ROOTS['jira']}/rest/api/3/search/jql"
    assert everywhere.calls[0].query == [
        ("jql", 'text ~ "login" ORDER BY updated DESC'),
        ("fields", "summary,status"),
        ("maxResults", "10"),
    ]
    assert in_project.calls[0].query[0] == (
        "jql",
        'text ~ "login" AND project = "ENG" ORDER BY updated DESC',
    )
    assert everywhere.messages == [
        f'Found ENG-42. The first, ENG-42 "Fix login" (To Do): {SITE}/browse/ENG-42'
    ]
    nothing = {"searchIssuesService": {"issues": [], "isLast": True}}
    assert run(template_, {"searchText": "x"}, nothing).messages == [
        'No issue matches text ~ "x" ORDER BY updated DESC; the search in Jira: '
        f"{SITE}/issues/?jql=text%20~%20%22x%22%20ORDER%20BY%20updated%20DESC"
    ]


def test_add_issue_comment_posts_an_adf_body_to_the_issue_and_links_to_the_comment() -> None:
    made = run(template("jira.add_comment"), SCENARIOS["jira.add_comment"][0])
    call = made.calls[0]
    assert call.url == f"{API_ROOTS['jira']}/rest/api/3/issue/ENG-42/comment"
    assert call.body == {"body": adf("On it")}
    assert made.messages == [
        f"Comment added to ENG-42: {SITE}/browse/ENG-42?focusedCommentId=10100"
    ]


def test_every_adf_document_a_jira_template_sends_is_a_doc_of_text_paragraphs() -> None:
    for template_ in CATALOG.all("jira"):
        for scenario in SCENARIOS[template_.template_id]:
            for call in run(template_, scenario).calls:
                for path, value in leaves(call.body).items():
                    if path.endswith(("description", "body")) and isinstance(value, dict):
                        assert value["type"] == "doc" and value["version"] == 1
                        kinds = {n["type"] for n in _adf_nodes(value)}
                        assert kinds <= ADF_TYPES, kinds


def _adf_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("content", []) for n in _adf_nodes(child))]


def test_no_service_node_carries_a_credential() -> None:
    for template_ in CATALOG.all():
        for node in service_nodes(template_).values():
            assert not {h.lower() for h in node.headers} & {"authorization", "cookie"}
            assert "token" not in str(node.body).lower()
