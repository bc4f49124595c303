"""How template-service follows integration-service's events (contract §4) into its read model.

Each handler runs inside the consumer's transaction, beside the processed-event record, so a
redelivered event changes nothing. It updates the (app, integration) state, then re-binds that
app's dialog tasks of the integration: bound (`active`) while it is configured and enabled,
unbound (`integration_disabled`, service nodes with `auth: null`) otherwise. A removed
integration keeps its installations; their tasks stay unbound until it is configured again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from platform_core.events import CloudEvent
from platform_core.logs import get_logger
from platform_core.unit_of_work import Transaction
from template_service.domain.dialog_task import with_binding
from template_service.domain.integration_state import IntegrationState, unknown_integration
from template_service.service_layer.ports import DialogTaskStore, IntegrationStateStore

log = get_logger("template_service.reactions")

Change = Callable[[IntegrationState, datetime], IntegrationState]


class Reactions:
    def __init__(self, integrations: IntegrationStateStore, tasks: DialogTaskStore) -> None:
        self._integrations = integrations
        self._tasks = tasks

    async def configured(self, tx: Transaction, envelope: CloudEvent, data: Any) -> None:
        await self._apply(
            tx, envelope, data, lambda s, at: s.configure(data.authorization_type, at)
        )

    async def disabled(self, tx: Transaction, envelope: CloudEvent, data: Any) -> None:
        await self._apply(tx, envelope, data, lambda s, at: s.disable(at))

    async def enabled(self, tx: Transaction, envelope: CloudEvent, data: Any) -> None:
        await self._apply(tx, envelope, data, lambda s, at: s.enable(at))

    async def removed(self, tx: Transaction, envelope: CloudEvent, data: Any) -> None:
        await self._apply(tx, envelope, data, lambda s, at: s.remove(at))

    async def _apply(
        self, tx: Transaction, envelope: CloudEvent, data: Any, change: Change
    ) -> None:
        app_id, integration = str(data.app_id), str(data.integration)
        before = await self._integrations.get(app_id, integration, tx.session)
        before = before or unknown_integration(app_id, integration)
        after = change(before, envelope.time)
        if after == before:
            log.info("integration_event_changes_nothing", event_type=envelope.type)
            return
        await self._integrations.save(after, tx.session)
        binding = after.binding()
        for task in await self._tasks.of_integration(app_id, integration, tx.session):
            rebound = with_binding(task, binding)
            if rebound != task:
                await self._tasks.replace(rebound, tx.session)
