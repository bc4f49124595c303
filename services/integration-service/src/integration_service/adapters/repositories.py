"""MongoDB storage of apps and integrations; every integration write is a compare-and-set.

An integration document is stored under `{app_id}/{integration}` with the `version` the domain
gave it. `save` writes version N only over version N - 1 (or inserts version 1), so a writer that
read a stale document gets `VersionConflict` instead of overwriting someone else's change. Each
repository is bound to one session (a unit of work's transaction) or to none (queries).
"""

from __future__ import annotations

from dataclasses import dataclass

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from integration_service.domain.apps import App
from integration_service.domain.integration import Integration
from platform_core.domain import VersionConflict
from platform_core.mongo import Document, IndexSpec

APPS = "apps"
INTEGRATIONS = "integrations"

INDEXES = (IndexSpec(INTEGRATIONS, [("app_id", ASCENDING)], "integrations_by_app"),)

Session = AsyncClientSession | None


def _key(app_id: str, integration: str) -> str:
    return f"{app_id}/{integration}"


class AppRepository:
    def __init__(self, db: AsyncDatabase[Document], session: Session) -> None:
        self._apps = db[APPS]
        self._session = session

    async def get(self, app_id: str) -> App | None:
        doc = await self._apps.find_one({"_id": app_id}, session=self._session)
        return App.model_validate(doc) if doc is not None else None

    async def add(self, app: App) -> None:
        try:
            await self._apps.insert_one(
                {"_id": app.app_id, **app.model_dump()}, session=self._session
            )
        except DuplicateKeyError:
            raise VersionConflict(app.app_id) from None

    async def update(self, app: App) -> None:
        await self._apps.replace_one(
            {"_id": app.app_id}, {"_id": app.app_id, **app.model_dump()}, session=self._session
        )


class IntegrationRepository:
    def __init__(self, db: AsyncDatabase[Document], session: Session) -> None:
        self._integrations = db[INTEGRATIONS]
        self._session = session

    async def get(self, app_id: str, integration: str) -> Integration | None:
        doc = await self._integrations.find_one(
            {"_id": _key(app_id, integration)}, session=self._session
        )
        return Integration.model_validate(doc) if doc is not None else None

    async def for_app(self, app_id: str) -> dict[str, Integration]:
        cursor = self._integrations.find({"app_id": app_id}, session=self._session)
        found = [Integration.model_validate(doc) async for doc in cursor]
        return {item.integration: item for item in found}

    async def save(self, integration: Integration) -> None:
        """Store `integration` only if the stored one is still the version it was made from."""
        key = _key(integration.app_id, integration.integration)
        doc = {"_id": key, **integration.model_dump()}
        if integration.version == 1:
            try:
                await self._integrations.insert_one(doc, session=self._session)
            except DuplicateKeyError:
                raise VersionConflict(key) from None
            return
        result = await self._integrations.replace_one(
            {"_id": key, "version": integration.version - 1}, doc, session=self._session
        )
        if result.matched_count != 1:
            raise VersionConflict(key)


@dataclass(frozen=True)
class MongoRepositories:
    apps: AppRepository
    integrations: IntegrationRepository


def repositories(db: AsyncDatabase[Document], session: Session) -> MongoRepositories:
    return MongoRepositories(AppRepository(db, session), IntegrationRepository(db, session))
