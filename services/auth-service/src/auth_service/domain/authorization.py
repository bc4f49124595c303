"""Authorizations: one browser dance from link to credential, and its rules.

Status moves pending → (site_selection_required →) completed | failed | expired; a pending link
nobody clicked in time reads as expired. The link, the OAuth state, the site picker's selection
and the browser cookie are separate capabilities, stored only as hashes (domain.secrets). Each
capability is consumed by one transition, and storage compares-and-sets on `version`, so two
requests presenting the same capability can never both get past it. Transitions that end the
dance return the event they raise and erase what it held (PKCE verifier, tokens awaiting a
site choice). Site binding never guesses: one site binds, several bind only the one matching a
hint, otherwise the user picks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from auth_service.domain.credential import TokenSet
from auth_service.domain.secrets import Secret
from platform_core.contract_types import (
    AppSubject,
    ErrorInfo,
    ProfileRef,
    SiteResource,
    Subject,
    UserSubject,
)
from platform_core.domain import Transition
from platform_core.events import (
    AuthorizationCompleted,
    AuthorizationFailed,
    AuthorizationLinkIssued,
    EventData,
)

AuthorizationStatus = Literal[
    "pending", "site_selection_required", "completed", "failed", "expired"
]
OPEN_STATUSES = ("pending", "site_selection_required")


class NoSites(ValueError):
    """The token reaches no site: nothing to bind the credential to."""


@dataclass(frozen=True)
class Site:
    cloud_id: str
    name: str
    url: str


class Authorization(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    authorization_id: str
    app_id: str
    integration: str
    profile: ProfileRef
    subject: Subject
    return_url: str | None = None
    site_hint: str | None = None
    app_name: str | None = None
    status: AuthorizationStatus = "pending"
    link_hash: str
    expires_at: datetime
    sweep_at: datetime
    clicked_at: datetime | None = None
    state_hash: str | None = None
    state_used: bool = False
    state_used_at: datetime | None = None
    state_expires_at: datetime | None = None
    browser_hash: str | None = None
    code_verifier: Secret | None = None
    selection_hash: str | None = None
    selection_used_hash: str | None = None
    selection_expires_at: datetime | None = None
    sites: tuple[Site, ...] = ()
    pending_tokens: TokenSet | None = None
    credential_id: str | None = None
    error: ErrorInfo | None = None
    created_at: datetime
    completed_at: datetime | None = None
    failed_at: datetime | None = None
    version: int = 1

    # --- questions ---------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def effective_status(self, now: datetime) -> AuthorizationStatus:
        """A pending link nobody clicked in time is expired, whatever the stored status says."""
        if self.status == "pending" and self.clicked_at is None and now >= self.expires_at:
            return "expired"
        return self.status

    def link_usable(self, now: datetime) -> bool:
        return self.status == "pending" and self.clicked_at is None and now < self.expires_at

    # --- transitions -------------------------------------------------------------------------

    @classmethod
    def issue(
        cls,
        *,
        authorization_id: str,
        app_id: str,
        integration: str,
        profile: ProfileRef,
        subject: Subject,
        link_hash: str,
        link: str,
        ttl_seconds: int,
        return_url: str | None,
        site_hint: str | None,
        app_name: str | None,
        now: datetime,
    ) -> Transition[Authorization]:
        expires_at = now + timedelta(seconds=ttl_seconds)
        issued = cls(
            authorization_id=authorization_id,
            app_id=app_id,
            integration=integration,
            profile=profile,
            subject=subject,
            return_url=return_url,
            site_hint=site_hint,
            app_name=app_name,
            link_hash=link_hash,
            expires_at=expires_at,
            sweep_at=expires_at,
            created_at=now,
        )
        events: tuple[EventData, ...] = ()
        if isinstance(subject, UserSubject):
            events = (
                AuthorizationLinkIssued(
                    app_id=app_id,
                    integration=integration,
                    user_id=subject.user_id,
                    link=link,
                    expires_at=expires_at,
                ),
            )
        return Transition("issued", issued, issued, events)

    def click(
        self,
        *,
        state_hash: str,
        code_verifier: Secret | None,
        browser_hash: str,
        state_ttl_seconds: int,
        now: datetime,
    ) -> Transition[Authorization]:
        """The person continued from the link: the link is spent, the OAuth state is born."""
        state_expires = now + timedelta(seconds=state_ttl_seconds)
        after = self._next(
            clicked_at=now,
            state_hash=state_hash,
            state_used=False,
            state_expires_at=state_expires,
            sweep_at=state_expires,
            browser_hash=browser_hash,
            code_verifier=code_verifier,
        )
        return Transition("clicked", self, after)

    def consume_state(self, now: datetime) -> Transition[Authorization]:
        """The first callback presenting the state consumes it, whatever happens next."""
        return Transition("state_consumed", self, self._next(state_used=True, state_used_at=now))

    def ask_for_site(
        self,
        sites: list[Site],
        tokens: TokenSet,
        *,
        selection_hash: str,
        ttl_seconds: int,
        now: datetime,
    ) -> Transition[Authorization]:
        expires = now + timedelta(seconds=ttl_seconds)
        after = self._next(
            status="site_selection_required",
            selection_hash=selection_hash,
            selection_expires_at=expires,
            sweep_at=expires,
            sites=tuple(sites),
            pending_tokens=tokens,
            code_verifier=None,
        )
        return Transition("site_selection_required", self, after)

    def consume_selection(self) -> Transition[Authorization]:
        after = self._next(selection_hash=None, selection_used_hash=self.selection_hash)
        return Transition("selection_consumed", self, after)

    def complete(
        self,
        *,
        credential_id: str,
        scopes: tuple[str, ...],
        resource: SiteResource | None,
        now: datetime,
    ) -> Transition[Authorization]:
        after = self._next(
            status="completed", credential_id=credential_id, completed_at=now, **_ERASED
        )
        event = AuthorizationCompleted(
            authorization_id=self.authorization_id,
            app_id=self.app_id,
            integration=self.integration,
            subject=self.subject,
            credential_id=credential_id,
            profile=self.profile,
            scopes=list(scopes),
            resource=resource,
        )
        return Transition("completed", self, after, (event,))

    def fail(self, code: str, description: str, now: datetime) -> Transition[Authorization]:
        """End an open dance (once) as failed; `code` is one of this service's stable codes."""
        if not self.is_open:
            return Transition.unchanged("already_ended", self)
        after = self._next(
            status="failed",
            error=ErrorInfo(code=code, description=description),
            failed_at=now,
            **_ERASED,
        )
        return Transition("failed", self, after, (self._failed(code, description),))

    def expire(self, now: datetime) -> Transition[Authorization]:
        """A link nobody clicked before it expired."""
        if self.status != "pending" or self.clicked_at is not None:
            return Transition.unchanged("not_an_unclicked_link", self)
        description = "The authorization link expired before it was used."
        after = self._next(
            status="expired", error=ErrorInfo(code="expired", description=None), failed_at=now
        )
        return Transition("expired", self, after, (self._failed("expired", description),))

    def _failed(self, code: str, description: str) -> AuthorizationFailed:
        return AuthorizationFailed(
            authorization_id=self.authorization_id,
            app_id=self.app_id,
            integration=self.integration,
            subject=self.subject,
            error=code,
            error_description=description,
        )

    def _next(self, **changes: Any) -> Authorization:
        return self.model_copy(update={**changes, "version": self.version + 1})


_ERASED: dict[str, Any] = {"code_verifier": None, "pending_tokens": None}


def link_ttl_seconds(
    subject: Subject, requested: int | None, *, admin_default: int, user_default: int, maximum: int
) -> int:
    default = admin_default if isinstance(subject, AppSubject) else user_default
    return min(requested or default, maximum)


def _normalise(url: str) -> str:
    parts = urlsplit(url if "://" in url else f"https://{url}")
    return (parts.hostname or "").lower()


def bind_site(sites: list[Site], hint: str | None) -> Site | None:
    """The site to bind, or None when the user must choose. Never the first of several."""
    if not sites:
        raise NoSites("the authorization reaches no site")
    if len(sites) == 1:
        return sites[0]
    if hint:
        wanted = _normalise(hint)
        matches = [s for s in sites if s.cloud_id == hint or _normalise(s.url) == wanted]
        if len(matches) == 1:
            return matches[0]
    return None
