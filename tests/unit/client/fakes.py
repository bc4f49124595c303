"""A small aiohttp server standing in for the three services, for the client's unit tests.

One server serves all three under path prefixes (`/auth`, `/integration`, `/template`), which
also shows that base URLs with a path keep it. Each test scripts the answers it needs with
`reply(method, path, ...)` (served in order, the last one repeated) and reads back what the
client sent from `requests`. Sample bodies are the contract's shapes, as the services send them.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from integrations_client import ServiceUrls

SECRET = "client-unit-test-secret-of-32-bytes-or-more"
NOW = "2026-11-29T10:00:00Z"


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay: float = 0.0


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    raw_path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class FakeServices:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._replies: dict[tuple[str, str], list[Reply]] = {}
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._handle)
        self.base_url = ""

    def urls(self) -> ServiceUrls:
        return ServiceUrls(
            auth=f"{self.base_url}/auth",
            integration=f"{self.base_url}/integration/",
            template=f"{self.base_url}/template",
        )

    def reply(
        self,
        method: str,
        path: str,
        status: int = 200,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        delay: float = 0.0,
    ) -> None:
        if content_type is None:
            content_type = "application/problem+json" if status >= 400 else "application/json"
        self._replies.setdefault((method, path), []).append(
            Reply(status, body, headers or {}, content_type, delay)
        )

    def problem(self, method: str, path: str, status: int, code: str, **extra: Any) -> None:
        body = {
            "type": f"urn:problem:{code}",
            "title": code.replace("_", " ").title(),
            "status": status,
            "detail": extra.pop("detail", f"because {code}"),
            "code": code,
            **extra,
        }
        self.reply(method, path, status, body)

    def sent(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if (r.method, r.path) == (method, path)]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                request.raw_path,
                dict(request.query),
                dict(request.headers),
                json.loads(raw) if raw else None,
            )
        )
        queued = self._replies.get((request.method, request.path))
        if not queued:
            return web.json_response(
                {
                    "status": 404,
                    "code": "not_found",
                    "detail": f"nothing scripted at {request.path}",
                },
                status=404,
                content_type="application/problem+json",
            )
        reply = queued.pop(0) if len(queued) > 1 else queued[0]
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status == 204:
            return web.Response(status=204)
        text = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
        return web.Response(
            status=reply.status,
            text=text,
            content_type=reply.content_type,
            headers=dict(reply.headers),
        )


def closed_port() -> int:
    """A local port nothing listens on: connecting to it fails at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def page(*items: Any, next_cursor: str | None = None) -> dict[str, Any]:
    return {"items": list(items), "next_cursor": next_cursor}


APP = {
    "app_id": "app-1",
    "name": "Support bot",
    "edition": "developer",
    "created_at": NOW,
    "updated_at": NOW,
}
CATALOG_ENTRY = {
    "integration": "confluence",
    "display_name": "Confluence",
    "category": "actions",
    "authorization_types": ["pre_authorize", "user_authorize"],
    "default_scopes": ["read:page:confluence", "offline_access"],
    "editions": ["developer", "enterprise"],
}
INTEGRATION = {
    "integration": "confluence",
    "display_name": "Confluence",
    "state": "configured",
    "authorization": {"type": "user_authorize", "profile": {"kind": "system"}},
    "connection": {"status": "per_user", "pending_authorization_id": None, "last_error": None},
    "first_configured_at": NOW,
    "updated_at": NOW,
    "version": 3,
    "configurable": True,
    "configurable_reason": None,
}
PENDING = {
    **INTEGRATION,
    "state": "available",
    "authorization": {
        "type": "pre_authorize",
        "profile": {"kind": "system"},
        "authorization_id": "authz-1",
        "authorization_url": "http://auth.example/connect/opaque",
        "expires_at": NOW,
    },
    "connection": {"status": "pending", "pending_authorization_id": "authz-1", "last_error": None},
}
USER_LINK = {"link": "http://auth.example/connect/user-link", "expires_at": NOW}
SYSTEM_PROFILE = {
    "profile_id": "system:confluence",
    "integration": "confluence",
    "idp_name": "Atlassian",
    "scopes": ["read:page:confluence"],
    "callback_url": "http://auth.example/oauth/callback",
    "available": True,
}
PROFILE = {
    "profile_id": "prof-1",
    "app_id": "app-1",
    "name": "Team app",
    "integration": "confluence",
    "type": "oauth2",
    "idp_name": "Atlassian",
    "client_id": "client-1",
    "client_secret_set": True,
    "authorization_url": "https://auth.atlassian.com/authorize",
    "token_url": "https://auth.atlassian.com/oauth/token",
    "refresh_url": "https://auth.atlassian.com/oauth/token",
    "scopes": ["write:confluence-content", "offline_access"],
    "callback_url": "http://auth.example/oauth/callback",
    "created_at": NOW,
    "updated_at": NOW,
}
STARTED = {
    "authorization_id": "authz-1",
    "authorization_url": "http://auth.example/connect/opaque",
    "expires_at": NOW,
    "status": "pending",
}
AUTHORIZATION = {
    "authorization_id": "authz-1",
    "app_id": "app-1",
    "status": "completed",
    "expires_at": NOW,
    "credential_id": "cred-1",
    "error": None,
}
SITE = {"cloud_id": "cloud-1", "site_url": "https://acme.atlassian.net"}
CREDENTIAL = {
    "credential_id": "cred-1",
    "integration": "confluence",
    "subject": {"type": "user", "user_id": "u-1"},
    "status": "active",
    "scopes": ["read:page:confluence"],
    "resource": SITE,
    "expires_at": NOW,
    "last_refreshed_at": None,
    "created_at": NOW,
}
ACCESS_TOKEN_VALUE = "provider-access-token-never-shown"
ACCESS_TOKEN = {
    "access_token": ACCESS_TOKEN_VALUE,
    "token_type": "Bearer",
    "expires_at": NOW,
    "scopes": ["read:page:confluence"],
    "credential_id": "cred-1",
    "resource": {**SITE, "api_base_url": "https://api.atlassian.com/ex/confluence/cloud-1"},
}
TEMPLATE = {
    "template_id": "confluence.create_content",
    "integration": "confluence",
    "name": "Create Content",
    "description": "Create a page or a blog post",
    "version": "2.0.0",
    "required_scopes": ["write:page:confluence"],
    "inputs": [{"name": "spaceKey", "type": "string", "prompt": "Which space?", "required": True}],
    "blueprint": {
        "name": "createContent",
        "nodes": [
            {"name": "intent", "type": "intent", "utterances": ["create a page"]},
            {"name": "createContentMessage", "type": "message", "text": "Done"},
        ],
        "transitions": [{"from": "intent", "to": "createContentMessage"}],
    },
}
APP_TEMPLATE = {
    **TEMPLATE,
    "installable": True,
    "installed": False,
    "installation_id": None,
    "dialog_task_id": None,
    "missing_scopes": [],
}
INSTALLATION = {
    "installation_id": "inst-1",
    "template_id": "confluence.create_content",
    "template_version": "2.0.0",
    "dialog_task_id": "task-1",
    "installed_at": NOW,
}
DIALOG_TASK = {
    "dialog_task_id": "task-1",
    "app_id": "app-1",
    "name": "createContent",
    "source": {"template_id": "confluence.create_content", "template_version": "2.0.0"},
    "status": "active",
    "nodes": [
        {"id": "n1", "name": "intent", "type": "intent", "utterances": ["create a page"]},
        {
            "id": "n2",
            "name": "createContentService",
            "type": "service",
            "method": "POST",
            "url": "{{connection.api_base_url}}/wiki/api/v2/pages",
            "query": {},
            "headers": {},
            "body": {"title": "{{context.entities.contentTitle}}"},
            "auth": {"integration": "confluence", "authorization_type": "pre_authorize"},
        },
    ],
    "transitions": [{"from": "n1", "to": "n2"}],
    "created_at": NOW,
}
RUN = {
    "run_id": "run-1",
    "dialog_task_id": "task-1",
    "app_id": "app-1",
    "status": "authorization_required",
    "messages": [],
    "steps": [
        {
            "node": "createContentService",
            "type": "service",
            "status": "skipped",
            "http_status": None,
            "attempts": 0,
            "duration_ms": 0,
            "error": None,
        }
    ],
    "outputs": {},
    "authorization": {"link": "http://auth.example/connect/u", "expires_at": NOW},
    "started_at": NOW,
    "finished_at": NOW,
}
MCP_TOOL = {
    "name": "confluence_create_content",
    "title": "Create Content",
    "description": "Create a page or a blog post",
    "inputSchema": {"type": "object", "properties": {}, "required": []},
    "annotations": {
        "readOnlyHint": False,
        "destructiveHint": False,
        "idempotentHint": False,
        "openWorldHint": True,
    },
    "_meta": {"dialog_task_id": "task-1", "integration": "confluence"},
}
OPENAI_TOOL = {
    "type": "function",
    "function": {
        "name": "confluence_create_content",
        "description": "Create a page or a blog post",
        "parameters": {"type": "object", "properties": {}},
    },
}
ANTHROPIC_TOOL = {
    "name": "confluence_create_content",
    "description": "Create a page or a blog post",
    "input_schema": {"type": "object", "properties": {}},
}
