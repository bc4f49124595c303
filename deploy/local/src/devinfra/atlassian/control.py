"""Test control routes (JSON, under `/__control`), never behind the gateway.

`PUT /__control/sites` replaces the site list; `GET`/`DELETE /__control/requests` reads or
clears the request log; `POST /__control/rate-limit {"count", "retry_after"?, "status"?}` makes
the next `count` API calls answer 429 (or 503); `POST /__control/refused-tokens
{"access_token"}` makes the API refuse that token from then on while the identity provider still
calls it active; `DELETE` on either resets it; `GET /__control/content[?site=cloudId]` lists what
was created per site.
"""

from __future__ import annotations

import json
from typing import Any, TypeGuard

from aiohttp import web

from devinfra.atlassian.confluence_v1 import webui
from devinfra.atlassian.state import STATE, Content, Issue, RateLimit, Site


async def _json(request: web.Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise web.HTTPBadRequest(text="expected a JSON body") from exc


async def put_sites(request: web.Request) -> web.Response:
    body = await _json(request)
    sites = body.get("sites") if isinstance(body, dict) else body
    if not isinstance(sites, list):
        raise web.HTTPBadRequest(text='expected a JSON list of sites (or {"sites": [...]})')
    try:
        request.app[STATE].replace_sites(sites)
    except (ValueError, AttributeError, TypeError, KeyError) as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    return web.json_response([site.info for site in request.app[STATE].sites.values()])


async def get_requests(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].requests)


async def clear_requests(request: web.Request) -> web.Response:
    request.app[STATE].requests.clear()
    return web.json_response([])


def _whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


async def set_rate_limit(request: web.Request) -> web.Response:
    body = await _json(request)
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="expected {count, retry_after?, status?}")
    count, retry_after = body.get("count"), body.get("retry_after")
    status = body.get("status", 429)
    if not _whole(count) or status not in (429, 503):
        raise web.HTTPBadRequest(text="count must be an integer >= 0 and status 429 or 503")
    if retry_after is not None and not _whole(retry_after):
        raise web.HTTPBadRequest(text="retry_after must be an integer >= 0 (seconds)")
    request.app[STATE].faults.rate_limit = RateLimit(count, status, retry_after)
    return web.json_response({"count": count, "status": status, "retry_after": retry_after})


async def clear_rate_limit(request: web.Request) -> web.Response:
    request.app[STATE].faults.rate_limit = None
    return web.json_response({"count": 0})


async def refuse_token(request: web.Request) -> web.Response:
    body = await _json(request)
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise web.HTTPBadRequest(text="expected {access_token}")
    state = request.app[STATE]
    state.refuse(token)
    return web.json_response({"refused": len(state.faults.refused_tokens)})


async def clear_refused_tokens(request: web.Request) -> web.Response:
    request.app[STATE].faults.refused_tokens.clear()
    return web.json_response({"refused": 0})


def _content_entry(site: Site, content: Content) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": content.id,
        "status": content.status,
        "title": content.title,
        "spaceKey": content.space_key,
        "spaceId": site.spaces[content.space_key].id,
        "body": content.body,
        "representation": content.representation,
        "version": content.version,
        "authorId": content.author,
        "webui": f"{site.wiki}{webui(site, content)}",
    }
    if content.type == "page":
        entry["parentId"] = content.parent_id
    if content.type == "comment":
        entry["containerId"] = content.container_id
        entry["parentCommentId"] = content.parent_comment_id
    return entry


def _issue_entry(site: Site, issue: Issue) -> dict[str, Any]:
    return {
        "id": issue.id,
        "key": issue.key,
        "project": issue.project_key,
        "issuetype": issue.issue_type.name,
        "summary": issue.summary,
        "description": issue.description,
        "reporter": issue.reporter,
        "webui": f"{site.url}/browse/{issue.key}",
        "comments": [{"id": c.id, "author": c.author, "body": c.body} for c in issue.comments],
    }


def site_content(site: Site) -> dict[str, Any]:
    listed: dict[str, Any] = {"pages": [], "blogposts": [], "comments": []}
    for content in site.contents.values():
        listed[f"{content.type}s"].append(_content_entry(site, content))
    listed["issues"] = [_issue_entry(site, issue) for issue in site.issues.values()]
    return listed


async def get_content(request: web.Request) -> web.Response:
    sites = request.app[STATE].sites
    wanted = request.query.get("site")
    if wanted is not None:
        if wanted not in sites:
            raise web.HTTPNotFound(text=f"no site {wanted}")
        return web.json_response(site_content(sites[wanted]))
    return web.json_response({cloud_id: site_content(site) for cloud_id, site in sites.items()})


def add_control_routes(app: web.Application) -> None:
    app.router.add_put("/__control/sites", put_sites)
    app.router.add_get("/__control/requests", get_requests)
    app.router.add_delete("/__control/requests", clear_requests)
    app.router.add_post("/__control/rate-limit", set_rate_limit)
    app.router.add_delete("/__control/rate-limit", clear_rate_limit)
    app.router.add_post("/__control/refused-tokens", refuse_token)
    app.router.add_delete("/__control/refused-tokens", clear_refused_tokens)
    app.router.add_get("/__control/content", get_content)
