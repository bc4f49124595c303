"""The cross-replica refresh lease: one MongoDB document per credential being refreshed.

Taking it is one atomic upsert that only matches a missing or expired lease (a live lease makes
the upsert collide on `_id`); only the holder that took it can release it. The expiry is longer
than a whole refresh, so it only lapses when its holder died.
"""

from __future__ import annotations

from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from auth_service.adapters.repositories import LEASES
from platform_core.contract_types import utc_now
from platform_core.mongo import Document


class Leases:
    def __init__(self, db: AsyncDatabase[Document], seconds: float) -> None:
        self._collection = db[LEASES]
        self._seconds = seconds

    async def acquire(self, credential_id: str, holder: str) -> bool:
        now = utc_now()
        try:
            await self._collection.find_one_and_update(
                {"_id": credential_id, "expires_at": {"$lte": now}},
                {"$set": {"holder": holder, "expires_at": now + timedelta(seconds=self._seconds)}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True

    async def release(self, credential_id: str, holder: str) -> None:
        await self._collection.delete_one({"_id": credential_id, "holder": holder})
