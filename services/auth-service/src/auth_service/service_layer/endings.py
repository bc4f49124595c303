"""How a browser dance ends: a credential stored (replacing the subject's previous one), or the
authorization failed or expired; each with its event, in one unit of work.

Every failure after the state is consumed marks the authorization failed, erases whatever it
held (PKCE verifier, tokens awaiting a site choice), stores no credential and publishes
authorization.failed. `PageError` is what a person then sees, as an HTML page.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import NoReturn

from auth_service.domain.authorization import Authorization, Site
from auth_service.domain.credential import Credential, SiteBinding, TokenSet
from auth_service.domain.providers import Providers
from auth_service.service_layer.ports import AuthMetrics, Clock, Tx, Units
from platform_core.contract_types import SiteResource, utc_now
from platform_core.domain import Transition, VersionConflict
from platform_core.logs import get_logger

log = get_logger("auth_service.dance")

CREDENTIAL_ATTEMPTS = 3


class PageError(Exception):
    """A failure a person sees as an HTML page."""

    def __init__(self, status: int, title: str, message: str, code: str) -> None:
        super().__init__(code)
        self.status, self.title, self.message, self.code = status, title, message, code


def already_finished() -> PageError:
    return PageError(400, "Already finished", "This sign-in already ended.", "state_used")


@dataclass(frozen=True)
class Completed:
    authorization_id: str
    display_name: str
    site: Site | None
    return_url: str | None


@dataclass(frozen=True)
class SiteChoice:
    authorization_id: str
    display_name: str
    sites: list[Site]
    selection: str


class Endings:
    def __init__(
        self, uow: Units, providers: Providers, metrics: AuthMetrics, clock: Clock = utc_now
    ) -> None:
        self._uow = uow
        self._providers = providers
        self._metrics = metrics
        self._clock = clock

    async def commit(self, transition: Transition[Authorization]) -> Authorization:
        """Store an authorization's transition and its events; `VersionConflict` when another
        request changed it first (a capability it consumed was consumed already)."""

        async def work(tx: Tx) -> None:
            await tx.repos.authorizations.save(transition.after)
            tx.publish_all(transition.events)

        if transition.changed:
            await self._uow.run(work)
        return transition.after

    async def complete(
        self, authorization: Authorization, tokens: TokenSet, site: Site | None
    ) -> Completed:
        provider = self._providers.get(authorization.integration)
        resource = (
            SiteResource(
                cloud_id=site.cloud_id,
                site_url=site.url,
                api_base_url=provider.site_api_base_for(site.cloud_id),
            )
            if site
            else None
        )

        async def work(tx: Tx) -> None:
            now = self._clock()
            existing = await tx.repos.credentials.for_subject(
                authorization.app_id, authorization.integration, authorization.subject
            )
            credential = Credential.consented(
                existing,
                credential_id=f"cred_{uuid.uuid4().hex}",
                app_id=authorization.app_id,
                integration=authorization.integration,
                subject=authorization.subject,
                profile=authorization.profile,
                authorization_id=authorization.authorization_id,
                tokens=tokens,
                site=SiteBinding(site.cloud_id, site.url) if site else None,
                integration_disabled=await tx.repos.disabled.is_disabled(
                    authorization.app_id, authorization.integration
                ),
                now=now,
            )
            await tx.repos.credentials.save(credential)
            done = authorization.complete(
                credential_id=credential.credential_id,
                scopes=tokens.scopes,
                resource=resource,
                now=now,
            )
            try:
                await tx.repos.authorizations.save(done.after)
            except VersionConflict:
                raise already_finished() from None
            tx.publish_all(done.events)

        # Only the credential's compare-and-set is worth another try (a refresh wrote it just
        # now); the authorization's failing means the dance ended elsewhere.
        for attempt in range(1, CREDENTIAL_ATTEMPTS + 1):
            try:
                await self._uow.run(work)
                break
            except VersionConflict:
                if attempt == CREDENTIAL_ATTEMPTS:
                    raise already_finished() from None
        self._metrics.consent_ended(authorization.integration, "completed", "")
        log.info(
            "authorization_completed",
            authorization_id=authorization.authorization_id,
            app_id=authorization.app_id,
        )
        return Completed(
            authorization.authorization_id, provider.display_name, site, authorization.return_url
        )

    async def fail(self, authorization: Authorization, code: str, description: str) -> bool:
        """Mark an open authorization failed (once) and publish authorization.failed."""
        transition = authorization.fail(code, description, self._clock())
        if not transition.changed:
            return False
        try:
            await self.commit(transition)
        except VersionConflict:
            return False
        self._metrics.consent_ended(authorization.integration, "failed", code)
        log.info(
            "authorization_failed", authorization_id=authorization.authorization_id, error=code
        )
        return True

    async def fail_and_raise(
        self, authorization: Authorization, code: str, description: str
    ) -> NoReturn:
        await self.fail(authorization, code, description)
        raise PageError(400, "Connection failed", description, code)

    async def expire(self, authorization: Authorization) -> None:
        transition = authorization.expire(self._clock())
        try:
            await self.commit(transition)
        except VersionConflict:
            return
        if transition.changed:
            self._metrics.consent_ended(authorization.integration, "failed", "expired")
