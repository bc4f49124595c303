"""How tool-service follows the platform's events (contract §4).

- `template.installed`, `template.uninstalled`, `dialog_task.updated` (a task bound, unbound or
  upgraded): the app's tool list may have changed, so its cached copy is dropped and its
  connected clients are told (`notifications/tools/list_changed`, or a `subscriptions/listen`
  event at protocol 2026-07-28). A duplicate delivery costs a client one extra `tools/list`.
- `authorization.completed` for an end user: a tools/call waiting for that user's consent may go
  on (`ConsentWaiters`).

Every reaction changes memory only and is harmless to repeat, so the transaction the consumer
runs it in holds no writes (see `adapters.memory_uow`).
"""

from __future__ import annotations

from typing import Any

from platform_core.consumer import Subscription, on
from platform_core.contract_types import UserSubject
from platform_core.events import (
    AuthorizationCompleted,
    CloudEvent,
    DialogTaskUpdated,
    TemplateInstalled,
    TemplateUninstalled,
)
from platform_core.unit_of_work import Transaction
from tool_service.service_layer.catalog import ToolCatalog
from tool_service.service_layer.consent import ConsentWaiters
from tool_service.service_layer.ports import Announcer


class Reactions:
    def __init__(self, catalog: ToolCatalog, announcer: Announcer, waiters: ConsentWaiters) -> None:
        self._catalog = catalog
        self._announcer = announcer
        self._waiters = waiters

    def subscriptions(self) -> list[Subscription[Any]]:
        return [
            on(TemplateInstalled, self.tools_changed),
            on(TemplateUninstalled, self.tools_changed),
            on(DialogTaskUpdated, self.tools_changed),
            on(AuthorizationCompleted, self.consented),
        ]

    async def tools_changed(
        self,
        tx: Transaction[Any],
        event: TemplateInstalled | TemplateUninstalled | DialogTaskUpdated,
        envelope: CloudEvent,
    ) -> None:
        self._catalog.forget(event.app_id)
        await self._announcer.tools_changed(event.app_id)

    async def consented(
        self, tx: Transaction[Any], event: AuthorizationCompleted, envelope: CloudEvent
    ) -> None:
        if isinstance(event.subject, UserSubject):
            self._waiters.completed(event.app_id, event.subject.user_id)
