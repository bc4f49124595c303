"""What the use cases need from storage, as protocols the MongoDB repositories satisfy.

A unit of work hands out `Repositories` bound to its transaction; `reads()` hands out the same
outside any transaction, for queries.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from platform_core.api import PageQuery
from platform_core.paging import Page
from platform_core.unit_of_work import Transaction, TransactionRunner
from template_service.domain.dialog_task import DialogTask
from template_service.domain.installation import Installation
from template_service.domain.integration_state import IntegrationState

Clock = Callable[[], datetime]


class IntegrationStateStore(Protocol):
    async def get(self, app_id: str, integration: str) -> IntegrationState | None: ...

    async def for_app(self, app_id: str) -> dict[str, IntegrationState]: ...

    async def guard(self, app_id: str, integration: str) -> None:
        """Write to the state so that a concurrent change of it conflicts with this one."""

    async def save(self, state: IntegrationState) -> None: ...


class InstallationStore(Protocol):
    async def find(self, app_id: str, template_id: str) -> Installation | None: ...

    async def get(self, app_id: str, installation_id: str) -> Installation | None: ...

    async def for_app(self, app_id: str) -> list[Installation]: ...

    async def page(self, app_id: str, query: PageQuery) -> Page[Installation]: ...

    async def insert(self, installation: Installation) -> None:
        """Raises `AlreadyInstalled` when the app has an installation of the template."""

    async def replace(self, installation: Installation) -> None: ...

    async def delete(self, installation_id: str) -> None: ...


class DialogTaskStore(Protocol):
    async def get(self, app_id: str, dialog_task_id: str) -> DialogTask | None: ...

    async def page(self, app_id: str, query: PageQuery) -> Page[DialogTask]: ...

    async def of_integration(self, app_id: str, integration: str) -> list[DialogTask]: ...

    async def insert(self, task: DialogTask) -> None:
        """Raises `AlreadyInstalled` when the app has a task from the same template."""

    async def replace(self, task: DialogTask) -> None: ...

    async def delete(self, dialog_task_id: str) -> None: ...


class Repositories(Protocol):
    @property
    def integrations(self) -> IntegrationStateStore: ...

    @property
    def installations(self) -> InstallationStore: ...

    @property
    def tasks(self) -> DialogTaskStore: ...


Tx = Transaction[Repositories]
Units = TransactionRunner[Repositories]
