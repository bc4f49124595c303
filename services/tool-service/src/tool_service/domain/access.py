"""Who may call `/mcp` (contract §3 "Tools"): the bearer token rules, pure.

A request carries `Authorization: Bearer <JWT>` (RFC 6750 §2.1; the header only, never a query
or form parameter, as the MCP authorization specification requires). The token is the platform's
HS256 JWT (contract §0) and, for tool-service, must also:

- name tool-service in `aud`. The platform's other services accept a token without `aud`;
  tool-service does not, because the MCP authorization specification requires a resource
  server to accept only tokens issued for it (RFC 8707 audience), and the contract says `aud`
  *including* tool-service;
- carry the scope `actions:run`;
- hold exactly one entry in `app_ids`: the app whose tools the agent sees, so one token can
  never list or run another app's tools;
- optionally carry `user_id`, the end user the agent acts for.

What a caller is, once admitted, is `McpCaller`; its `principal` is what a stateful MCP session
is bound to, so a session opened for one app and user cannot be continued with a token for
another.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import jwt

from platform_core.errors import Unauthenticated
from platform_core.service_auth import ALGORITHM, CLOCK_LEEWAY_SECONDS, Scope, verify_token
from tool_service.domain.errors import InsufficientAccess, InvalidToken, NoToken

AUDIENCE = "tool-service"
REQUIRED_SCOPE = Scope.RUN_ACTIONS


@dataclass(frozen=True)
class McpCaller:
    """An admitted caller: the platform service (`subject`), its one app, maybe an end user."""

    subject: str
    app_id: str
    user_id: str | None
    scopes: frozenset[str]

    @property
    def principal(self) -> str:
        """The app and user a session belongs to, as one opaque string."""
        return json.dumps([self.app_id, self.user_id])


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization` header value, or NoToken."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NoToken("Send Authorization: Bearer <token>")
    return token.strip()


def admit(authorization: str | None, secret: str) -> McpCaller:
    """The caller of a request, or the refusal (NoToken, InvalidToken, InsufficientAccess)."""
    token = bearer_token(authorization)
    try:
        caller = verify_token(token, secret, audience=AUDIENCE)
    except Unauthenticated as exc:
        raise InvalidToken(exc.detail) from None
    _require_named_audience(token, secret)
    if REQUIRED_SCOPE.value not in caller.scopes:
        raise InsufficientAccess(f"This endpoint needs the scope {REQUIRED_SCOPE.value}")
    if caller.app_ids is None or len(caller.app_ids) != 1:
        raise InsufficientAccess("The token must name exactly one app in app_ids")
    (app_id,) = caller.app_ids
    return McpCaller(
        subject=caller.subject, app_id=app_id, user_id=caller.user_id, scopes=caller.scopes
    )


def _require_named_audience(token: str, secret: str) -> None:
    """`verify_token` lets a token without `aud` through (contract §0); tool-service does not."""
    try:
        jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["aud", "exp", "sub"]},
            leeway=CLOCK_LEEWAY_SECONDS,
        )
    except jwt.InvalidTokenError:
        raise InvalidToken("The token's aud must name tool-service") from None
