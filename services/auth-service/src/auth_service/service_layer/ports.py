"""What auth-service's service layer needs from the outside, as protocols the adapters (and the
unit tests' fakes) meet.

A unit of work hands out `Repositories` bound to its transaction (`reads()` hands out the same
outside any transaction). Repositories seal secrets on the way in and hand back sealed
`Secret`s on the way out; every `save` is a compare-and-set on the object's version, raising
`VersionConflict` when someone else wrote first. The identity provider, the post-connection
hooks, the refresh lease and the judgement of where a provider URL's host resolves are ports
too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from auth_service.domain.authorization import Authorization, Site
from auth_service.domain.credential import Credential, TokenSet
from auth_service.domain.profiles import CustomProfile, OAuthClient
from auth_service.domain.providers import Provider
from auth_service.domain.secrets import Secret
from platform_core.api import PageQuery
from platform_core.contract_types import Subject
from platform_core.paging import Page
from platform_core.unit_of_work import Transaction, TransactionRunner

Clock = Callable[[], datetime]


class CredentialStore(Protocol):
    async def recent_for_subject(
        self, app_id: str, integration: str, subject: Subject
    ) -> Credential | None:
        """The token fast path: possibly from this replica's cache, so up to its staleness
        bound old, and only ever a usable credential from there; nothing opened. None is never
        cached: it means the database had nothing when asked for this call."""

    async def for_subject(
        self, app_id: str, integration: str, subject: Subject
    ) -> Credential | None:
        """The subject's credential as stored now: one indexed read, nothing opened."""

    async def get(self, credential_id: str) -> Credential | None: ...

    async def save(self, credential: Credential) -> None:
        """Insert version 1, else compare-and-set on the previous version."""

    async def page(
        self, app_id: str, *, integration: str | None, user_id: str | None, query: PageQuery
    ) -> Page[Credential]: ...

    async def live(
        self, app_id: str, integration: str, subject_key: str | None = None
    ) -> list[Credential]:
        """The credentials not revoked, of one app's integration (and one subject)."""

    async def idle_since(self, cutoff: datetime, integrations: list[str], limit: int) -> list[str]:
        """Ids of active credentials whose tokens were last obtained before `cutoff`."""

    async def issued_through(self, profile_id: str) -> bool:
        """Whether a credential not revoked was issued through that custom profile."""

    async def set_integration_disabled(self, app_id: str, integration: str, disabled: bool) -> None:
        """Flag every credential of the app's integration (bumping each one's version)."""


class AuthorizationStore(Protocol):
    async def add(self, authorization: Authorization) -> None: ...

    async def get(self, authorization_id: str) -> Authorization | None: ...

    async def by_link(self, link_hash: str) -> Authorization | None: ...

    async def by_state(self, state_hash: str) -> Authorization | None: ...

    async def by_selection(self, selection_hash: str) -> Authorization | None: ...

    async def save(self, authorization: Authorization) -> None:
        """Compare-and-set on the previous version."""

    async def due_for_sweep(self, now: datetime, limit: int) -> list[Authorization]: ...

    async def open_count(self, app_id: str, now: datetime) -> int: ...


class ProfileStore(Protocol):
    async def add(self, profile: CustomProfile) -> None: ...

    async def get(self, app_id: str, profile_id: str) -> CustomProfile | None:
        """A live (not deleted) profile of the app."""

    async def page(self, app_id: str, query: PageQuery) -> Page[CustomProfile]: ...

    async def save(self, profile: CustomProfile) -> None: ...


class ProfileUsageStore(Protocol):
    """Which custom profile each configured (app, integration) uses, learnt from events."""

    async def record(self, app_id: str, integration: str, profile_id: str | None) -> None: ...

    async def forget(self, app_id: str, integration: str) -> None: ...

    async def in_use(self, profile_id: str) -> bool: ...


class DisabledIntegrationStore(Protocol):
    """Which (app, integration) pairs integration-service has disabled, learnt from events."""

    async def set_disabled(self, app_id: str, integration: str, disabled: bool) -> None: ...

    async def is_disabled(self, app_id: str, integration: str) -> bool: ...


class Repositories(Protocol):
    @property
    def credentials(self) -> CredentialStore: ...

    @property
    def authorizations(self) -> AuthorizationStore: ...

    @property
    def profiles(self) -> ProfileStore: ...

    @property
    def usage(self) -> ProfileUsageStore: ...

    @property
    def disabled(self) -> DisabledIntegrationStore: ...


Tx = Transaction[Repositories]
Units = TransactionRunner[Repositories]


class IdentityProvider(Protocol):
    """The token endpoint (RFC 6749 §4.1.3, §6). Raises `ProviderRefused` or
    `ProviderUnavailable` (domain.errors)."""

    async def exchange_code(
        self, client: OAuthClient, code: str, verifier: Secret | None
    ) -> TokenSet: ...

    async def refresh(self, client: OAuthClient, refresh_token: Secret) -> TokenSet: ...


class PostConnectionHooks(Protocol):
    """The named provider quirks that run after a consent (e.g. finding the Atlassian site)."""

    def knows(self, name: str) -> bool: ...

    async def sites(self, name: str, provider: Provider, access_token: Secret) -> list[Site]:
        """Raises `ProviderUnavailable` when the sites cannot be listed."""


class RefreshLeases(Protocol):
    """The cross-replica refresh lease: one holder per credential being refreshed."""

    async def acquire(self, credential_id: str, holder: str) -> bool: ...

    async def release(self, credential_id: str, holder: str) -> None: ...


class ProviderDestinations(Protocol):
    """Where a provider URL's host resolves to, judged as a provider call would judge it."""

    async def refusal(self, url: str) -> str | None:
        """Why no provider call may go to `url` (a reason safe to show), or None if it may."""


class AuthMetrics(Protocol):
    """What operators count per integration: token vends and refreshes by outcome, consents by
    how they ended."""

    def vended(self, integration: str, outcome: str) -> None: ...

    def refreshed(self, integration: str, outcome: str) -> None: ...

    def consent_ended(self, integration: str, outcome: str, code: str) -> None: ...
