"""`GET /oauth/token/accessible-resources`: the sites a token may reach, with its scopes there."""

from __future__ import annotations

from aiohttp import web

from devinfra.atlassian.gateway import caller_of
from devinfra.atlassian.operations import KNOWN_SCOPES
from devinfra.atlassian.state import STATE


async def accessible_resources(request: web.Request) -> web.Response:
    granted = sorted(caller_of(request).scopes & KNOWN_SCOPES)
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
