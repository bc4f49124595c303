"""MongoDB storage of apps and integrations; every integration write is a compare-and-set.

An integration document is stored under `{app_id}/{integration}` with the `version` the domain
gave it. `save` writes version N only over version N - 1 (or inserts version 1), so a writer that
read a stale document gets `VersionConflict` instead of overwriting someone else's change.
"""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from integration_service.domain.apps import App
from integration_service.domain.catalog import Edition
from integration_service.domain.errors import VersionConflict
from integration_service.domain.integration import Integration
from platform_core.mongo import Document, IndexSpec

APPS = "apps"
INTEGRATIONS = "integrations"

INDEXES = (IndexSpec(INTEGRATIONS, [("app_id", ASCENDING)], "integrations_by_app"),)


def _key(app_id: str, integration: str) -> str:
    return f"{app_id}/{integration}"


class AppRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._apps = db[APPS]

    async def get(self, app_id: str, session: AsyncClientSession | None = None) -> App | None:
        doc = await self._apps.find_one({"_id": app_id}, session=session)
        return App.model_validate(doc) if doc is not None else None

    async def put(
        self,
        app_id: str,
        name: str,
        edition: Edition,
        now: datetime,
        session: AsyncClientSession,
    ) -> tuple[App, bool]:
        """Create or update the app; True when it was created."""
        existing = await self.get(app_id, session)
        if existing is None:
            app = App(app_id=app_id, name=name, edition=edition, created_at=now, updated_at=now)
            try:
                await self._apps.insert_one({"_id": app_id, **app.model_dump()}, session=session)
            except DuplicateKeyError:
                raise VersionConflict(app_id) from None
            return app, True
        if existing.name == name and existing.edition == edition:
            return existing, False
        app = existing.model_copy(update={"name": name, "edition": edition, "updated_at": now})
        await self._apps.update_one(
            {"_id": app_id},
            {"$set": {"name": name, "edition": edition, "updated_at": now}},
            session=session,
        )
        return app, False


class IntegrationRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._integrations = db[INTEGRATIONS]

    async def get(
        self, app_id: str, integration: str, session: AsyncClientSession | None = None
    ) -> Integration | None:
        doc = await self._integrations.find_one({"_id": _key(app_id, integration)}, session=session)
        return Integration.model_validate(doc) if doc is not None else None

    async def for_app(
        self, app_id: str, session: AsyncClientSession | None = None
    ) -> dict[str, Integration]:
        cursor = self._integrations.find({"app_id": app_id}, session=session)
        found = [Integration.model_validate(doc) async for doc in cursor]
        return {item.integration: item for item in found}

    async def save(self, integration: Integration, session: AsyncClientSession) -> None:
        """Store `integration` only if the stored one is still the version it was made from."""
        key = _key(integration.app_id, integration.integration)
        doc = {"_id": key, **integration.model_dump()}
        if integration.version == 1:
            try:
                await self._integrations.insert_one(doc, session=session)
            except DuplicateKeyError:
                raise VersionConflict(key) from None
            return
        result = await self._integrations.replace_one(
            {"_id": key, "version": integration.version - 1}, doc, session=session
        )
        if result.matched_count != 1:
            raise VersionConflict(key)
