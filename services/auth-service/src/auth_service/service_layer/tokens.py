"""Token vending and refresh (contract §2 "Credentials and tokens", RFC 6749 §6).

The access-token call on a valid token is one read, from this replica's credential cache when
it is fresh there (see `CredentialStore.recent_for_subject`), and one decryption: no write, no
lock. The cache is not asked after `force_refresh`, and what it gives is read again from the
database whenever it would need a refresh (its token expires within `min_valid_seconds`), so a
refresh always starts from the stored credential.

Refresh is the rare path, and one credential makes at most one token-endpoint call per rotation
however many callers and replicas ask:
- in a process, callers of the same credential share one in-flight refresh task;
- across replicas, the task takes the credential's lease; a loser polls until the credential's
  version changes (the winner wrote) or the lease frees up;
- the winner reads again after taking the lease (someone may have just rotated), calls the token
  endpoint, and stores the rotation with a compare-and-set on `version`.
On invalid_grant the credential is read again first: a newer version means another replica
rotated it (our refresh token was the old one), so the new token is used; only otherwise is the
credential marked reauthorization_required. A credential whose sealed tokens no key opens is
marked reauthorization_required too (reason `undecryptable`), never a 500.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from auth_service.domain.credential import Credential
from auth_service.domain.errors import (
    CredentialNotFound,
    ProviderRefused,
    ProviderUnavailable,
    ProviderUnavailableError,
    ReauthorizationRequired,
    Undecryptable,
)
from auth_service.domain.profiles import OAuthClient
from auth_service.domain.providers import Providers
from auth_service.domain.secrets import Secret
from auth_service.service_layer.ports import (
    AuthMetrics,
    Clock,
    IdentityProvider,
    RefreshLeases,
    Tx,
    Units,
)
from auth_service.service_layer.profiles import Profiles
from platform_core.contract_types import SiteResource, Subject, utc_now
from platform_core.domain import Transition, VersionConflict
from platform_core.errors import ProblemError
from platform_core.logs import get_logger

log = get_logger("auth_service.tokens")

LOSER_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class RefreshTiming:
    lease_seconds: float
    force_window_seconds: float


@dataclass(frozen=True)
class Vended:
    access_token: Secret
    expires_at: datetime | None
    scopes: tuple[str, ...]
    credential_id: str
    resource: SiteResource | None


def _usable(credential: Credential | None) -> Credential:
    if credential is None:
        raise CredentialNotFound("No credential for this app, integration and subject")
    return credential.require_usable()


class Tokens:
    def __init__(
        self,
        uow: Units,
        providers: Providers,
        profiles: Profiles,
        identity_provider: IdentityProvider,
        leases: RefreshLeases,
        timing: RefreshTiming,
        metrics: AuthMetrics,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._metrics = metrics
        self._providers = providers
        self._profiles = profiles
        self._idp = identity_provider
        self._leases = leases
        self._timing = timing
        self._clock = clock
        self._process = uuid.uuid4().hex
        self._in_flight: dict[str, asyncio.Task[Credential]] = {}

    async def access_token(
        self,
        app_id: str,
        integration: str,
        subject: Subject,
        *,
        min_valid_seconds: int,
        force_refresh: bool,
    ) -> Vended:
        try:
            vended, refreshed = await self._vend(
                app_id,
                integration,
                subject,
                min_valid_seconds=min_valid_seconds,
                force_refresh=force_refresh,
            )
        except ProblemError as exc:
            self._metrics.vended(integration, exc.code)
            raise
        self._metrics.vended(integration, "refreshed" if refreshed else "served")
        return vended

    async def _vend(
        self,
        app_id: str,
        integration: str,
        subject: Subject,
        *,
        min_valid_seconds: int,
        force_refresh: bool,
    ) -> tuple[Vended, bool]:
        provider = self._providers.get(integration)
        credentials = self._uow.reads().credentials
        now = self._clock()
        if force_refresh:
            found = await credentials.for_subject(app_id, integration, subject)
        else:
            found = await credentials.recent_for_subject(app_id, integration, subject)
            if found is not None and self._needs_refresh(found, min_valid_seconds, False, now):
                # A refresh starts from the credential as stored, never from a cached copy.
                found = await credentials.for_subject(app_id, integration, subject)
        credential = _usable(found)
        refreshed = self._needs_refresh(credential, min_valid_seconds, force_refresh, now)
        if refreshed:
            credential = await self.refresh(credential)
        access = credential.access_token
        if access is None:
            raise CredentialNotFound("No credential for this app, integration and subject")
        try:
            opened = Secret.of(access.reveal())
        except Undecryptable:
            await self._lost(credential, "undecryptable")
        resource = None
        if credential.resource is not None:
            cloud_id = credential.resource.cloud_id
            resource = SiteResource(
                cloud_id=cloud_id,
                site_url=credential.resource.site_url,
                api_base_url=provider.site_api_base_for(cloud_id),
            )
        vended = Vended(
            opened, credential.expires_at, credential.scopes, credential.credential_id, resource
        )
        return vended, refreshed

    def _needs_refresh(
        self, credential: Credential, min_valid_seconds: int, force_refresh: bool, now: datetime
    ) -> bool:
        return credential.needs_refresh(
            now=now,
            min_valid_seconds=min_valid_seconds,
            force_refresh=force_refresh,
            force_window_seconds=self._timing.force_window_seconds,
        )

    async def refresh(self, seen: Credential) -> Credential:
        """The credential after a rotation newer than `seen` (ours or another caller's)."""
        credential_id = seen.credential_id
        task = self._in_flight.get(credential_id)
        if task is None:
            task = asyncio.create_task(self._refresh_once(seen), name=f"refresh-{credential_id}")
            self._in_flight[credential_id] = task
            task.add_done_callback(lambda done: self._forget(credential_id, done))
        # shield: a caller that gives up must not cancel the refresh the others wait for
        return await asyncio.shield(task)

    def _forget(self, credential_id: str, task: asyncio.Task[Credential]) -> None:
        if self._in_flight.get(credential_id) is task:
            del self._in_flight[credential_id]
        if not task.cancelled():
            task.exception()  # retrieved here so an unawaited failure is not reported twice

    async def _read(self, credential_id: str) -> Credential:
        return _usable(await self._uow.reads().credentials.get(credential_id))

    async def _refresh_once(self, seen: Credential) -> Credential:
        credential_id, version = seen.credential_id, seen.version
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timing.lease_seconds + 5.0
        while True:
            current = await self._read(credential_id)
            if current.version != version:
                return current
            holder = f"{self._process}:{uuid.uuid4().hex}"
            if await self._leases.acquire(credential_id, holder):
                try:
                    current = await self._read(credential_id)
                    if current.version != version:
                        return current
                    return await self._rotate(current)
                finally:
                    await self._leases.release(credential_id, holder)
            if loop.time() > deadline:
                raise ProviderUnavailableError("Another replica's refresh did not finish in time")
            await asyncio.sleep(LOSER_POLL_SECONDS)

    async def _rotate(self, credential: Credential) -> Credential:
        integration = credential.integration
        client = await self._client(credential)
        refresh_token = credential.refresh_token
        if refresh_token is None:
            self._metrics.refreshed(integration, "no_refresh_token")
            await self._lost(credential, "no_refresh_token")
        try:
            tokens = await self._idp.refresh(client, refresh_token)
        except ProviderRefused as exc:
            if exc.error != "invalid_grant":
                self._metrics.refreshed(integration, "refused")
                log.error(
                    "token_refresh_refused", credential_id=credential.credential_id, error=exc.error
                )
                raise ProviderUnavailableError("The provider refused the refresh") from None
            fresh = await self._read(credential.credential_id)
            if fresh.version != credential.version:
                self._metrics.refreshed(integration, "rotated_elsewhere")
                return fresh
            self._metrics.refreshed(integration, "invalid_grant")
            await self._lost(credential, "invalid_grant")
        except ProviderUnavailable as exc:
            self._metrics.refreshed(integration, "unavailable")
            log.warning(
                "token_refresh_unavailable", credential_id=credential.credential_id, reason=str(exc)
            )
            raise ProviderUnavailableError("The identity provider is unavailable") from None
        except Undecryptable:
            self._metrics.refreshed(integration, "undecryptable")
            await self._lost(credential, "undecryptable")
        rotated = credential.rotate(tokens, self._clock())
        try:
            await self._uow.run(lambda tx: _store(tx, rotated))
        except VersionConflict:
            self._metrics.refreshed(integration, "rotated_elsewhere")
            return await self._read(credential.credential_id)
        self._metrics.refreshed(integration, "rotated")
        log.info("credential_refreshed", credential_id=credential.credential_id)
        return rotated.after

    async def _client(self, credential: Credential) -> OAuthClient:
        try:
            return await self._profiles.client(
                credential.app_id, credential.integration, credential.profile
            )
        except ProblemError as exc:
            log.error(
                "refresh_profile_unusable", credential_id=credential.credential_id, code=exc.code
            )
            raise ProviderUnavailableError("The credential's profile cannot be used") from None

    async def _lost(self, credential: Credential, reason: str) -> NoReturn:
        """Mark the credential as needing a new consent (once, with its event) and refuse."""
        lost = credential.require_reauthorization(reason, self._clock())
        if lost.changed:
            try:
                await self._uow.run(lambda tx: _store(tx, lost))
            except VersionConflict:
                log.info("reauthorization_raced", credential_id=credential.credential_id)
        log.warning(
            "credential_reauthorization_required",
            credential_id=credential.credential_id,
            reason=reason,
        )
        raise ReauthorizationRequired("The provider no longer accepts this credential")


async def _store(tx: Tx, transition: Transition[Credential]) -> None:
    await tx.repos.credentials.save(transition.after)
    tx.publish_all(transition.events)
