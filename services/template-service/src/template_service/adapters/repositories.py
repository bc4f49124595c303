"""MongoDB storage of the integration read model, installations and dialog tasks.

The unique indexes are what make installing idempotent under concurrency: one installation and
one dialog task per (app, template), whatever the number of concurrent calls. Lists are keyset
pages over `_id` within one app; the cursor is the last `_id` of the page.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from platform_core.mongo import Document, IndexSpec
from template_service.domain.dialog_task import DialogTask
from template_service.domain.errors import AlreadyInstalled
from template_service.domain.installation import Installation
from template_service.domain.integration_state import IntegrationState
from template_service.service_layer.ports import Page, Session

INTEGRATION_STATES = "integration_states"
INSTALLATIONS = "installations"
DIALOG_TASKS = "dialog_tasks"

INDEXES = (
    IndexSpec(
        INSTALLATIONS,
        [("app_id", ASCENDING), ("template_id", ASCENDING)],
        "one_installation_per_app_and_template",
        {"unique": True},
    ),
    IndexSpec(INSTALLATIONS, [("app_id", ASCENDING), ("_id", ASCENDING)], "installations_by_app"),
    IndexSpec(
        DIALOG_TASKS,
        [("app_id", ASCENDING), ("source.template_id", ASCENDING)],
        "one_dialog_task_per_app_and_template",
        {"unique": True},
    ),
    IndexSpec(DIALOG_TASKS, [("app_id", ASCENDING), ("_id", ASCENDING)], "dialog_tasks_by_app"),
    IndexSpec(
        DIALOG_TASKS,
        [("app_id", ASCENDING), ("integration", ASCENDING)],
        "dialog_tasks_by_integration",
    ),
)

M = TypeVar("M", bound=BaseModel)


def _model(cls: type[M], doc: Document) -> M:
    # Fields starting with "_" are storage's own (`_id`, the `_guard` counter), not the model's.
    return cls.model_validate({k: v for k, v in doc.items() if not k.startswith("_")})


async def _page(
    collection: AsyncCollection[Document], cls: type[M], app_id: str, limit: int, cursor: str | None
) -> Page[M]:
    query: dict[str, Any] = {"app_id": app_id}
    if cursor is not None:
        query["_id"] = {"$gt": cursor}
    docs = await collection.find(query).sort("_id", ASCENDING).limit(limit + 1).to_list()
    more = len(docs) > limit
    docs = docs[:limit]
    return Page([_model(cls, doc) for doc in docs], str(docs[-1]["_id"]) if more else None)


class IntegrationStateRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._states = db[INTEGRATION_STATES]

    async def get(
        self, app_id: str, integration: str, session: Session = None
    ) -> IntegrationState | None:
        doc = await self._states.find_one({"_id": f"{app_id}/{integration}"}, session=session)
        return _model(IntegrationState, doc) if doc is not None else None

    async def for_app(self, app_id: str) -> dict[str, IntegrationState]:
        found = [_model(IntegrationState, d) async for d in self._states.find({"app_id": app_id})]
        return {state.integration: state for state in found}

    async def guard(self, app_id: str, integration: str, session: AsyncClientSession) -> None:
        """Write to the state so that a concurrent change of it conflicts with this transaction.

        An install reads the state and writes elsewhere; without a write here, an install and
        a disable could both commit, leaving a bound task behind a disabled integration.
        """
        await self._states.update_one(
            {"_id": f"{app_id}/{integration}"}, {"$inc": {"_guard": 1}}, session=session
        )

    async def save(self, state: IntegrationState, session: AsyncClientSession) -> None:
        key = f"{state.app_id}/{state.integration}"
        await self._states.replace_one(
            {"_id": key}, {"_id": key, **state.model_dump()}, upsert=True, session=session
        )


class InstallationRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._installations = db[INSTALLATIONS]

    async def find(
        self, app_id: str, template_id: str, session: Session = None
    ) -> Installation | None:
        doc = await self._installations.find_one(
            {"app_id": app_id, "template_id": template_id}, session=session
        )
        return _model(Installation, doc) if doc is not None else None

    async def get(
        self, app_id: str, installation_id: str, session: Session = None
    ) -> Installation | None:
        doc = await self._installations.find_one(
            {"_id": installation_id, "app_id": app_id}, session=session
        )
        return _model(Installation, doc) if doc is not None else None

    async def for_app(self, app_id: str) -> list[Installation]:
        return [_model(Installation, d) async for d in self._installations.find({"app_id": app_id})]

    async def page(self, app_id: str, limit: int, cursor: str | None) -> Page[Installation]:
        return await _page(self._installations, Installation, app_id, limit, cursor)

    async def insert(self, installation: Installation, session: AsyncClientSession) -> None:
        doc = {"_id": installation.installation_id, **installation.model_dump()}
        try:
            await self._installations.insert_one(doc, session=session)
        except DuplicateKeyError:
            raise AlreadyInstalled(installation.template_id) from None

    async def delete(self, installation_id: str, session: AsyncClientSession) -> None:
        await self._installations.delete_one({"_id": installation_id}, session=session)


class DialogTaskRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._tasks = db[DIALOG_TASKS]

    async def get(self, app_id: str, dialog_task_id: str) -> DialogTask | None:
        doc = await self._tasks.find_one({"_id": dialog_task_id, "app_id": app_id})
        return _model(DialogTask, doc) if doc is not None else None

    async def page(self, app_id: str, limit: int, cursor: str | None) -> Page[DialogTask]:
        return await _page(self._tasks, DialogTask, app_id, limit, cursor)

    async def of_integration(
        self, app_id: str, integration: str, session: AsyncClientSession
    ) -> list[DialogTask]:
        cursor = self._tasks.find({"app_id": app_id, "integration": integration}, session=session)
        return [_model(DialogTask, doc) async for doc in cursor]

    async def insert(self, task: DialogTask, session: AsyncClientSession) -> None:
        try:
            await self._tasks.insert_one(_task_doc(task), session=session)
        except DuplicateKeyError:
            raise AlreadyInstalled(task.source.template_id) from None

    async def replace(self, task: DialogTask, session: AsyncClientSession) -> None:
        await self._tasks.replace_one(
            {"_id": task.dialog_task_id}, _task_doc(task), session=session
        )

    async def delete(self, dialog_task_id: str, session: AsyncClientSession) -> None:
        await self._tasks.delete_one({"_id": dialog_task_id}, session=session)


def _task_doc(task: DialogTask) -> Document:
    # `integration` is not part of the API's task body, but the binding query needs it.
    return {"_id": task.dialog_task_id, **task.model_dump(), "integration": task.integration}
