"""The operations the stand-in serves and the OAuth scopes each one requires: one table, as data.

Scopes follow the `security` entries of Atlassian's official OpenAPI documents: granular ones
for Confluence REST v2, the classic `search:confluence` for v1 CQL search, and Jira's classic
`read:jira-work` / `write:jira-work`. A token must hold every scope an operation lists. Removed
endpoints (Confluence v1 content and space, Jira's old search) list none: they answer 410 Gone
to any active token.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Confluence classic scopes (v1).
WRITE_CONTENT = "write:confluence-content"
READ_CONTENT_ALL = "read:confluence-content.all"
READ_CONTENT_SUMMARY = "read:confluence-content.summary"
READ_SPACE_SUMMARY = "read:confluence-space.summary"
SEARCH = "search:confluence"
CONFLUENCE_CLASSIC_SCOPES = (
    WRITE_CONTENT,
    READ_CONTENT_ALL,
    READ_CONTENT_SUMMARY,
    READ_SPACE_SUMMARY,
    SEARCH,
)

# Confluence granular scopes (v2).
READ_PAGE = "read:page:confluence"
WRITE_PAGE = "write:page:confluence"
DELETE_PAGE = "delete:page:confluence"
READ_SPACE = "read:space:confluence"
READ_COMMENT = "read:comment:confluence"
WRITE_COMMENT = "write:comment:confluence"
CONFLUENCE_GRANULAR_SCOPES = (
    READ_PAGE,
    WRITE_PAGE,
    DELETE_PAGE,
    READ_SPACE,
    READ_COMMENT,
    WRITE_COMMENT,
)

# Jira classic scopes.
READ_JIRA_WORK = "read:jira-work"
WRITE_JIRA_WORK = "write:jira-work"
JIRA_SCOPES = (READ_JIRA_WORK, WRITE_JIRA_WORK)

# What accessible-resources reports of a token's grant (the IdP grants these too).
KNOWN_SCOPES = frozenset(CONFLUENCE_CLASSIC_SCOPES + CONFLUENCE_GRANULAR_SCOPES + JIRA_SCOPES)


class Api(StrEnum):
    """Which API behind the gateway an operation belongs to; each refuses bad tokens its way."""

    PLATFORM = "platform"
    CONFLUENCE_V1 = "confluence-v1"
    CONFLUENCE_V2 = "confluence-v2"
    JIRA = "jira"


CONFLUENCE_V1_PATH = "/ex/confluence/{cloud_id}/wiki/rest/api"
CONFLUENCE_V2_PATH = "/ex/confluence/{cloud_id}/wiki/api/v2"
JIRA_PATH = "/ex/jira/{cloud_id}/rest/api"


@dataclass(frozen=True)
class Operation:
    """One route: `name` is the operationId of the official document (or ours, for removals)."""

    name: str
    api: Api
    method: str
    path: str
    scopes: frozenset[str] = frozenset()
    removed: bool = False


def _op(name: str, api: Api, method: str, path: str, *scopes: str) -> Operation:
    return Operation(name, api, method, path, frozenset(scopes))


def _removed(name: str, api: Api, path: str) -> Operation:
    return Operation(name, api, "*", path, removed=True)


V1, V2, JIRA = Api.CONFLUENCE_V1, Api.CONFLUENCE_V2, Api.JIRA
C1, C2, J3 = CONFLUENCE_V1_PATH, CONFLUENCE_V2_PATH, f"{JIRA_PATH}/3"

OPERATIONS: tuple[Operation, ...] = (
    _op("getAccessibleResources", Api.PLATFORM, "GET", "/oauth/token/accessible-resources"),
    _op("searchByCQL", V1, "GET", f"{C1}/search", SEARCH),
    _removed("removedContentApi", V1, f"{C1}/content{{rest:.*}}"),
    _removed("removedSpaceApi", V1, f"{C1}/space{{rest:.*}}"),
    _op("createPage", V2, "POST", f"{C2}/pages", WRITE_PAGE),
    _op("getPageById", V2, "GET", f"{C2}/pages/{{id}}", READ_PAGE),
    _op("updatePage", V2, "PUT", f"{C2}/pages/{{id}}", WRITE_PAGE),
    _op("createBlogPost", V2, "POST", f"{C2}/blogposts", WRITE_PAGE),
    _op("getBlogPostById", V2, "GET", f"{C2}/blogposts/{{id}}", READ_PAGE),
    _op("createFooterComment", V2, "POST", f"{C2}/footer-comments", WRITE_COMMENT),
    _op("getFooterCommentById", V2, "GET", f"{C2}/footer-comments/{{id}}", READ_COMMENT),
    _op("getSpaces", V2, "GET", f"{C2}/spaces", READ_SPACE),
    _op("getSpaceById", V2, "GET", f"{C2}/spaces/{{id}}", READ_SPACE),
    _op("createIssue", JIRA, "POST", f"{J3}/issue", WRITE_JIRA_WORK),
    _op("getIssue", JIRA, "GET", f"{J3}/issue/{{issue}}", READ_JIRA_WORK),
    _op("addComment", JIRA, "POST", f"{J3}/issue/{{issue}}/comment", WRITE_JIRA_WORK),
    _op("searchAndReconsileIssuesUsingJql", JIRA, "GET", f"{J3}/search/jql", READ_JIRA_WORK),
    _op("searchAndReconsileIssuesUsingJqlPost", JIRA, "POST", f"{J3}/search/jql", READ_JIRA_WORK),
    _removed("removedJiraSearch", JIRA, f"{JIRA_PATH}/{{version:[23]}}/search"),
)
