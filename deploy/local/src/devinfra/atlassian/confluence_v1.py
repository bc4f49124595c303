"""Confluence Cloud REST API v1 as OAuth apps see it today: CQL search, and 410 for the rest.

Through api.atlassian.com, `/wiki/rest/api/content...` and `/wiki/rest/api/space...` answer
410 Gone with Confluence's `GoneException`; `GET /wiki/rest/api/search` (CQL, scope
`search:confluence`) still answers, in the v1 shapes, over the content created through v2.
The CQL parser is loose: `field op value` clauses joined by AND, over type, space, title,
text and id.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode

from aiohttp import web

from devinfra.atlassian import errors
from devinfra.atlassian.gateway import site_of
from devinfra.atlassian.state import Content, Site, Space


async def removed(request: web.Request) -> web.Response:
    raise errors.v1(410, errors.V1_GONE)


# --- v1 shapes ----------------------------------------------------------------------------


def user_json(account_id: str) -> dict[str, Any]:
    return {
        "type": "known",
        "accountId": account_id,
        "accountType": "atlassian",
        "publicName": account_id,
        "displayName": account_id,
    }


def webui(site: Site, content: Content) -> str:
    """The content's path below `{site}/wiki`, as Confluence Cloud builds it."""
    title = quote_plus(content.title)
    if content.status == "draft":
        return f"/pages/resumedraft.action?draftId={content.id}"
    if content.type == "page":
        return f"/spaces/{content.space_key}/pages/{content.id}/{title}"
    if content.type == "blogpost":
        day = content.created[:10].replace("-", "/")
        return f"/spaces/{content.space_key}/blog/{day}/{content.id}/{title}"
    container = site.contents.get(content.container_id or "")
    base = webui(site, container) if container else f"/spaces/{content.space_key}"
    return f"{base}{'&' if '?' in base else '?'}focusedCommentId={content.id}"


def _space_json(site: Site, space: Space) -> dict[str, Any]:
    return {
        "id": int(space.id),
        "key": space.key,
        "name": space.name,
        "type": "global",
        "status": "current",
        "_links": {
            "webui": f"/spaces/{space.key}",
            "self": f"{site.wiki}/rest/api/space/{space.key}",
        },
        "_expandable": {"description": "", "homepage": "", "icon": "", "metadata": ""},
    }


def _content_json(site: Site, content: Content, expand: set[str]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": content.id,
        "type": content.type,
        "status": content.status,
        "title": content.title,
        "space": _space_json(site, site.spaces[content.space_key]),
        "history": {
            "latest": True,
            "createdBy": user_json(content.author),
            "createdDate": content.created,
        },
        "version": {
            "by": user_json(content.updated_by or content.author),
            "when": content.updated or content.created,
            "number": content.version,
            "minorEdit": False,
        },
        "_links": {
            "webui": webui(site, content),
            "self": f"{site.wiki}/rest/api/content/{content.id}",
            "tinyui": f"/x/{content.id}",
        },
        "_expandable": {"children": "", "descendants": "", "restrictions": "", "body": ""},
    }
    if content.container_id is not None:
        result["container"] = {"id": content.container_id}
    wanted = {item.split(".", 1)[1] for item in expand if item.startswith("body.")}
    if "body" in expand:
        wanted.add("storage")
    if wanted:
        del result["_expandable"]["body"]
        result["body"] = {
            kind: {"value": content.body, "representation": kind, "_expandable": {"content": ""}}
            for kind in sorted(wanted)
        }
    return result


# --- CQL, loosely -------------------------------------------------------------------------

_VALUE = r'(?:"(?P<dq>[^"]*)"|\'(?P<sq>[^\']*)\'|(?P<bare>[^\s()"\']+))'
_CLAUSE = re.compile(
    rf"^\s*(?P<field>[A-Za-z.]+)\s*(?P<op>!=|=|~|\bin\b)\s*(?:\((?P<list>[^)]*)\)|{_VALUE})\s*",
    re.IGNORECASE,
)
_JOIN = re.compile(r"^\s*(AND)\b", re.IGNORECASE)
_ORDER = re.compile(r"\s+ORDER\s+BY\s+.*$", re.IGNORECASE | re.DOTALL)
_FIELDS = {"type", "space", "title", "text", "id"}


@dataclass(frozen=True)
class _Clause:
    field: str
    op: str
    values: tuple[str, ...]


def parse_cql(cql: str) -> list[_Clause]:
    rest = _ORDER.sub("", cql).strip()
    clauses: list[_Clause] = []
    while rest:
        match = _CLAUSE.match(rest)
        if match is None:
            raise errors.v1(400, f"Could not parse cql : {cql}")
        field_name = match["field"].lower().removesuffix(".key")
        if field_name not in _FIELDS:
            raise errors.v1(400, f"Could not parse cql : {cql} (unknown field)")
        if match["list"] is not None:
            values = tuple(v.strip().strip("\"'") for v in match["list"].split(",") if v.strip())
        else:
            values = (match["dq"] or match["sq"] or match["bare"] or "",)
        clauses.append(_Clause(field_name, match["op"].lower(), values))
        rest = rest[match.end() :]
        if rest:
            join = _JOIN.match(rest)
            if join is None:
                raise errors.v1(400, f"Could not parse cql : {cql} (only AND is supported)")
            rest = rest[join.end() :]
    return clauses


def words_match(needle: str, haystack: str) -> bool:
    words = re.findall(r"\w+", needle.lower().replace("*", ""))
    text = haystack.lower()
    return bool(words) and all(word in text for word in words)


def _plain(markup: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", markup).split())


def _matches(content: Content, clause: _Clause) -> bool:
    actual = {
        "type": content.type,
        "space": content.space_key,
        "id": content.id,
        "title": content.title,
    }.get(clause.field, f"{content.title} {_plain(content.body)}")
    if clause.op == "~":
        found = any(words_match(value, actual) for value in clause.values)
    elif clause.field == "title":
        found = any(value == actual for value in clause.values)
    else:
        found = any(value.lower() == actual.lower() for value in clause.values)
    return not found if clause.op == "!=" else found


def _int_param(request: web.Request, name: str, default: int) -> int:
    try:
        return int(request.query.get(name, str(default)))
    except ValueError as exc:
        raise errors.v1(400, f"{name} must be an integer") from exc


def _start(request: web.Request) -> int:
    cursor = request.query.get("cursor")
    if cursor is None:
        return max(0, _int_param(request, "start", 0))
    try:
        return max(0, int(base64.urlsafe_b64decode(cursor.encode()).decode()))
    except (ValueError, binascii.Error) as exc:
        raise errors.v1(400, "Invalid cursor") from exc


def _cursor(start: int) -> str:
    return base64.urlsafe_b64encode(str(start).encode()).decode()


async def search(request: web.Request) -> web.Response:
    site = site_of(request)
    cql = request.query.get("cql", "")
    if not cql.strip():
        raise errors.v1(400, "cql is required")
    clauses = parse_cql(cql)
    matches = [
        c
        for c in site.contents.values()
        if c.status == "current" and all(_matches(c, clause) for clause in clauses)
    ]
    start = _start(request)
    limit = max(0, min(250, _int_param(request, "limit", 25)))
    expand = {
        part.strip().removeprefix("content.")
        for part in request.query.get("expand", "").split(",")
        if part.strip()
    }
    page = matches[start : start + limit]
    links: dict[str, str] = {"base": site.wiki, "context": "/wiki"}
    query = {"cql": cql, "limit": str(limit)}
    links["self"] = f"{site.wiki}/rest/api/search?{urlencode(query)}"
    if start + limit < len(matches):
        links["next"] = f"/rest/api/search?{urlencode({**query, 'cursor': _cursor(start + limit)})}"
    return web.json_response(
        {
            "results": [_result(site, content, expand) for content in page],
            "start": start,
            "limit": limit,
            "size": len(page),
            "totalSize": len(matches),
            "cqlQuery": cql,
            "searchDuration": 1,
            "_links": links,
        }
    )


def _result(site: Site, content: Content, expand: set[str]) -> dict[str, Any]:
    space = site.spaces[content.space_key]
    return {
        "content": _content_json(site, content, expand),
        "title": content.title,
        "excerpt": _plain(content.body)[:200],
        "url": webui(site, content),
        "resultGlobalContainer": {"title": space.name, "displayUrl": f"/spaces/{space.key}"},
        "breadcrumbs": [],
        "entityType": "content",
        "iconCssClass": f"aui-icon content-type-{content.type}",
        "lastModified": content.updated or content.created,
        "friendlyLastModified": "just a moment ago",
        "score": 1.0,
    }
