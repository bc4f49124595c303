"""How template-service follows integration-service's events (contract §4) into its read model.

Each handler runs inside the consumer's transaction, beside the processed-event record, so a
redelivered event changes nothing. It updates the (app, integration) state, then re-binds that
app's dialog tasks of the integration: bound (`active`) while it is configured and enabled,
unbound (`integration_disabled`, service nodes with `auth: null`) otherwise, each change
announced with `dialog_task.updated`. A removed integration keeps its installations; their
tasks stay unbound until it is configured again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from platform_core.consumer import Subscription, on
from platform_core.events import (
    CloudEvent,
    IntegrationConfigured,
    IntegrationDisabled,
    IntegrationEnabled,
    IntegrationRemoved,
)
from platform_core.logs import get_logger
from template_service.domain.integration_state import IntegrationState, unknown_integration
from template_service.service_layer.ports import Tx

log = get_logger("template_service.reactions")

Change = Callable[[IntegrationState, datetime], IntegrationState]


class Reactions:
    def subscriptions(self) -> list[Subscription[Any]]:
        return [
            on(IntegrationConfigured, self.configured),
            on(IntegrationDisabled, self.disabled),
            on(IntegrationEnabled, self.enabled),
            on(IntegrationRemoved, self.removed),
        ]

    async def configured(self, tx: Tx, event: IntegrationConfigured, envelope: CloudEvent) -> None:
        await self._apply(
            tx,
            envelope,
            event,
            lambda s, at: s.configure(event.authorization_type, event.profile, at),
        )

    async def disabled(self, tx: Tx, event: IntegrationDisabled, envelope: CloudEvent) -> None:
        await self._apply(tx, envelope, event, lambda s, at: s.disable(at))

    async def enabled(self, tx: Tx, event: IntegrationEnabled, envelope: CloudEvent) -> None:
        await self._apply(tx, envelope, event, lambda s, at: s.enable(at))

    async def removed(self, tx: Tx, event: IntegrationRemoved, envelope: CloudEvent) -> None:
        await self._apply(tx, envelope, event, lambda s, at: s.remove(at))

    async def _apply(
        self,
        tx: Tx,
        envelope: CloudEvent,
        event: IntegrationConfigured
        | IntegrationDisabled
        | IntegrationEnabled
        | IntegrationRemoved,
        change: Change,
    ) -> None:
        app_id, integration = event.app_id, event.integration
        before = await tx.repos.integrations.get(app_id, integration)
        before = before or unknown_integration(app_id, integration)
        after = change(before, envelope.time)
        if after == before:
            log.info("integration_event_changes_nothing", event_type=envelope.type)
            return
        await tx.repos.integrations.save(after)
        binding = after.binding()
        for task in await tx.repos.tasks.of_integration(app_id, integration):
            rebound = task.rebind(binding)
            if rebound.changed:
                await tx.repos.tasks.replace(rebound.after)
                tx.publish_all(rebound.events)
