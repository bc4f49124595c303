"""Credentials: one per app + integration + subject, its tokens, and its lifecycle.

Status moves active → reauthorization_required → revoked (a new consent makes any of them active
again, keeping the credential id). Every change bumps `version`, which storage compares-and-sets,
so a refresh that lost a race, or that raced a revocation, never overwrites the winner. Each
transition returns the events it raises. Tokens are `Secret`s: sealed in storage, opened only
when handed out. `needs_refresh` is the whole decision of the access-token call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from auth_service.domain.errors import (
    CredentialNotFound,
    IntegrationDisabled,
    ReauthorizationRequired,
)
from auth_service.domain.secrets import Secret
from platform_core.contract_types import AppSubject, ProfileRef, Subject
from platform_core.domain import Transition
from platform_core.events import (
    CredentialReauthorizationRequired,
    CredentialRefreshed,
    CredentialRevoked,
)

BEARER = "Bearer"

CredentialStatus = Literal["active", "reauthorization_required", "revoked"]


def subject_key(subject: Subject) -> str:
    """A stable string for the unique (app, integration, subject) index."""
    return "app" if isinstance(subject, AppSubject) else f"user:{subject.user_id}"


@dataclass(frozen=True)
class TokenSet:
    """What a token endpoint answered (RFC 6749 §5.1), parsed."""

    access_token: Secret
    refresh_token: Secret | None
    expires_at: datetime | None
    scopes: tuple[str, ...]

    def keeping_refresh_token(self, previous: Secret | None) -> TokenSet:
        """Providers sometimes answer a refresh without a refresh token: keep the old one."""
        if self.refresh_token is not None:
            return self
        return TokenSet(self.access_token, previous, self.expires_at, self.scopes)


@dataclass(frozen=True)
class SiteBinding:
    """The one site (Atlassian cloud id) a credential's calls go to."""

    cloud_id: str
    site_url: str


class Credential(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    credential_id: str
    app_id: str
    integration: str
    subject: Subject
    profile: ProfileRef
    authorization_id: str | None = None
    status: CredentialStatus = "active"
    scopes: tuple[str, ...] = ()
    resource: SiteBinding | None = None
    access_token: Secret | None = None
    refresh_token: Secret | None = None
    expires_at: datetime | None = None
    last_refreshed_at: datetime | None = None
    tokens_obtained_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    revoked_at: datetime | None = None
    # Kept on the credential itself (from integration.disabled / .enabled), so the token fast
    # path learns it from the one read it makes.
    integration_disabled: bool = False
    version: int = 1

    @property
    def subject_key(self) -> str:
        return subject_key(self.subject)

    # --- questions ---------------------------------------------------------------------------

    def require_usable(self) -> Credential:
        if self.status == "revoked":
            raise CredentialNotFound("No credential for this app, integration and subject")
        if self.integration_disabled:
            raise IntegrationDisabled("The app's integration is disabled")
        if self.status == "reauthorization_required":
            raise ReauthorizationRequired("The credential must be authorized again")
        return self

    def needs_refresh(
        self,
        *,
        now: datetime,
        min_valid_seconds: int,
        force_refresh: bool,
        force_window_seconds: float,
    ) -> bool:
        """Refresh when the token expires within `min_valid_seconds`, or on a forced refresh
        unless one already happened in the last `force_window_seconds` (callers retrying the
        same 401)."""
        if force_refresh:
            if self.last_refreshed_at is None:
                return True
            return (now - self.last_refreshed_at).total_seconds() >= force_window_seconds
        if self.expires_at is None:
            return False
        return self.expires_at - now < timedelta(seconds=min_valid_seconds)

    # --- transitions -------------------------------------------------------------------------

    @classmethod
    def consented(
        cls,
        existing: Credential | None,
        *,
        credential_id: str,
        app_id: str,
        integration: str,
        subject: Subject,
        profile: ProfileRef,
        authorization_id: str,
        tokens: TokenSet,
        site: SiteBinding | None,
        integration_disabled: bool,
        now: datetime,
    ) -> Credential:
        """A new consent: one credential per app + integration + subject, so it replaces the
        previous one and keeps its id (consumers that know the id see it active again)."""
        return cls(
            credential_id=existing.credential_id if existing else credential_id,
            app_id=app_id,
            integration=integration,
            subject=subject,
            profile=profile,
            authorization_id=authorization_id,
            status="active",
            scopes=tokens.scopes,
            resource=site,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_at=tokens.expires_at,
            last_refreshed_at=None,
            tokens_obtained_at=now,
            created_at=existing.created_at if existing else now,
            updated_at=now,
            integration_disabled=integration_disabled,
            version=existing.version + 1 if existing else 1,
        )

    def rotate(self, tokens: TokenSet, now: datetime) -> Transition[Credential]:
        kept = tokens.keeping_refresh_token(self.refresh_token)
        after = self._next(
            now,
            access_token=kept.access_token,
            refresh_token=kept.refresh_token,
            expires_at=kept.expires_at,
            scopes=kept.scopes,
            last_refreshed_at=now,
            tokens_obtained_at=now,
        )
        event = CredentialRefreshed(
            credential_id=self.credential_id,
            app_id=self.app_id,
            integration=self.integration,
            subject=self.subject,
            expires_at=kept.expires_at or now,
        )
        return Transition("refreshed", self, after, (event,))

    def require_reauthorization(self, reason: str, now: datetime) -> Transition[Credential]:
        if self.status != "active":
            return Transition.unchanged("already_not_active", self)
        after = self._next(now, status="reauthorization_required")
        event = CredentialReauthorizationRequired(
            credential_id=self.credential_id,
            app_id=self.app_id,
            integration=self.integration,
            subject=self.subject,
            reason=reason,
        )
        return Transition("reauthorization_required", self, after, (event,))

    def revoke(self, reason: str, now: datetime) -> Transition[Credential]:
        """Destroy the tokens (erased from storage, not only flagged)."""
        if self.status == "revoked":
            return Transition.unchanged("already_revoked", self)
        after = self._next(
            now, status="revoked", revoked_at=now, access_token=None, refresh_token=None
        )
        event = CredentialRevoked(
            credential_id=self.credential_id,
            app_id=self.app_id,
            integration=self.integration,
            subject=self.subject,
            reason=reason,
        )
        return Transition("revoked", self, after, (event,))

    def _next(self, now: datetime, **changes: Any) -> Credential:
        return self.model_copy(update={**changes, "updated_at": now, "version": self.version + 1})
