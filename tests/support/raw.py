"""Repositories for tests of the platform itself: any collection, bound to the unit of work's
session, so a test's handler can write the way a service's repository would."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from platform_core.mongo import Document


@dataclass(frozen=True)
class Bound:
    collection: AsyncCollection[Document]
    session: AsyncClientSession | None

    async def insert_one(self, doc: Document) -> None:
        await self.collection.insert_one(doc, session=self.session)

    async def update_one(
        self, where: Mapping[str, Any], update: Mapping[str, Any], *, upsert: bool = False
    ) -> None:
        await self.collection.update_one(where, update, upsert=upsert, session=self.session)


class RawCollections:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None) -> None:
        self._db = db
        self._session = session

    def __getattr__(self, name: str) -> Bound:
        return Bound(self._db[name], self._session)
