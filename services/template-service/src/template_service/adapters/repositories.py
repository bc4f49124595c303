"""MongoDB storage of the integration read model, installations and dialog tasks.

The unique indexes are what make installing idempotent under concurrency: one installation and
one dialog task per (app, template), whatever the number of concurrent calls. Lists are keyset
pages over `_id` within one app (`platform_core.paging`). Each repository is bound to one
session (a unit of work's transaction) or to none (queries).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel
from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from platform_core.api import PageQuery
from platform_core.domain import VersionConflict
from platform_core.mongo import Document, IndexSpec
from platform_core.paging import Page, find_page
from template_service.domain.dialog_task import DialogTask
from template_service.domain.errors import AlreadyInstalled
from template_service.domain.installation import Installation
from template_service.domain.integration_state import IntegrationState
from template_service.domain.run import Run
from template_service.service_layer.ports import UserLink

INTEGRATION_STATES = "integration_states"
INSTALLATIONS = "installations"
DIALOG_TASKS = "dialog_tasks"
RUNS = "runs"
USER_LINKS = "user_links"
RUN_RETENTION = timedelta(days=30)

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
    IndexSpec(
        RUNS,
        [("app_id", ASCENDING), ("dialog_task_id", ASCENDING), ("idempotency_key", ASCENDING)],
        "one_run_per_idempotency_key",
        {"unique": True, "partialFilterExpression": {"idempotency_key": {"$type": "string"}}},
    ),
    IndexSpec(
        RUNS, [("app_id", ASCENDING), ("dialog_task_id", ASCENDING), ("_id", ASCENDING)], "runs"
    ),
    IndexSpec(
        USER_LINKS, [("expires_at", ASCENDING)], "user_link_expiry", {"expireAfterSeconds": 0}
    ),
)


def run_indexes(retention: timedelta = RUN_RETENTION) -> tuple[IndexSpec, ...]:
    """The runs' retention TTL, from RUN_RETENTION_DAYS."""
    return (
        IndexSpec(
            RUNS,
            [("started_at", ASCENDING)],
            "run_expiry",
            {"expireAfterSeconds": int(retention.total_seconds())},
        ),
    )


M = TypeVar("M", bound=BaseModel)
Session = AsyncClientSession | None


def _model(cls: type[M], doc: Document) -> M:
    # Fields starting with "_" are storage's own (`_id`, the `_guard` counter), not the model's.
    return cls.model_validate({k: v for k, v in doc.items() if not k.startswith("_")})


class IntegrationStateRepository:
    def __init__(self, db: AsyncDatabase[Document], session: Session) -> None:
        self._states = db[INTEGRATION_STATES]
        self._session = session

    async def get(self, app_id: str, integration: str) -> IntegrationState | None:
        doc = await self._states.find_one({"_id": f"{app_id}/{integration}"}, session=self._session)
        return _model(IntegrationState, doc) if doc is not None else None

    async def for_app(self, app_id: str) -> dict[str, IntegrationState]:
        cursor = self._states.find({"app_id": app_id}, session=self._session)
        found = [_model(IntegrationState, d) async for d in cursor]
        return {state.integration: state for state in found}

    async def guard(self, app_id: str, integration: str) -> None:
        """Write to the state so that a concurrent change of it conflicts with this transaction.

        An install reads the state and writes elsewhere; without a write here, an install and
        a disable could both commit, leaving a bound task behind a disabled integration.
        """
        await self._states.update_one(
            {"_id": f"{app_id}/{integration}"}, {"$inc": {"_guard": 1}}, session=self._session
        )

    async def save(self, state: IntegrationState) -> None:
        key = f"{state.app_id}/{state.integration}"
        await self._states.replace_one(
            {"_id": key}, {"_id": key, **state.model_dump()}, upsert=True, session=self._session
        )


class InstallationRepository:
    def __init__(self, db: AsyncDatabase[Document], session: Session) -> None:
        self._installations = db[INSTALLATIONS]
        self._session = session

    async def find(self, app_id: str, template_id: str) -> Installation | None:
        doc = await self._installations.find_one(
            {"app_id": app_id, "template_id": template_id}, session=self._session
        )
        return _model(Installation, doc) if doc is not None else None

    async def get(self, app_id: str, installation_id: str) -> Installation | None:
        doc = await self._installations.find_one(
            {"_id": installation_id, "app_id": app_id}, session=self._session
        )
        return _model(Installation, doc) if doc is not None else None

    async def for_app(self, app_id: str) -> list[Installation]:
        cursor = self._installations.find({"app_id": app_id}, session=self._session)
        return [_model(Installation, d) async for d in cursor]

    async def page(self, app_id: str, query: PageQuery) -> Page[Installation]:
        return await find_page(
            self._installations,
            {"app_id": app_id},
            query,
            lambda doc: _model(Installation, doc),
            self._session,
        )

    async def insert(self, installation: Installation) -> None:
        doc = {"_id": installation.installation_id, **installation.model_dump()}
        try:
            await self._installations.insert_one(doc, session=self._session)
        except DuplicateKeyError:
            raise AlreadyInstalled(installation.template_id) from None

    async def replace(self, installation: Installation) -> None:
        doc = {"_id": installation.installation_id, **installation.model_dump()}
        await self._installations.replace_one(
            {"_id": installation.installation_id}, doc, session=self._session
        )

    async def delete(self, installation_id: str) -> None:
        await self._installations.delete_one({"_id": installation_id}, session=self._session)


class DialogTaskRepository:
    def __init__(self, db: AsyncDatabase[Document], session: Session) -> None:
        self._tasks = db[DIALOG_TASKS]
        self._session = session

    async def get(self, app_id: str, dialog_task_id: str) -> DialogTask | None:
        doc = await self._tasks.find_one(
            {"_id": dialog_task_id, "app_id": app_id}, session=self._session
        )
        return _model(DialogTask, doc) if doc is not None else None

    async def page(self, app_id: str, query: PageQuery) -> Page[DialogTask]:
        return await find_page(
            self._tasks,
            {"app_id": app_id},
            query,
            lambda doc: _model(DialogTask, doc),
            self._session,
        )

    async def of_integration(self, app_id: str, integration: str) -> list[DialogTask]:
        cursor = self._tasks.find(
            {"app_id": app_id, "integration": integration}, session=self._session
        )
        return [_model(DialogTask, doc) async for doc in cursor]

    async def insert(self, task: DialogTask) -> None:
        try:
            await self._tasks.insert_one(_task_doc(task), session=self._session)
        except DuplicateKeyError:
            raise AlreadyInstalled(task.source.template_id) from None

    async def replace(self, task: DialogTask) -> None:
        await self._tasks.replace_one(
            {"_id": task.dialog_task_id}, _task_doc(task), session=self._session
        )

    async def delete(self, dialog_task_id: str) -> None:
        await self._tasks.delete_one({"_id": dialog_task_id}, session=self._session)


def _task_doc(task: DialogTask) -> Document:
    # `integration` is not part of the API's task body, but the binding query needs it.
    return {"_id": task.dialog_task_id, **task.model_dump(), "integration": task.integration}


class RunRepository:
    def __init__(self, db: AsyncDatabase[Document], session: Session) -> None:
        self._runs = db[RUNS]
        self._session = session

    async def claim(self, run: Run) -> Run | None:
        try:
            await self._runs.insert_one(_run_doc(run), session=self._session)
        except DuplicateKeyError:
            return None
        return run

    async def get(self, app_id: str, dialog_task_id: str, run_id: str) -> Run | None:
        return await self._one({"_id": run_id, "app_id": app_id, "dialog_task_id": dialog_task_id})

    async def by_key(self, app_id: str, dialog_task_id: str, key: str) -> Run | None:
        return await self._one(
            {"app_id": app_id, "dialog_task_id": dialog_task_id, "idempotency_key": key}
        )

    async def save(self, run: Run) -> None:
        """Replace the version before this one, or store the run when it was never claimed."""
        try:
            await self._runs.replace_one(
                {"_id": run.run_id, "version": run.version - 1},
                _run_doc(run),
                upsert=True,
                session=self._session,
            )
        except DuplicateKeyError:
            raise VersionConflict(run.run_id) from None

    async def page(self, app_id: str, dialog_task_id: str, query: PageQuery) -> Page[Run]:
        where = {"app_id": app_id, "dialog_task_id": dialog_task_id}
        return await find_page(self._runs, where, query, lambda d: _model(Run, d), self._session)

    async def _one(self, where: dict[str, str]) -> Run | None:
        doc = await self._runs.find_one(where, session=self._session)
        return _model(Run, doc) if doc is not None else None


def _run_doc(run: Run) -> Document:
    return {"_id": run.run_id, **run.model_dump()}


class UserLinkRepository:
    def __init__(self, db: AsyncDatabase[Document], session: Session) -> None:
        self._links = db[USER_LINKS]
        self._session = session

    async def get(self, app_id: str, integration: str, user_id: str) -> UserLink | None:
        doc = await self._links.find_one(
            {"_id": _link_key(app_id, integration, user_id)}, session=self._session
        )
        if doc is None:
            return None
        return UserLink(**{k: v for k, v in doc.items() if k != "_id"})

    async def put(self, link: UserLink) -> None:
        key = _link_key(link.app_id, link.integration, link.user_id)
        await self._links.replace_one(
            {"_id": key}, {"_id": key, **vars(link)}, upsert=True, session=self._session
        )


def _link_key(app_id: str, integration: str, user_id: str) -> str:
    return f"{app_id}/{integration}/{user_id}"


@dataclass(frozen=True)
class MongoRepositories:
    integrations: IntegrationStateRepository
    installations: InstallationRepository
    tasks: DialogTaskRepository
    runs: RunRepository
    user_links: UserLinkRepository


def repositories(db: AsyncDatabase[Document], session: Session) -> MongoRepositories:
    return MongoRepositories(
        IntegrationStateRepository(db, session),
        InstallationRepository(db, session),
        DialogTaskRepository(db, session),
        RunRepository(db, session),
        UserLinkRepository(db, session),
    )
