"""What the use cases need from storage, as protocols the MongoDB repositories satisfy.

Every write takes the unit of work's session; reads take it when they decide a write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from pymongo.asynchronous.client_session import AsyncClientSession

from template_service.domain.dialog_task import DialogTask
from template_service.domain.installation import Installation
from template_service.domain.integration_state import IntegrationState

T = TypeVar("T")
Session = AsyncClientSession | None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


class IntegrationStateStore(Protocol):
    async def get(
        self, app_id: str, integration: str, session: Session = None
    ) -> IntegrationState | None: ...

    async def for_app(self, app_id: str) -> dict[str, IntegrationState]: ...

    async def guard(self, app_id: str, integration: str, session: AsyncClientSession) -> None: ...

    async def save(self, state: IntegrationState, session: AsyncClientSession) -> None: ...


class InstallationStore(Protocol):
    async def find(
        self, app_id: str, template_id: str, session: Session = None
    ) -> Installation | None: ...

    async def get(
        self, app_id: str, installation_id: str, session: Session = None
    ) -> Installation | None: ...

    async def for_app(self, app_id: str) -> list[Installation]: ...

    async def page(self, app_id: str, limit: int, cursor: str | None) -> Page[Installation]: ...

    async def insert(self, installation: Installation, session: AsyncClientSession) -> None:
        """Raises `AlreadyInstalled` when the app has an installation of the template."""

    async def delete(self, installation_id: str, session: AsyncClientSession) -> None: ...


class DialogTaskStore(Protocol):
    async def get(self, app_id: str, dialog_task_id: str) -> DialogTask | None: ...

    async def page(self, app_id: str, limit: int, cursor: str | None) -> Page[DialogTask]: ...

    async def of_integration(
        self, app_id: str, integration: str, session: AsyncClientSession
    ) -> list[DialogTask]: ...

    async def insert(self, task: DialogTask, session: AsyncClientSession) -> None:
        """Raises `AlreadyInstalled` when the app has a task from the same template."""

    async def replace(self, task: DialogTask, session: AsyncClientSession) -> None: ...

    async def delete(self, dialog_task_id: str, session: AsyncClientSession) -> None: ...
