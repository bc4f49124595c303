"""In-memory stand-ins for auth-service's ports: repositories with the real compare-and-set
rules, an identity provider that answers as scripted, the post-connection hooks, the lease and
the judgement of provider destinations."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from auth_service.domain.authorization import Authorization, Site
from auth_service.domain.credential import Credential, TokenSet, subject_key
from auth_service.domain.errors import ProviderRefused, Undecryptable
from auth_service.domain.profiles import CustomProfile, OAuthClient
from auth_service.domain.providers import Provider, Providers
from auth_service.domain.secrets import Secret
from auth_service.service_layer.callback import Callbacks
from auth_service.service_layer.credentials import Credentials
from auth_service.service_layer.endings import Endings
from auth_service.service_layer.links import Links
from auth_service.service_layer.profiles import ProfileRules, Profiles
from auth_service.service_layer.tokens import RefreshTiming, Tokens
from auth_service.settings import AuthSettings
from integration_manifests import load_integrations
from platform_core.api import PageQuery
from platform_core.contract_types import Subject
from platform_core.domain import VersionConflict
from platform_core.paging import Page, page_of
from tests.support.fake_uow import FakeStore, FakeUnitOfWork
from tests.support.infra import TEST_ENCRYPTION_KEYS, TEST_JWT_SECRET

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def _compare_and_set(items: dict[str, Any], key: str, value: Any) -> None:
    stored = items.get(key)
    if (stored.version if stored is not None else 0) != value.version - 1:
        raise VersionConflict(key)
    items[key] = value


class FakeCredentials(FakeStore):
    """`cached` is what this replica's cache would still hand out, by credential id; `reads`
    counts the reads by subject."""

    def __init__(self) -> None:
        super().__init__()
        self.cached: dict[str, Credential] = {}
        self.reads = 0

    async def recent_for_subject(
        self, app_id: str, integration: str, subject: Subject
    ) -> Credential | None:
        self.reads += 1
        stored = self._stored(app_id, integration, subject)
        if stored is None:
            return None
        return self.cached.get(stored.credential_id, stored)

    async def for_subject(
        self, app_id: str, integration: str, subject: Subject
    ) -> Credential | None:
        self.reads += 1
        return self._stored(app_id, integration, subject)

    def _stored(self, app_id: str, integration: str, subject: Subject) -> Credential | None:
        key = subject_key(subject)
        return next(
            (
                c
                for c in self.items.values()
                if (c.app_id, c.integration, c.subject_key) == (app_id, integration, key)
            ),
            None,
        )

    async def get(self, credential_id: str) -> Credential | None:
        return self.items.get(credential_id)

    async def save(self, credential: Credential) -> None:
        _compare_and_set(self.items, credential.credential_id, credential)

    async def page(
        self, app_id: str, *, integration: str | None, user_id: str | None, query: PageQuery
    ) -> Page[Credential]:
        mine = [c for c in self.items.values() if c.app_id == app_id]
        return page_of(
            sorted(mine, key=lambda c: c.credential_id), lambda c: c.credential_id, query
        )

    async def live(
        self, app_id: str, integration: str, subject_key: str | None = None
    ) -> list[Credential]:
        return [
            c
            for c in self.items.values()
            if (c.app_id, c.integration) == (app_id, integration)
            and c.status != "revoked"
            and subject_key in (None, c.subject_key)
        ]

    async def idle_since(self, cutoff: datetime, integrations: list[str], limit: int) -> list[str]:
        idle = [
            c
            for c in self.items.values()
            if c.status == "active"
            and c.integration in integrations
            and c.tokens_obtained_at is not None
            and c.tokens_obtained_at <= cutoff
        ]
        return [c.credential_id for c in sorted(idle, key=lambda c: c.tokens_obtained_at)][:limit]

    async def issued_through(self, profile_id: str) -> bool:
        return any(
            getattr(c.profile, "profile_id", None) == profile_id and c.status != "revoked"
            for c in self.items.values()
        )

    async def set_integration_disabled(self, app_id: str, integration: str, disabled: bool) -> None:
        for key, c in list(self.items.items()):
            if (c.app_id, c.integration) == (app_id, integration) and (
                c.integration_disabled != disabled
            ):
                self.items[key] = c.model_copy(
                    update={"integration_disabled": disabled, "version": c.version + 1}
                )


class FakeAuthorizations(FakeStore):
    async def add(self, authorization: Authorization) -> None:
        self.items[authorization.authorization_id] = authorization

    async def get(self, authorization_id: str) -> Authorization | None:
        return self.items.get(authorization_id)

    async def by_link(self, link_hash: str) -> Authorization | None:
        return self._one(lambda a: a.link_hash == link_hash)

    async def by_state(self, state_hash: str) -> Authorization | None:
        return self._one(lambda a: a.state_hash == state_hash)

    async def by_selection(self, selection_hash: str) -> Authorization | None:
        return self._one(lambda a: a.selection_hash == selection_hash)

    async def save(self, authorization: Authorization) -> None:
        _compare_and_set(self.items, authorization.authorization_id, authorization)

    async def due_for_sweep(self, now: datetime, limit: int) -> list[Authorization]:
        return [a for a in self.items.values() if a.is_open and a.sweep_at <= now][:limit]

    async def open_count(self, app_id: str, now: datetime) -> int:
        return sum(
            1
            for a in self.items.values()
            if a.app_id == app_id and a.is_open and (a.clicked_at is not None or a.expires_at > now)
        )

    def _one(self, match: Any) -> Authorization | None:
        return next((a for a in self.items.values() if match(a)), None)


class FakeProfiles(FakeStore):
    async def add(self, profile: CustomProfile) -> None:
        self.items[profile.profile_id] = profile

    async def get(self, app_id: str, profile_id: str) -> CustomProfile | None:
        found = self.items.get(profile_id)
        return found if found and found.app_id == app_id and found.deleted_at is None else None

    async def page(self, app_id: str, query: PageQuery) -> Page[CustomProfile]:
        live = [p for p in self.items.values() if p.app_id == app_id and p.deleted_at is None]
        return page_of(sorted(live, key=lambda p: p.profile_id), lambda p: p.profile_id, query)

    async def save(self, profile: CustomProfile) -> None:
        self.items[profile.profile_id] = profile


class FakeUsage(FakeStore):
    async def record(self, app_id: str, integration: str, profile_id: str | None) -> None:
        self.items[(app_id, integration)] = profile_id

    async def forget(self, app_id: str, integration: str) -> None:
        self.items.pop((app_id, integration), None)

    async def in_use(self, profile_id: str) -> bool:
        return profile_id in self.items.values()


class FakeDisabled(FakeStore):
    async def set_disabled(self, app_id: str, integration: str, disabled: bool) -> None:
        if disabled:
            self.items[(app_id, integration)] = True
        else:
            self.items.pop((app_id, integration), None)

    async def is_disabled(self, app_id: str, integration: str) -> bool:
        return (app_id, integration) in self.items


@dataclass
class FakeRepositories:
    credentials: FakeCredentials = field(default_factory=FakeCredentials)
    authorizations: FakeAuthorizations = field(default_factory=FakeAuthorizations)
    profiles: FakeProfiles = field(default_factory=FakeProfiles)
    usage: FakeUsage = field(default_factory=FakeUsage)
    disabled: FakeDisabled = field(default_factory=FakeDisabled)


class UnreadableSecret(Secret):
    """A sealed secret whose key is gone."""

    def reveal(self) -> str:
        raise Undecryptable("no key opens it")


class FakeIdentityProvider:
    """Hands out numbered tokens; `refusal` makes the next refreshes answer an OAuth error,
    `hold` keeps each refresh waiting until it is set, `before_refusing` runs first (another
    replica rotating meanwhile)."""

    def __init__(self) -> None:
        self.exchanges: list[str] = []
        self.refreshes: list[str] = []
        self.failures: dict[str, Exception] = {}  # by refresh token
        self.refusal: str | None = None
        self.hold: asyncio.Event | None = None
        self.before_refusing: Any = None

    async def exchange_code(
        self, client: OAuthClient, code: str, verifier: Secret | None
    ) -> TokenSet:
        self.exchanges.append(code)
        return self._tokens(f"consent-{len(self.exchanges)}")

    async def refresh(self, client: OAuthClient, refresh_token: Secret) -> TokenSet:
        self.refreshes.append(refresh_token.reveal())
        failure = self.failures.get(refresh_token.reveal())
        if failure is not None:
            raise failure
        if self.hold is not None:
            await self.hold.wait()
        if self.refusal is not None:
            if self.before_refusing is not None:
                await self.before_refusing()
            raise ProviderRefused(self.refusal, "refused", 400)
        return self._tokens(f"refresh-{len(self.refreshes)}")

    @staticmethod
    def _tokens(name: str) -> TokenSet:
        return TokenSet(
            access_token=Secret.of(f"access-{name}"),
            refresh_token=Secret.of(f"refresh-{name}"),
            expires_at=NOW + timedelta(hours=1),
            scopes=("read:page:confluence", "offline_access"),
        )


class FakeDestinations:
    """Refuses the hosts in `internal`, as if they resolved to a private address."""

    def __init__(self) -> None:
        self.internal: set[str] = set()
        self.judged: list[str] = []

    async def refusal(self, url: str) -> str | None:
        self.judged.append(url)
        if urlsplit(url).hostname in self.internal:
            return "host name resolves to a private address"
        return None


class FakeHooks:
    def __init__(self, sites: list[Site]) -> None:
        self.site_list = sites

    def knows(self, name: str) -> bool:
        return True

    async def sites(self, name: str, provider: Provider, access_token: Secret) -> list[Site]:
        return list(self.site_list)


class FakeLeases:
    def __init__(self) -> None:
        self.held: dict[str, str] = {}
        self.acquired = 0

    async def acquire(self, credential_id: str, holder: str) -> bool:
        if credential_id in self.held:
            return False
        self.held[credential_id] = holder
        self.acquired += 1
        return True

    async def release(self, credential_id: str, holder: str) -> None:
        if self.held.get(credential_id) == holder:
            del self.held[credential_id]


class FakeMetrics:
    def __init__(self) -> None:
        self.vends: list[tuple[str, str]] = []
        self.refreshes: list[tuple[str, str]] = []
        self.consents: list[tuple[str, str, str]] = []

    def vended(self, integration: str, outcome: str) -> None:
        self.vends.append((integration, outcome))

    def refreshed(self, integration: str, outcome: str) -> None:
        self.refreshes.append((integration, outcome))

    def consent_ended(self, integration: str, outcome: str, code: str) -> None:
        self.consents.append((integration, outcome, code))


@dataclass
class Auth:
    """One auth-service replica's service layer over shared fakes."""

    uow: FakeUnitOfWork[FakeRepositories]
    idp: FakeIdentityProvider
    hooks: FakeHooks
    leases: FakeLeases
    destinations: FakeDestinations
    profiles: Profiles
    links: Links
    callbacks: Callbacks
    tokens: Tokens
    credentials: Credentials
    metrics: FakeMetrics

    @property
    def repos(self) -> FakeRepositories:
        return self.uow.repos


SETTINGS = AuthSettings(
    platform_jwt_secret=TEST_JWT_SECRET,
    token_encryption_keys=TEST_ENCRYPTION_KEYS,
    public_base_url="https://auth.example.com",
)
PROVIDERS = Providers(
    [
        Provider.of(spec, allow_insecure=False)
        for spec in load_integrations(
            {"CONFLUENCE_CLIENT_ID": "system-app", "CONFLUENCE_CLIENT_SECRET": "system-secret"}
        )
    ]
)


def replica(
    uow: FakeUnitOfWork[FakeRepositories] | None = None,
    *,
    idp: FakeIdentityProvider | None = None,
    leases: FakeLeases | None = None,
    sites: list[Site] | None = None,
    clock: Any = lambda: NOW,
    settings: AuthSettings | None = None,
) -> Auth:
    uow = uow or FakeUnitOfWork(FakeRepositories(), "/auth-service")
    idp = idp or FakeIdentityProvider()
    leases = leases or FakeLeases()
    hooks = FakeHooks(sites if sites is not None else [Site("c-1", "acme", "https://acme.net")])
    destinations = FakeDestinations()
    profiles = Profiles(
        uow, PROVIDERS, ProfileRules(SETTINGS.callback_url, False), destinations, clock
    )
    metrics = FakeMetrics()
    endings = Endings(uow, PROVIDERS, metrics, clock)
    links = Links(uow, PROVIDERS, profiles, endings, settings or SETTINGS, clock)
    callbacks = Callbacks(uow, profiles, endings, idp, hooks, SETTINGS.state_ttl_seconds, clock)
    timing = RefreshTiming(5.0, 5.0)
    tokens = Tokens(uow, PROVIDERS, profiles, idp, leases, timing, metrics, clock)
    return Auth(
        uow,
        idp,
        hooks,
        leases,
        destinations,
        profiles,
        links,
        callbacks,
        tokens,
        Credentials(uow, clock),
        metrics,
    )
