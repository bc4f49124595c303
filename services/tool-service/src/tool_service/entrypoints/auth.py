"""The bearer check in front of `/mcp`: every HTTP request (POST, the GET stream, DELETE) carries
a token that `domain.access.admit` admits, or is answered 401/403 with the RFC 9728 pointer
(MCP authorization specification; RFC 6750 §3; RFC 9728 §5.1).

An admitted request carries its caller on to the MCP layer in the ASGI scope (`caller_of`), and
as Starlette's authenticated user, which the SDK's session manager binds a stateful session to:
a session opened for one app and end user answers 404 to a token for any other (the SDK's own
rule, fed with `McpCaller.principal`). The token itself goes no further: tool-service mints its
own for every call it makes.
"""

from __future__ import annotations

from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.authentication import AuthCredentials
from starlette.types import ASGIApp, Receive, Scope, Send

from platform_core.errors import PROBLEM_CONTENT_TYPE
from platform_core.logs import get_logger
from tool_service.domain.access import REQUIRED_SCOPE, McpCaller, admit
from tool_service.domain.errors import AccessRefused

log = get_logger("tool_service.auth")

CALLER_SCOPE_KEY = "tool_service.caller"


class BearerGate:
    def __init__(self, app: ASGIApp, *, jwt_secret: str, resource_metadata_url: str) -> None:
        self._app = app
        self._secret = jwt_secret
        self._metadata_url = resource_metadata_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        try:
            caller = admit(_authorization(scope), self._secret)
        except AccessRefused as refused:
            log.info("mcp_request_refused", status=refused.status, reason=refused.detail)
            await self._refuse(refused, send)
            return
        scope[CALLER_SCOPE_KEY] = caller
        scope["user"] = AuthenticatedUser(
            AccessToken(
                # Nothing downstream reads the token, and a copy is one more place to leak it.
                token="",
                client_id=caller.subject,
                scopes=sorted(caller.scopes),
                subject=caller.principal,
            )
        )
        scope["auth"] = AuthCredentials(sorted(caller.scopes))
        await self._app(scope, receive, send)

    async def _refuse(self, refused: AccessRefused, send: Send) -> None:
        body = refused.to_json().encode()
        challenge = refused.challenge(
            resource_metadata=self._metadata_url, scope=REQUIRED_SCOPE.value
        )
        await send(
            {
                "type": "http.response.start",
                "status": refused.status,
                "headers": [
                    (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", challenge.encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def caller_of(scope: Any) -> McpCaller | None:
    caller = scope.get(CALLER_SCOPE_KEY) if isinstance(scope, dict) else None
    return caller if isinstance(caller, McpCaller) else None


def _authorization(scope: Scope) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == b"authorization":
            return bytes(value).decode("latin-1")
    return None
