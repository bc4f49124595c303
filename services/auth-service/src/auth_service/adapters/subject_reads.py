"""Reads of credential documents by subject, gathered per turn of the event loop.

The token fast path reads one credential per call. Under load many calls wait on the database
at once, and each round trip costs this single-threaded process more CPU than the rest of the
call (the driver's work per command), so the subjects asked for during one turn of the event
loop are read together: one query per app and integration, `subject_key` `$in` the subjects
(an equality for one), its answer handed to every caller that asked.

A read is sent only after every call it answers has arrived, so no caller gets a document
older than its own request: calls that arrive while a read is in flight wait for the next one.
That makes this batching, not caching (the cache is `credential_cache`). The documents handed
out are shared between callers: read-only.
"""

from __future__ import annotations

import asyncio

from aiodataloader import DataLoader
from pymongo.asynchronous.collection import AsyncCollection

from platform_core.mongo import Document

SubjectRef = tuple[str, str, str]  # app_id, integration, subject_key
MAX_BATCH = 256


class SubjectReads:
    def __init__(self, credentials: AsyncCollection[Document], max_batch: int = MAX_BATCH) -> None:
        self._credentials = credentials
        self._loader: DataLoader[SubjectRef, Document | None] = DataLoader(
            self._read_batch,
            cache=False,
            max_batch_size=max_batch,
            loop=asyncio.get_running_loop(),
        )

    async def find(self, ref: SubjectRef) -> Document | None:
        return await self._loader.load(ref)

    async def _read_batch(self, refs: list[SubjectRef]) -> list[Document | None]:
        subjects_by_scope: dict[tuple[str, str], set[str]] = {}
        for app_id, integration, subject_key in refs:
            subjects_by_scope.setdefault((app_id, integration), set()).add(subject_key)
        answers = await asyncio.gather(
            *(
                self._read_scope(app_id, integration, subjects)
                for (app_id, integration), subjects in subjects_by_scope.items()
            )
        )
        found = {
            (doc["app_id"], doc["integration"], doc["subject_key"]): doc
            for docs in answers
            for doc in docs
        }
        return [found.get(ref) for ref in refs]

    async def _read_scope(
        self, app_id: str, integration: str, subject_keys: set[str]
    ) -> list[Document]:
        where: Document = {"app_id": app_id, "integration": integration}
        if len(subject_keys) == 1:
            where["subject_key"] = next(iter(subject_keys))
            doc = await self._credentials.find_one(where)
            return [doc] if doc is not None else []
        where["subject_key"] = {"$in": sorted(subject_keys)}
        return await self._credentials.find(where).to_list()
