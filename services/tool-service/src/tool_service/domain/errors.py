"""tool-service's refusals of an HTTP request to `/mcp` (contract §3 "Tools", §0), rendered as
RFC 9457 problem details with the Bearer challenge RFC 6750 §3 defines.

The challenge always names the RFC 9728 metadata (`resource_metadata`, RFC 9728 §5.1) and the
scope to ask for (`scope`, RFC 6750 §3; the MCP authorization specification's scope selection),
so a client that holds no token, or the wrong one, learns where to get the right one.
A request without credentials gets no `error` code (RFC 6750 §3.1: the server SHOULD NOT
include one); a bad token `invalid_token` (401); a token that may not do this `insufficient_scope`
(403).
"""

from __future__ import annotations

from typing import ClassVar

from platform_core.errors import ProblemError

__all__ = [
    "AccessRefused",
    "InsufficientAccess",
    "InvalidToken",
    "NoToken",
    "bearer_challenge",
]


def _quoted(value: str) -> str:
    """An RFC 9110 quoted-string of our own text (no quote or backslash ever reaches it)."""
    return '"' + value.replace("\\", "").replace('"', "'") + '"'


def bearer_challenge(
    *,
    resource_metadata: str,
    scope: str,
    error: str | None = None,
    description: str | None = None,
) -> str:
    params = []
    if error is not None:
        params.append(f"error={_quoted(error)}")
        if description is not None:
            params.append(f"error_description={_quoted(description)}")
    params.append(f"scope={_quoted(scope)}")
    params.append(f"resource_metadata={_quoted(resource_metadata)}")
    return "Bearer " + ", ".join(params)


class AccessRefused(ProblemError):
    """A request to `/mcp` that may not go on; `challenge` is its WWW-Authenticate value."""

    bearer_error: ClassVar[str | None] = None

    def challenge(self, *, resource_metadata: str, scope: str) -> str:
        return bearer_challenge(
            resource_metadata=resource_metadata,
            scope=scope,
            error=self.bearer_error,
            description=self.detail if self.bearer_error else None,
        )


class NoToken(AccessRefused):
    status = 401
    code = "unauthenticated"
    title = "Unauthenticated"


class InvalidToken(AccessRefused):
    status = 401
    code = "unauthenticated"
    title = "Unauthenticated"
    bearer_error = "invalid_token"


class InsufficientAccess(AccessRefused):
    status = 403
    code = "forbidden"
    title = "Forbidden"
    bearer_error = "insufficient_scope"
