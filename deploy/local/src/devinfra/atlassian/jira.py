"""Jira Cloud platform REST API v3 (`/ex/jira/{cloudId}/rest/api/3`): issues, comments, JQL search.

Descriptions and comment bodies are Atlassian Document Format, checked minimally (a `doc` of
version 1 whose nodes are known and whose text nodes are not empty); anything else answers
Jira's "Operation value must be an Atlassian Document". `GET`/`POST /search/jql` return only
issue ids unless `fields` asks for more, and page with `nextPageToken` and `isLast`; the old
`/rest/api/{2,3}/search` answers 410 as Jira has since 2025. The JQL parser is loose: `field op
value` clauses joined by AND over project, key, id, issuetype, status, summary, description and text
(`=`, `!=`, `~`, `in`), ORDER BY ignored.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from devinfra.atlassian import errors
from devinfra.atlassian.confluence_v1 import words_match
from devinfra.atlassian.gateway import caller_of, site_of
from devinfra.atlassian.state import Issue, IssueComment, Project, Site

MAX_RESULTS = 5000
ALL_FIELDS = (
    "summary",
    "status",
    "issuetype",
    "project",
    "description",
    "created",
    "updated",
    "reporter",
    "creator",
    "comment",
)
NAVIGABLE_FIELDS = tuple(name for name in ALL_FIELDS if name != "comment")
EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."


def _jira_time() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _api(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}/ex/jira/{request.match_info['cloud_id']}/rest/api/3"


def _user(account_id: str) -> dict[str, Any]:
    return {
        "accountId": account_id,
        "displayName": account_id,
        "active": True,
        "accountType": "atlassian",
        "timeZone": "Etc/UTC",
    }


# --- Atlassian Document Format, minimally -------------------------------------------------

_BLOCKS = {
    "paragraph",
    "heading",
    "bulletList",
    "orderedList",
    "listItem",
    "codeBlock",
    "blockquote",
    "rule",
}
_INLINE = {"text", "hardBreak", "mention", "emoji", "inlineCard"}


def _valid_node(node: Any, inline: bool) -> bool:
    if not isinstance(node, dict) or node.get("type") not in (_INLINE if inline else _BLOCKS):
        return False
    if node["type"] == "text":
        text = node.get("text")
        return isinstance(text, str) and bool(text) and isinstance(node.get("marks", []), list)
    children = node.get("content", [])
    if not isinstance(children, list):
        return False
    holds_inline = node["type"] in {"paragraph", "heading", "codeBlock"}
    return all(_valid_node(child, holds_inline) for child in children)


def is_adf(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and document.get("type") == "doc"
        and document.get("version") == 1
        and isinstance(document.get("content"), list)
        and all(_valid_node(node, inline=False) for node in document["content"])
    )


def adf_text(document: dict[str, Any] | None) -> str:
    if document is None:
        return ""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text":
                parts.append(str(node.get("text", "")))
            for child in node.get("content", []) or []:
                walk(child)

    walk(document)
    return " ".join(parts)


# --- issue shapes -------------------------------------------------------------------------


def _project_json(api: str, project: Project) -> dict[str, Any]:
    return {
        "self": f"{api}/project/{project.id}",
        "id": project.id,
        "key": project.key,
        "name": project.name,
        "projectTypeKey": "software",
        "simplified": False,
    }


def _comment_json(api: str, issue: Issue, comment: IssueComment) -> dict[str, Any]:
    return {
        "self": f"{api}/issue/{issue.id}/comment/{comment.id}",
        "id": comment.id,
        "author": _user(comment.author),
        "body": comment.body,
        "updateAuthor": _user(comment.author),
        "created": comment.created,
        "updated": comment.created,
        "jsdPublic": True,
    }


def _field(api: str, site: Site, issue: Issue, name: str) -> Any:
    if name == "summary":
        return issue.summary
    if name == "description":
        return issue.description
    if name in ("created", "updated"):
        return issue.created if name == "created" else issue.updated
    if name in ("reporter", "creator"):
        return _user(issue.reporter)
    if name == "status":
        return {
            "self": f"{api}/status/10000",
            "description": "",
            "name": issue.status,
            "id": "10000",
            "statusCategory": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
        }
    if name == "issuetype":
        kind = issue.issue_type
        return {
            "self": f"{api}/issuetype/{kind.id}",
            "id": kind.id,
            "description": kind.description,
            "name": kind.name,
            "subtask": False,
            "hierarchyLevel": 0,
        }
    if name == "project":
        return _project_json(api, site.projects[issue.project_key])
    comments = [_comment_json(api, issue, c) for c in issue.comments]
    return {
        "comments": comments,
        "self": f"{api}/issue/{issue.id}/comment",
        "maxResults": len(comments),
        "total": len(comments),
        "startAt": 0,
    }


def _wanted_fields(requested: list[str], default: tuple[str, ...]) -> list[str] | None:
    """The issue fields to return, or None for ids only; unknown names are ignored as Jira does."""
    names = [part.strip() for value in requested for part in value.split(",") if part.strip()]
    if not names:
        return list(default) if default else None
    wanted: list[str] = []
    for name in names:
        if name in ("*all", "*navigable"):
            wanted += ALL_FIELDS if name == "*all" else NAVIGABLE_FIELDS
        elif name in ALL_FIELDS or name in ("id", "key"):
            wanted.append(name)
    excluded = {name[1:] for name in names if name.startswith("-")}
    if excluded and not wanted:
        wanted = list(NAVIGABLE_FIELDS)
    return [name for name in dict.fromkeys(wanted) if name not in excluded]


def _issue_json(api: str, site: Site, issue: Issue, fields: list[str] | None) -> dict[str, Any]:
    if fields is None or fields == ["id"]:
        return {"id": issue.id}
    return {
        "expand": EXPAND,
        "id": issue.id,
        "self": f"{api}/issue/{issue.id}",
        "key": issue.key,
        "fields": {
            name: _field(api, site, issue, name) for name in fields if name not in ("id", "key")
        },
    }


# --- create, read, comment ----------------------------------------------------------------


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.jira(400, ["Unexpected character in the request body: not JSON."]) from exc
    if not isinstance(body, dict):
        raise errors.jira(400, ["The request body must be a JSON object."])
    return body


def _project(site: Site, fields: dict[str, Any]) -> Project | None:
    ref = fields.get("project")
    if not isinstance(ref, dict):
        return None
    key, project_id = ref.get("key"), ref.get("id")
    for project in site.projects.values():
        if (isinstance(key, str) and project.key == key.upper()) or (
            isinstance(project_id, str | int) and project.id == str(project_id)
        ):
            return project
    return None


async def create_issue(request: web.Request) -> web.Response:
    site = site_of(request)
    body = await _json_object(request)
    fields = body.get("fields")
    if not isinstance(fields, dict):
        raise errors.jira(400, ['Issue fields are required: send {"fields": {...}}.'])
    problems: dict[str, str] = {}
    project = _project(site, fields)
    if project is None:
        problems["project"] = "Specify a valid project ID or key"
    summary = fields.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        problems["summary"] = "You must specify a summary of the issue."
    elif len(summary) > 255 or "\n" in summary:
        problems["summary"] = "Summary must be less than 255 characters and on one line."
    kind = fields.get("issuetype")
    issue_type = None
    if not isinstance(kind, dict) or not (kind.get("name") or kind.get("id")):
        problems["issuetype"] = "Specify an issue type"
    elif project is not None:
        type_id = str(kind["id"]) if kind.get("id") is not None else None
        issue_type = project.issue_type(kind.get("name"), type_id)
        if issue_type is None:
            problems["issuetype"] = "Specify a valid issue type"
    description = fields.get("description")
    if description is not None and not is_adf(description):
        problems["description"] = errors.ADF_REQUIRED
    if problems:
        raise errors.jira(400, errors=problems)
    assert project is not None and issue_type is not None and isinstance(summary, str)
    now = _jira_time()
    issue = Issue(
        id=site.next_issue_id(),
        key=project.next_key(),
        project_key=project.key,
        issue_type=issue_type,
        summary=summary,
        description=description,
        reporter=caller_of(request).account_id,
        created=now,
        updated=now,
    )
    site.issues[issue.id] = issue
    return web.json_response(
        {"id": issue.id, "key": issue.key, "self": f"{_api(request)}/issue/{issue.id}"},
        status=201,
    )


def _find_issue(request: web.Request) -> tuple[Site, Issue]:
    site = site_of(request)
    issue = site.issue(request.match_info["issue"])
    if issue is None:
        raise errors.jira(404, [ISSUE_NOT_FOUND])
    return site, issue


async def get_issue(request: web.Request) -> web.Response:
    site, issue = _find_issue(request)
    fields = _wanted_fields(request.query.getall("fields", []), ALL_FIELDS)
    return web.json_response(_issue_json(_api(request), site, issue, fields))


async def add_comment(request: web.Request) -> web.Response:
    site, issue = _find_issue(request)
    body = await _json_object(request)
    document = body.get("body")
    if document is None or (is_adf(document) and not adf_text(document).strip()):
        raise errors.jira(400, errors={"comment": "Comment body can not be empty!"})
    if not is_adf(document):
        raise errors.jira(400, errors={"comment": errors.ADF_REQUIRED})
    comment = IssueComment(
        site.next_issue_comment_id(), caller_of(request).account_id, document, _jira_time()
    )
    issue.comments.append(comment)
    issue.updated = comment.created
    return web.json_response(_comment_json(_api(request), issue, comment), status=201)


# --- JQL search ---------------------------------------------------------------------------

_VALUE = r'(?:"(?P<dq>[^"]*)"|\'(?P<sq>[^\']*)\'|(?P<bare>[^\s()"\']+))'
_CLAUSE = re.compile(
    rf"^\s*(?P<field>[A-Za-z]+)\s*(?P<op>!=|=|!~|~|\bnot\s+in\b|\bin\b)\s*"
    rf"(?:\((?P<list>[^)]*)\)|{_VALUE})\s*",
    re.IGNORECASE,
)
_JOIN = re.compile(r"^\s*AND\b", re.IGNORECASE)
_ORDER = re.compile(r"\bORDER\s+BY\b.*$", re.IGNORECASE | re.DOTALL)
_JQL_FIELDS = {
    "project",
    "key",
    "issuekey",
    "id",
    "issuetype",
    "type",
    "status",
    "summary",
    "description",
    "text",
}


@dataclass(frozen=True)
class _Clause:
    field: str
    op: str
    values: tuple[str, ...]


def _jql_error(message: str) -> web.HTTPException:
    return errors.jira(400, [message])


def parse_jql(site: Site, jql: str) -> list[_Clause]:
    rest = _ORDER.sub("", jql).strip()
    if not rest:
        raise _jql_error(
            "Unbounded JQL queries are not allowed here. Please add a search restriction to "
            "your query."
        )
    clauses: list[_Clause] = []
    while rest:
        match = _CLAUSE.match(rest)
        if match is None:
            raise _jql_error(f"Error in the JQL Query: could not parse '{rest.strip()}'.")
        name = match["field"].lower()
        if name not in _JQL_FIELDS:
            raise _jql_error(
                f"Field '{match['field']}' does not exist or you do not have permission to view it."
            )
        if match["list"] is not None:
            values = tuple(v.strip().strip("\"'") for v in match["list"].split(",") if v.strip())
        else:
            values = (match["dq"] or match["sq"] or match["bare"] or "",)
        op = " ".join(match["op"].lower().split())
        if name == "project":
            for value in values:
                if not any(value.upper() in (p.key, p.id) for p in site.projects.values()):
                    raise _jql_error(f"The value '{value}' does not exist for the field 'project'.")
        clauses.append(_Clause(name, op, values))
        rest = rest[match.end() :]
        if rest.strip():
            join = _JOIN.match(rest)
            if join is None:
                raise _jql_error(
                    f"Error in the JQL Query: expecting AND but got '{rest.split()[0]}' "
                    "(the stand-in supports AND only)."
                )
            rest = rest[join.end() :]
    return clauses


def _actual(site: Site, issue: Issue, name: str) -> list[str]:
    if name == "project":
        project = site.projects[issue.project_key]
        return [project.key, project.id]
    if name in ("key", "issuekey", "id"):
        return [issue.key, issue.id]
    if name in ("issuetype", "type"):
        return [issue.issue_type.name, issue.issue_type.id]
    if name == "status":
        return [issue.status]
    if name == "summary":
        return [issue.summary]
    if name == "description":
        return [adf_text(issue.description)]
    comments = " ".join(adf_text(c.body) for c in issue.comments)
    return [f"{issue.summary} {adf_text(issue.description)} {comments}"]


def _issue_matches(site: Site, issue: Issue, clause: _Clause) -> bool:
    actual = _actual(site, issue, clause.field)
    if clause.op in ("~", "!~"):
        found = any(words_match(v, a) for v in clause.values for a in actual)
    else:
        found = any(v.lower() == a.lower() for v in clause.values for a in actual)
    return not found if clause.op in ("!=", "!~", "not in") else found


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("page:"))
    except (ValueError, binascii.Error) as exc:
        raise errors.jira(400, ["The provided next page token is invalid or expired."]) from exc


def _search(
    request: web.Request, jql: Any, fields: list[str], max_results: Any, token: Any
) -> web.Response:
    site = site_of(request)
    if not isinstance(jql, str):
        raise _jql_error("The 'jql' parameter is required and must be a string.")
    if token is not None and not isinstance(token, str):
        raise errors.jira(400, ["nextPageToken must be a string."])
    try:
        limit = int(max_results) if max_results is not None else 50
    except (TypeError, ValueError) as exc:
        raise errors.jira(400, ["maxResults must be an integer."]) from exc
    limit = max(0, min(MAX_RESULTS, limit))
    clauses = parse_jql(site, jql)
    matches = [
        issue
        for issue in sorted(site.issues.values(), key=lambda i: int(i.id), reverse=True)
        if all(_issue_matches(site, issue, clause) for clause in clauses)
    ]
    offset = _offset(token)
    page = matches[offset : offset + limit]
    wanted = _wanted_fields(fields, ())
    api = _api(request)
    result: dict[str, Any] = {"issues": [_issue_json(api, site, i, wanted) for i in page]}
    if offset + limit < len(matches):
        next_token = base64.urlsafe_b64encode(f"page:{offset + limit}".encode()).decode()
        result["nextPageToken"] = next_token
        result["isLast"] = False
    else:
        result["isLast"] = True
    return web.json_response(result)


async def search_jql(request: web.Request) -> web.Response:
    query = request.query
    return _search(
        request,
        query.get("jql", ""),
        query.getall("fields", []),
        query.get("maxResults"),
        query.get("nextPageToken"),
    )


async def search_jql_post(request: web.Request) -> web.Response:
    body = await _json_object(request)
    fields = body.get("fields", [])
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise errors.jira(400, ["fields must be a list of strings."])
    return _search(
        request, body.get("jql", ""), fields, body.get("maxResults"), body.get("nextPageToken")
    )


async def removed_search(request: web.Request) -> web.Response:
    raise errors.jira(410, [errors.JIRA_SEARCH_GONE])
