"""How integrations react to auth-service's events (contract §4).

Each handler runs inside the consumer's transaction, next to the processed-event record. Events
about apps or integrations this service does not know, about end users, about an authorization
that is no longer the pending one or about a credential the integration no longer runs on change
nothing and are acknowledged. A `VersionConflict` propagates so the consumer retries the event.
"""

from __future__ import annotations

from typing import Any

from integration_service.domain.catalog import Catalog
from integration_service.service_layer.changes import Decide, apply_in
from integration_service.service_layer.ports import Clock, Tx
from platform_core.consumer import Subscription, on
from platform_core.contract_types import utc_now
from platform_core.events import (
    AuthorizationCompleted,
    AuthorizationFailed,
    CloudEvent,
    CredentialReauthorizationRequired,
    CredentialRevoked,
)
from platform_core.logs import get_logger

log = get_logger("integration_service.reactions")

AboutASubject = (
    AuthorizationCompleted
    | AuthorizationFailed
    | CredentialReauthorizationRequired
    | CredentialRevoked
)


class Reactions:
    def __init__(self, catalog: Catalog, *, clock: Clock = utc_now) -> None:
        self._catalog = catalog
        self._clock = clock

    def subscriptions(self) -> list[Subscription[Any]]:
        return [
            on(AuthorizationCompleted, self.authorization_completed),
            on(AuthorizationFailed, self.authorization_failed),
            on(CredentialReauthorizationRequired, self.credential_lost),
            on(CredentialRevoked, self.credential_lost),
        ]

    async def authorization_completed(
        self, tx: Tx, event: AuthorizationCompleted, envelope: CloudEvent
    ) -> None:
        await self._apply_to_app_subject(
            tx,
            event,
            lambda i, now: i.complete_authorization(
                event.authorization_id, event.credential_id, now
            ),
        )

    async def authorization_failed(
        self, tx: Tx, event: AuthorizationFailed, envelope: CloudEvent
    ) -> None:
        await self._apply_to_app_subject(
            tx,
            event,
            lambda i, now: i.fail_authorization(
                event.authorization_id, event.error, event.error_description, now
            ),
        )

    async def credential_lost(
        self,
        tx: Tx,
        event: CredentialReauthorizationRequired | CredentialRevoked,
        envelope: CloudEvent,
    ) -> None:
        """credential.reauthorization_required and credential.revoked alike."""
        await self._apply_to_app_subject(
            tx, event, lambda i, now: i.lose_credential(event.credential_id, now)
        )

    async def _apply_to_app_subject(self, tx: Tx, event: AboutASubject, decide: Decide) -> None:
        # End users' own consents and credentials never change the integration's state.
        if event.subject.type != "app":
            return
        if self._catalog.get(event.integration) is None:
            log.info("event_ignored", reason="unknown_integration", integration=event.integration)
            return
        if await tx.repos.apps.get(event.app_id) is None:
            log.info("event_ignored", reason="unknown_app", app_id=event.app_id)
            return
        await apply_in(tx, event.app_id, event.integration, decide, self._clock())
