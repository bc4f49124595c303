"""Credentials: one per app + integration + subject, and the rules for when to refresh.

Token values are not held here in clear except transiently in `TokenSet`; storage encrypts
them (adapters.vault). `needs_refresh` is the whole decision of the access-token call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from platform_core.contract_types import AppSubject, Subject, UserSubject

BEARER = "Bearer"

CredentialStatus = Literal["active", "reauthorization_required", "revoked"]


def subject_key(subject: Subject) -> str:
    """A stable string for the unique (app, integration, subject) index."""
    return "app" if isinstance(subject, AppSubject) else f"user:{subject.user_id}"


def subject_from(raw: dict[str, Any]) -> Subject:
    if raw.get("type") == "user":
        return UserSubject(user_id=str(raw["user_id"]))
    return AppSubject()


@dataclass(frozen=True)
class TokenSet:
    """What a token endpoint answered (RFC 6749 §5.1), parsed."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scopes: tuple[str, ...]
    token_type: str = BEARER

    def __repr__(self) -> str:  # never print a token, not even in a traceback
        return f"TokenSet(expires_at={self.expires_at!r}, scopes={self.scopes!r})"

    def keeping_refresh_token(self, previous: str | None) -> TokenSet:
        """Atlassian sometimes answers a refresh without a refresh token: keep the old one."""
        if self.refresh_token:
            return self
        return TokenSet(self.access_token, previous, self.expires_at, self.scopes, self.token_type)


def parse_token_response(
    body: dict[str, Any], now: datetime, requested: tuple[str, ...]
) -> TokenSet:
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise ValueError("the token response has no access_token")
    refresh = body.get("refresh_token")
    expires_in = body.get("expires_in")
    expires_at = None
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
        expires_at = now + timedelta(seconds=float(expires_in))
    scope = body.get("scope")
    scopes = tuple(scope.split()) if isinstance(scope, str) and scope.strip() else requested
    return TokenSet(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expires_at=expires_at,
        scopes=scopes,
        token_type=str(body.get("token_type") or BEARER),
    )


def needs_refresh(
    *,
    expires_at: datetime | None,
    last_refreshed_at: datetime | None,
    now: datetime,
    min_valid_seconds: int,
    force_refresh: bool,
    force_window_seconds: float,
) -> bool:
    """Refresh when the token expires within `min_valid_seconds`, or on a forced refresh unless
    one already happened in the last `force_window_seconds` (callers retrying the same 401)."""
    if force_refresh:
        if last_refreshed_at is None:
            return True
        return (now - last_refreshed_at).total_seconds() >= force_window_seconds
    if expires_at is None:
        return False
    return expires_at - now < timedelta(seconds=min_valid_seconds)
