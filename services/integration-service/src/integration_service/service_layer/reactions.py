"""How integrations react to auth-service's events (contract §4).

Each handler runs inside the consumer's transaction, next to the processed-event record. Events
about apps or integrations this service does not know, about end users, about an authorization
that is no longer the pending one or about a credential the integration no longer runs on change
nothing and are acknowledged. A `VersionConflict` propagates so the consumer retries the event.
"""

from __future__ import annotations

from typing import Any

from integration_service.domain.catalog import CATALOG, Catalog
from integration_service.service_layer.changes import Decide, apply_in
from integration_service.service_layer.ports import AppStore, Clock, IntegrationStore
from platform_core.contract_types import utc_now
from platform_core.events import (
    AuthorizationCompleted,
    AuthorizationFailed,
    CloudEvent,
    CredentialReauthorizationRequired,
    CredentialRevoked,
)
from platform_core.logs import get_logger
from platform_core.unit_of_work import Transaction

log = get_logger("integration_service.reactions")

AboutASubject = (
    AuthorizationCompleted
    | AuthorizationFailed
    | CredentialReauthorizationRequired
    | CredentialRevoked
)


class Reactions:
    def __init__(
        self,
        apps: AppStore,
        integrations: IntegrationStore,
        *,
        catalog: Catalog = CATALOG,
        clock: Clock = utc_now,
    ) -> None:
        self._apps = apps
        self._integrations = integrations
        self._catalog = catalog
        self._clock = clock

    async def authorization_completed(
        self, tx: Transaction, envelope: CloudEvent, data: Any
    ) -> None:
        event: AuthorizationCompleted = data
        await self._apply_to_app_subject(
            tx,
            event,
            lambda i, now: i.complete_authorization(
                event.authorization_id, event.credential_id, now
            ),
        )

    async def authorization_failed(self, tx: Transaction, envelope: CloudEvent, data: Any) -> None:
        event: AuthorizationFailed = data
        await self._apply_to_app_subject(
            tx,
            event,
            lambda i, now: i.fail_authorization(
                event.authorization_id, event.error, event.error_description, now
            ),
        )

    async def credential_lost(self, tx: Transaction, envelope: CloudEvent, data: Any) -> None:
        """credential.reauthorization_required and credential.revoked alike."""
        event: CredentialReauthorizationRequired | CredentialRevoked = data
        await self._apply_to_app_subject(
            tx, event, lambda i, now: i.lose_credential(event.credential_id, now)
        )

    async def _apply_to_app_subject(
        self, tx: Transaction, event: AboutASubject, decide: Decide
    ) -> None:
        # End users' own consents and credentials never change the integration's state.
        if event.subject.type == "app":
            await self._apply(tx, event.app_id, event.integration, decide)

    async def _apply(self, tx: Transaction, app_id: str, integration: str, decide: Decide) -> None:
        if self._catalog.get(integration) is None:
            log.info("event_ignored", reason="unknown_integration", integration=integration)
            return
        if await self._apps.get(app_id, tx.session) is None:
            log.info("event_ignored", reason="unknown_app", app_id=app_id)
            return
        await apply_in(tx, self._integrations, app_id, integration, decide, self._clock())
