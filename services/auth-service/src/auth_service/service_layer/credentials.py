"""Credential metadata, deletion, and the reactions to integration-service's events (contract §4).

Destroying a credential erases its sealed tokens from storage (not only a flag), marks it
revoked, bumps its version (so an in-flight refresh's compare-and-set loses) and publishes
credential.revoked. While integration-service has an app's integration disabled, its
credentials carry the flag and the access-token call answers 409 `integration_disabled`.
"""

from __future__ import annotations

from typing import Any

from auth_service.domain.credential import Credential
from auth_service.domain.errors import CredentialNotFound
from auth_service.service_layer.ports import Clock, Tx, Units
from platform_core.api import PageQuery
from platform_core.consumer import Subscription, on
from platform_core.contract_types import CustomProfileRef, utc_now
from platform_core.events import (
    CloudEvent,
    IntegrationConfigured,
    IntegrationDisabled,
    IntegrationEnabled,
    IntegrationRemoved,
)
from platform_core.paging import Page


class Credentials:
    def __init__(self, uow: Units, clock: Clock = utc_now) -> None:
        self._uow = uow
        self._clock = clock

    async def page(
        self, app_id: str, *, integration: str | None, user_id: str | None, query: PageQuery
    ) -> Page[Credential]:
        return await self._uow.reads().credentials.page(
            app_id, integration=integration, user_id=user_id, query=query
        )

    async def delete(self, app_id: str, credential_id: str) -> None:
        async def work(tx: Tx) -> None:
            found = await tx.repos.credentials.get(credential_id)
            if found is None or found.app_id != app_id or found.status == "revoked":
                raise CredentialNotFound(f"No credential {credential_id!r} in this app")
            await self._revoke(tx, [found], "deleted")

        await self._uow.run(work)

    # --- reactions ---------------------------------------------------------------------------

    def subscriptions(self) -> list[Subscription[Any]]:
        return [
            on(IntegrationConfigured, self.integration_configured),
            on(IntegrationRemoved, self.integration_removed),
            on(IntegrationDisabled, self.integration_disabled),
            on(IntegrationEnabled, self.integration_enabled),
        ]

    async def integration_configured(
        self, tx: Tx, event: IntegrationConfigured, envelope: CloudEvent
    ) -> None:
        profile_id = (
            event.profile.profile_id if isinstance(event.profile, CustomProfileRef) else None
        )
        await tx.repos.usage.record(event.app_id, event.integration, profile_id)
        await self._set_disabled(tx, event.app_id, event.integration, False)
        if event.authorization_type == "user_authorize":
            app_credentials = await tx.repos.credentials.live(
                event.app_id, event.integration, "app"
            )
            await self._revoke(tx, app_credentials, "switched_to_user_authorize")

    async def integration_removed(
        self, tx: Tx, event: IntegrationRemoved, envelope: CloudEvent
    ) -> None:
        live = await tx.repos.credentials.live(event.app_id, event.integration)
        await self._revoke(tx, live, "integration_removed")
        await tx.repos.usage.forget(event.app_id, event.integration)
        await tx.repos.disabled.set_disabled(event.app_id, event.integration, False)

    async def integration_disabled(
        self, tx: Tx, event: IntegrationDisabled, envelope: CloudEvent
    ) -> None:
        await self._set_disabled(tx, event.app_id, event.integration, True)

    async def integration_enabled(
        self, tx: Tx, event: IntegrationEnabled, envelope: CloudEvent
    ) -> None:
        await self._set_disabled(tx, event.app_id, event.integration, False)

    async def _set_disabled(self, tx: Tx, app_id: str, integration: str, disabled: bool) -> None:
        await tx.repos.disabled.set_disabled(app_id, integration, disabled)
        await tx.repos.credentials.set_integration_disabled(app_id, integration, disabled)

    async def _revoke(self, tx: Tx, credentials: list[Credential], reason: str) -> None:
        for credential in credentials:
            revoked = credential.revoke(reason, self._clock())
            if revoked.changed:
                await tx.repos.credentials.save(revoked.after)
                tx.publish_all(revoked.events)
