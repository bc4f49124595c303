"""A stand-in for api.atlassian.com: accessible resources and a small Confluence Cloud v1 API.

Bearer tokens are checked against the local identity provider (its `/__control/introspect`),
so only tokens that the IdP issued, and that are neither expired nor revoked, get through.
Content lives in memory, per cloud id. Bodies follow the Confluence Cloud REST API v1 shapes
(`/ex/confluence/{cloudId}/wiki/rest/api/...`), trimmed to the fields a client reads.

Test control (JSON): `PUT /__control/sites` replaces the site list, `GET /__control/requests`
returns the request log (Authorization values are never logged), `DELETE /__control/requests`
clears it.

Run it alone: `python -m devinfra.atlassian_fake --port 8765 --idp-url http://127.0.0.1:8764
--sites '[{"id": "...", "name": "acme", "url": "https://acme.atlassian.net"}]'` (or the
ATLASSIAN_FAKE_PORT, ATLASSIAN_FAKE_IDP_URL, ATLASSIAN_FAKE_SITES environment variables).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import aiohttp
from aiohttp import web

from devinfra import process

WRITE = "write:confluence-content"
READ_ALL = "read:confluence-content.all"
READ_SUMMARY = "read:confluence-content.summary"
READ_SPACES = "read:confluence-space.summary"
SEARCH = "search:confluence"
CONFLUENCE_SCOPES = [WRITE, READ_ALL, READ_SUMMARY, READ_SPACES, SEARCH]

DEFAULT_AVATAR = "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png"
DEFAULT_SPACES = [
    {"key": "ENG", "name": "Engineering"},
    {"key": "TEAM", "name": "Team Space"},
]
DEFAULT_SITES = [
    {
        "id": "1324a887-45db-1bf4-1e99-ef0ff456d421",
        "name": "acme",
        "url": "https://acme.atlassian.net",
    }
]
CONTENT_TYPES = {"page", "blogpost", "comment"}
CONFLUENCE_PREFIX = "/ex/confluence/{cloud_id}/wiki/rest/api"
HOST = "127.0.0.1"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _user(account_id: str) -> dict[str, Any]:
    return {
        "type": "known",
        "accountId": account_id,
        "accountType": "atlassian",
        "publicName": account_id,
        "displayName": account_id,
    }


# --- errors -------------------------------------------------------------------------------


def _gateway_error(status: int, message: str) -> web.HTTPException:
    """The API gateway's own errors (bad token, missing scope)."""
    cls = web.HTTPUnauthorized if status == 401 else web.HTTPForbidden
    return cls(
        text=json.dumps({"code": status, "message": message}), content_type="application/json"
    )


def _confluence_error(status: int, message: str) -> web.HTTPException:
    """Confluence's error body: statusCode, data{...}, message."""
    body = {
        "statusCode": status,
        "data": {
            "authorized": status != 403,
            "valid": status not in (400, 409),
            "allowedInReadOnlyMode": True,
            "errors": [],
            "successful": False,
        },
        "message": message,
        "reason": {400: "Bad Request", 404: "Not Found", 409: "Conflict"}.get(status, ""),
    }
    classes: dict[int, type[web.HTTPException]] = {
        400: web.HTTPBadRequest,
        403: web.HTTPForbidden,
        404: web.HTTPNotFound,
        409: web.HTTPConflict,
    }
    return classes[status](text=json.dumps(body), content_type="application/json")


# --- state --------------------------------------------------------------------------------


@dataclass
class Space:
    id: int
    key: str
    name: str


@dataclass
class Content:
    id: str
    type: str
    title: str
    space_key: str
    body: str
    representation: str
    author: str
    created: str
    version: int = 1
    updated: str = ""
    updated_by: str = ""
    container_id: str | None = None
    ancestors: list[str] = field(default_factory=list)


@dataclass
class Site:
    """One Confluence site (cloud id) and what was created in it."""

    info: dict[str, Any]
    spaces: dict[str, Space] = field(default_factory=dict)
    contents: dict[str, Content] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(65537))

    @property
    def cloud_id(self) -> str:
        return str(self.info["id"])

    @property
    def wiki(self) -> str:
        return f"{str(self.info['url']).rstrip('/')}/wiki"

    def next_id(self) -> str:
        return str(next(self._ids))


class FakeState:
    def __init__(self, idp_control_url: str, sites: list[dict[str, Any]]) -> None:
        base = idp_control_url.rstrip("/")
        self.introspect_url = (
            f"{base}/introspect" if base.endswith("/__control") else f"{base}/__control/introspect"
        )
        self.sites: dict[str, Site] = {}
        self.requests: list[dict[str, Any]] = []
        self.http: aiohttp.ClientSession | None = None
        self.replace_sites(sites)

    def replace_sites(self, sites: list[dict[str, Any]]) -> None:
        """Set the site list; sites whose cloud id stays keep their content."""
        replaced: dict[str, Site] = {}
        for raw in sites:
            info = _site_info(raw)
            site = self.sites.get(info["id"]) or Site(info)
            site.info = info
            if not site.spaces:
                seeds = raw.get("spaces") or DEFAULT_SPACES
                for number, seed in enumerate(seeds):
                    space = Space(98305 + number, str(seed["key"]), str(seed["name"]))
                    site.spaces[space.key] = space
            replaced[info["id"]] = site
        self.sites = replaced


def _site_info(raw: dict[str, Any]) -> dict[str, Any]:
    missing = [key for key in ("id", "name", "url") if not raw.get(key)]
    if missing:
        raise ValueError(f"site {raw!r} lacks {', '.join(missing)}")
    return {
        "id": str(raw["id"]),
        "name": str(raw["name"]),
        "url": str(raw["url"]).rstrip("/"),
        "scopes": raw.get("scopes"),
        "avatarUrl": raw.get("avatarUrl", DEFAULT_AVATAR),
    }


STATE = web.AppKey("state", FakeState)


# --- auth ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    account_id: str
    scopes: frozenset[str]


async def _authenticate(request: web.Request) -> Caller:
    state = request.app[STATE]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _gateway_error(401, "Unauthorized")
    assert state.http is not None
    try:
        async with state.http.post(state.introspect_url, json={"token": token.strip()}) as resp:
            info = await resp.json()
    except aiohttp.ClientError as exc:
        raise web.HTTPBadGateway(text=f"identity provider unreachable: {exc}") from exc
    if not info.get("active"):
        raise _gateway_error(401, "Unauthorized")
    return Caller(str(info.get("sub", "")), frozenset(str(info.get("scope", "")).split()))


async def _authorize(request: web.Request, *any_of: str) -> Caller:
    """The caller, if its token is active and has one of `any_of` scopes (403 otherwise)."""
    caller = await _authenticate(request)
    if any_of and not caller.scopes.intersection(any_of):
        raise _gateway_error(403, "Forbidden; scope does not match")
    return caller


# --- Confluence shapes --------------------------------------------------------------------


def _space_json(site: Site, space: Space) -> dict[str, Any]:
    return {
        "id": space.id,
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


def _webui(site: Site, content: Content) -> str:
    title = quote_plus(content.title)
    if content.type == "page":
        return f"/spaces/{content.space_key}/pages/{content.id}/{title}"
    if content.type == "blogpost":
        day = content.created[:10].replace("-", "/")
        return f"/spaces/{content.space_key}/blog/{day}/{content.id}/{title}"
    parent = site.contents.get(content.container_id or "")
    parent_title = quote_plus(parent.title) if parent else ""
    return (
        f"/spaces/{content.space_key}/pages/{content.container_id}/{parent_title}"
        f"?focusedCommentId={content.id}#comment-{content.id}"
    )


def _content_json(site: Site, content: Content, expand: set[str]) -> dict[str, Any]:
    space = site.spaces[content.space_key]
    result: dict[str, Any] = {
        "id": content.id,
        "type": content.type,
        "status": "current",
        "title": content.title,
        "space": _space_json(site, space),
        "history": {
            "latest": True,
            "createdBy": _user(content.author),
            "createdDate": content.created,
        },
        "version": {
            "by": _user(content.updated_by or content.author),
            "when": content.updated or content.created,
            "number": content.version,
            "minorEdit": False,
        },
        "_links": {
            "webui": _webui(site, content),
            "self": f"{site.wiki}/rest/api/content/{content.id}",
            "tinyui": f"/x/{content.id}",
            "base": site.wiki,
            "context": "/wiki",
        },
        "_expandable": {"children": "", "descendants": "", "restrictions": ""},
    }
    if content.container_id is not None:
        parent = site.contents.get(content.container_id)
        result["container"] = (
            _content_json(site, parent, set()) if parent else {"id": content.container_id}
        )
    if "ancestors" in expand or content.ancestors:
        result["ancestors"] = [
            {"id": ancestor, "type": "page", "title": site.contents[ancestor].title}
            for ancestor in content.ancestors
            if ancestor in site.contents
        ]
    wanted = {item.split(".", 1)[1] for item in expand if item.startswith("body.")}
    if "body" in expand:
        wanted.add("storage")
    if wanted:
        result["body"] = {
            kind: {"value": content.body, "representation": kind, "_expandable": {"content": ""}}
            for kind in sorted(wanted)
        }
    else:
        result["_expandable"]["body"] = ""
    return result


def _expand(request: web.Request) -> set[str]:
    return {part.strip() for part in request.query.get("expand", "").split(",") if part.strip()}


def _page(request: web.Request, default_limit: int = 25) -> tuple[int, int]:
    try:
        start = max(0, int(request.query.get("start", "0")))
        limit = max(1, min(250, int(request.query.get("limit", str(default_limit)))))
    except ValueError as exc:
        raise _confluence_error(400, "start and limit must be integers") from exc
    return start, limit


def _site(request: web.Request) -> Site:
    cloud_id = request.match_info["cloud_id"]
    site = request.app[STATE].sites.get(cloud_id)
    if site is None:
        raise _confluence_error(404, f"Site not found for cloudId {cloud_id}")
    return site


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _confluence_error(400, "Could not parse the request body as JSON") from exc
    if not isinstance(body, dict):
        raise _confluence_error(400, "The request body must be a JSON object")
    return body


def _storage_body(body: dict[str, Any]) -> tuple[str, str]:
    storage = (body.get("body") or {}).get("storage")
    if not isinstance(storage, dict) or not isinstance(storage.get("value"), str):
        raise _confluence_error(400, "body.storage.value is required")
    representation = storage.get("representation")
    if representation != "storage":
        raise _confluence_error(
            400, f"Unsupported representation for body.storage: {representation!r}"
        )
    return storage["value"], representation


def _find_content(site: Site, content_id: str) -> Content:
    content = site.contents.get(content_id)
    if content is None:
        raise _confluence_error(404, f"No content found with id : ContentId{{id={content_id}}}")
    return content


# --- Confluence routes --------------------------------------------------------------------


async def create_content(request: web.Request) -> web.Response:
    caller = await _authorize(request, WRITE)
    site = _site(request)
    body = await _json_body(request)
    kind = body.get("type")
    if kind not in CONTENT_TYPES:
        raise _confluence_error(400, f"Could not create content with type {kind}")
    value, representation = _storage_body(body)
    container_id: str | None = None
    ancestors: list[str] = []
    if kind == "comment":
        container = body.get("container")
        if not isinstance(container, dict) or not container.get("id"):
            raise _confluence_error(400, "A comment must have a container {id, type}")
        parent = site.contents.get(str(container["id"]))
        if parent is None or parent.type == "comment":
            raise _confluence_error(
                400, f"Could not find a page or blog post with id {container['id']}"
            )
        container_id, space_key = parent.id, parent.space_key
        title = f"Re: {parent.title}"
    else:
        raw_title = body.get("title")
        if not isinstance(raw_title, str) or not raw_title.strip():
            raise _confluence_error(400, "Title is required for content of type " + kind)
        title = raw_title
        space_key = str((body.get("space") or {}).get("key") or "")
        if not space_key:
            raise _confluence_error(400, "space.key is required")
        if space_key not in site.spaces:
            raise _confluence_error(400, f"No space with key : {space_key}")
        if kind == "page" and any(
            c.type == "page" and c.space_key == space_key and c.title == title
            for c in site.contents.values()
        ):
            raise _confluence_error(
                400,
                "A page with this title already exists: A page already exists with the title "
                f"{title} in the space with key {space_key}",
            )
        for ancestor in body.get("ancestors") or []:
            ancestor_id = str(ancestor.get("id", "")) if isinstance(ancestor, dict) else ""
            if ancestor_id not in site.contents:
                raise _confluence_error(400, f"No parent page with id {ancestor_id}")
            ancestors.append(ancestor_id)
    content = Content(
        id=site.next_id(),
        type=kind,
        title=title,
        space_key=space_key,
        body=value,
        representation=representation,
        author=caller.account_id,
        created=_now(),
        container_id=container_id,
        ancestors=ancestors,
    )
    site.contents[content.id] = content
    return web.json_response(_content_json(site, content, {"body.storage"}))


async def get_content(request: web.Request) -> web.Response:
    await _authorize(request, READ_ALL)
    site = _site(request)
    content = _find_content(site, request.match_info["content_id"])
    return web.json_response(_content_json(site, content, _expand(request)))


async def list_content(request: web.Request) -> web.Response:
    await _authorize(request, READ_ALL)
    site = _site(request)
    kind = request.query.get("type", "page")
    space_key = request.query.get("spaceKey")
    title = request.query.get("title")
    matches = [
        c
        for c in site.contents.values()
        if c.type == kind
        and (space_key is None or c.space_key == space_key)
        and (title is None or c.title == title)
    ]
    start, limit = _page(request)
    expand = _expand(request)
    results = [_content_json(site, c, expand) for c in matches[start : start + limit]]
    return web.json_response(_listing(site, results, start, limit, "/rest/api/content"))


async def update_content(request: web.Request) -> web.Response:
    caller = await _authorize(request, WRITE)
    site = _site(request)
    content = _find_content(site, request.match_info["content_id"])
    body = await _json_body(request)
    version = (body.get("version") or {}).get("number")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _confluence_error(400, "version.number is required")
    if body.get("type") != content.type:
        raise _confluence_error(
            400, f"Cannot change content type from {content.type} to {body.get('type')}"
        )
    title = body.get("title", content.title if content.type == "comment" else None)
    if not isinstance(title, str) or not title.strip():
        raise _confluence_error(400, "Title is required")
    if version != content.version + 1:
        raise _confluence_error(
            409, f"Version must be incremented on update. Current version is: {content.version}"
        )
    if body.get("body") is not None:
        content.body, content.representation = _storage_body(body)
    content.title = title
    content.version = version
    content.updated = _now()
    content.updated_by = caller.account_id
    return web.json_response(_content_json(site, content, {"body.storage"}))


async def child_comments(request: web.Request) -> web.Response:
    await _authorize(request, READ_SUMMARY, READ_ALL)
    site = _site(request)
    parent = _find_content(site, request.match_info["content_id"])
    comments = [
        c for c in site.contents.values() if c.type == "comment" and c.container_id == parent.id
    ]
    start, limit = _page(request)
    expand = _expand(request)
    results = [_content_json(site, c, expand) for c in comments[start : start + limit]]
    path = f"/rest/api/content/{parent.id}/child/comment"
    return web.json_response(_listing(site, results, start, limit, path))


async def list_spaces(request: web.Request) -> web.Response:
    await _authorize(request, READ_SPACES)
    site = _site(request)
    keys = set(request.query.getall("spaceKey", [])) | set(request.query.getall("keys", []))
    spaces = [s for s in site.spaces.values() if not keys or s.key in keys]
    start, limit = _page(request)
    results = [_space_json(site, s) for s in spaces[start : start + limit]]
    return web.json_response(_listing(site, results, start, limit, "/rest/api/space"))


def _listing(
    site: Site, results: list[dict[str, Any]], start: int, limit: int, path: str
) -> dict[str, Any]:
    return {
        "results": results,
        "start": start,
        "limit": limit,
        "size": len(results),
        "_links": {"base": site.wiki, "context": "/wiki", "self": f"{site.wiki}{path}"},
    }


# --- search (CQL, loosely) ----------------------------------------------------------------

_VALUE = r'(?:"(?P<dq>[^"]*)"|\'(?P<sq>[^\']*)\'|(?P<bare>[^\s()"\']+))'
_CLAUSE = re.compile(
    rf"^\s*(?P<field>[A-Za-z.]+)\s*(?P<op>!=|=|~|\bin\b)\s*(?:\((?P<list>[^)]*)\)|{_VALUE})\s*",
    re.IGNORECASE,
)
_JOIN = re.compile(r"^\s*(AND)\b", re.IGNORECASE)
_ORDER = re.compile(r"\s+ORDER\s+BY\s+.*$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class _Clause:
    field: str
    op: str
    values: tuple[str, ...]


def _parse_cql(cql: str) -> list[_Clause]:
    """`field op value` clauses joined by AND; fields type, space, title, text, id."""
    rest = _ORDER.sub("", cql).strip()
    clauses: list[_Clause] = []
    while rest:
        match = _CLAUSE.match(rest)
        if match is None:
            raise _confluence_error(400, f"Could not parse cql : {cql}")
        field_name = match["field"].lower().removesuffix(".key")
        if field_name not in {"type", "space", "title", "text", "id"}:
            raise _confluence_error(400, f"Could not parse cql : {cql} (unknown field)")
        if match["list"] is not None:
            values = tuple(v.strip().strip("\"'") for v in match["list"].split(",") if v.strip())
        else:
            values = (match["dq"] or match["sq"] or match["bare"] or "",)
        clauses.append(_Clause(field_name, match["op"].lower(), values))
        rest = rest[match.end() :]
        if rest:
            join = _JOIN.match(rest)
            if join is None:
                raise _confluence_error(400, f"Could not parse cql : {cql} (only AND is supported)")
            rest = rest[join.end() :]
    return clauses


def _words_match(needle: str, haystack: str) -> bool:
    words = re.findall(r"\w+", needle.lower().replace("*", ""))
    text = haystack.lower()
    return bool(words) and all(word in text for word in words)


def _matches(content: Content, clause: _Clause) -> bool:
    if clause.field == "type":
        actual = content.type
    elif clause.field == "space":
        actual = content.space_key
    elif clause.field == "id":
        actual = content.id
    elif clause.field == "title":
        actual = content.title
    else:
        actual = f"{content.title} {re.sub(r'<[^>]+>', ' ', content.body)}"
    if clause.op == "~":
        found = any(_words_match(value, actual) for value in clause.values)
    elif clause.field == "title":
        found = any(value == actual for value in clause.values)
    else:
        found = any(value.lower() == actual.lower() for value in clause.values)
    return not found if clause.op == "!=" else found


def _excerpt(content: Content) -> str:
    text = " ".join(re.sub(r"<[^>]+>", " ", content.body).split())
    return text[:200]


async def search(request: web.Request) -> web.Response:
    await _authorize(request, SEARCH)
    site = _site(request)
    cql = request.query.get("cql", "")
    if not cql.strip():
        raise _confluence_error(400, "cql is required")
    clauses = _parse_cql(cql)
    matches = [c for c in site.contents.values() if all(_matches(c, cl) for cl in clauses)]
    start, limit = _page(request)
    expand = _expand(request)
    results = []
    for content in matches[start : start + limit]:
        item = _content_json(site, content, {e.removeprefix("content.") for e in expand})
        space = site.spaces[content.space_key]
        results.append(
            {
                "content": item,
                "title": content.title,
                "excerpt": _excerpt(content),
                "url": _webui(site, content),
                "resultGlobalContainer": {
                    "title": space.name,
                    "displayUrl": f"/spaces/{space.key}",
                },
                "breadcrumbs": [],
                "entityType": "content",
                "iconCssClass": f"aui-icon content-type-{content.type}",
                "lastModified": content.updated or content.created,
                "friendlyLastModified": "just a moment ago",
                "score": 1.0,
            }
        )
    return web.json_response(
        {
            "results": results,
            "start": start,
            "limit": limit,
            "size": len(results),
            "totalSize": len(matches),
            "cqlQuery": cql,
            "searchDuration": 1,
            "_links": {"base": site.wiki, "context": "/wiki"},
        }
    )


# --- accessible resources and control ----------------------------------------------------


async def accessible_resources(request: web.Request) -> web.Response:
    caller = await _authenticate(request)
    granted = sorted(caller.scopes.intersection(CONFLUENCE_SCOPES))
    sites = [
        {
            "id": site.info["id"],
            "name": site.info["name"],
            "url": site.info["url"],
            "scopes": site.info["scopes"] if site.info["scopes"] is not None else granted,
            "avatarUrl": site.info["avatarUrl"],
        }
        for site in request.app[STATE].sites.values()
    ]
    return web.json_response(sites)


async def put_sites(request: web.Request) -> web.Response:
    body = await request.json()
    sites = body.get("sites") if isinstance(body, dict) else body
    if not isinstance(sites, list):
        raise web.HTTPBadRequest(text='expected a JSON list of sites (or {"sites": [...]})')
    try:
        request.app[STATE].replace_sites(sites)
    except (ValueError, AttributeError, TypeError) as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    return web.json_response([site.info for site in request.app[STATE].sites.values()])


async def get_requests(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].requests)


async def clear_requests(request: web.Request) -> web.Response:
    request.app[STATE].requests.clear()
    return web.json_response([])


@web.middleware
async def _log_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/__control/"):
        return await handler(request)
    body: Any = None
    if request.can_read_body:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = raw.decode("utf-8", "replace")
    entry: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "query": dict(request.query),
        "json": body,
        "authorization": request.headers.get("Authorization", "").partition(" ")[0] or None,
        "status": None,
    }
    request.app[STATE].requests.append(entry)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        entry["status"] = exc.status
        raise
    entry["status"] = response.status
    return response


def create_atlassian_app(idp_control_url: str, sites: list[dict[str, Any]]) -> web.Application:
    """The api.atlassian.com stand-in.

    `idp_control_url` is the identity provider's base URL or its `/__control` URL. `sites`
    items are `{"id": cloudId, "name", "url", "scopes"?, "avatarUrl"?, "spaces"?}`; without
    `scopes` a site reports the Confluence scopes of the caller's token, without `spaces` it
    gets two global spaces, ENG and TEAM.
    """
    app = web.Application(middlewares=[_log_requests])
    app[STATE] = FakeState(idp_control_url, sites)

    async def http_client(app: web.Application) -> AsyncIterator[None]:
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        app[STATE].http = session
        yield
        await session.close()

    app.cleanup_ctx.append(http_client)
    prefix = CONFLUENCE_PREFIX
    app.router.add_get("/oauth/token/accessible-resources", accessible_resources)
    app.router.add_post(f"{prefix}/content", create_content)
    app.router.add_get(f"{prefix}/content", list_content)
    app.router.add_get(f"{prefix}/content/{{content_id}}", get_content)
    app.router.add_put(f"{prefix}/content/{{content_id}}", update_content)
    app.router.add_get(f"{prefix}/content/{{content_id}}/child/comment", child_comments)
    app.router.add_get(f"{prefix}/space", list_spaces)
    app.router.add_get(f"{prefix}/search", search)
    app.router.add_put("/__control/sites", put_sites)
    app.router.add_get("/__control/requests", get_requests)
    app.router.add_delete("/__control/requests", clear_requests)
    return app


# --- runners ------------------------------------------------------------------------------


class AtlassianFake:
    """Runs the stand-in inside the current event loop (tests)."""

    def __init__(
        self, idp_url: str, sites: list[dict[str, Any]] | None = None, port: int = 0
    ) -> None:
        self.app = create_atlassian_app(idp_url, DEFAULT_SITES if sites is None else sites)
        self.port = port or process.free_port()
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """Stands for https://api.atlassian.com."""
        return f"http://{HOST}:{self.port}"

    @property
    def state(self) -> FakeState:
        return self.app[STATE]

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, HOST, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class AtlassianFakeProcess:
    """Runs the stand-in as a background process (`make run`), via `process.spawn`."""

    def __init__(
        self,
        state_dir: Path,
        port: int,
        idp_url: str,
        sites: list[dict[str, Any]] | None = None,
        name: str = "atlassian",
    ) -> None:
        self.state_dir = state_dir
        self.port = port
        self.idp_url = idp_url
        self.sites = DEFAULT_SITES if sites is None else sites
        self.name = name

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 20.0) -> subprocess.Popen[bytes]:
        if process.port_open(HOST, self.port):
            raise process.StartupError(f"{self.name}: port {self.port} is already in use")
        argv = [
            sys.executable,
            "-m",
            "devinfra.atlassian_fake",
            "--port",
            str(self.port),
            "--idp-url",
            self.idp_url,
            "--sites",
            json.dumps(self.sites),
        ]
        proc = process.spawn(self.name, argv, self.state_dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log = self.state_dir / f"{self.name}.log"
                raise process.StartupError(f"{self.name} exited with {proc.returncode}; see {log}")
            if process.port_open(HOST, self.port):
                return proc
            time.sleep(0.1)
        self.stop()
        raise process.StartupError(f"{self.name} did not listen on port {self.port}")

    def stop(self) -> bool:
        return process.stop(self.name, self.state_dir)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=int(os.environ.get("ATLASSIAN_FAKE_PORT", "0")))
    parser.add_argument("--host", default=os.environ.get("ATLASSIAN_FAKE_HOST", HOST))
    parser.add_argument("--idp-url", default=os.environ.get("ATLASSIAN_FAKE_IDP_URL"))
    parser.add_argument("--sites", default=os.environ.get("ATLASSIAN_FAKE_SITES"))
    args = parser.parse_args(argv)
    if not args.port or not args.idp_url:
        parser.error("--port and --idp-url (or their ATLASSIAN_FAKE_* variables) are required")
    sites = json.loads(args.sites) if args.sites else DEFAULT_SITES
    app = create_atlassian_app(args.idp_url, sites)
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        access_log=None,
        print=lambda _: print(f"atlassian fake on http://{args.host}:{args.port}", flush=True),
    )


if __name__ == "__main__":
    main()
