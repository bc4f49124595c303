"""A read-through cache, in this replica, of the credential documents the token fast path reads.

It holds the documents as stored: sealed, so tokens stay encrypted in memory and are opened per
call. Nothing is cached that is not usable (active, its integration enabled): every other state
is read from the database each time, through `SubjectReads` (gathered with the other calls of
the same event-loop turn; so is every read with the cache off). What another replica (or an
operator) changes is dropped through a MongoDB change stream on the credentials collection,
which this cache opens itself; entries also carry a maximum age, the bound that holds while
the stream is interrupted. On every (re)opening of the stream the cache starts empty, since
changes may have been missed.

A read that a change overtook is not cached: each change bumps a generation, and a document is
kept only if no change arrived while it was being read.

The staleness bound: with the stream open, a change stops being served as soon as its change
event reaches this replica (milliseconds); with the stream down, after `max_age_seconds` at
most. A maximum age of 0 turns the cache off.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge
from pymongo.asynchronous.collection import AsyncCollection

from auth_service.adapters.subject_reads import SubjectReads, SubjectRef
from platform_core.logs import get_logger
from platform_core.mongo import Document

log = get_logger("auth_service.credential_cache")

RECONNECT_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)


class CredentialCache:
    def __init__(
        self,
        credentials: AsyncCollection[Document],
        *,
        max_age_seconds: float,
        max_entries: int = 100_000,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credentials = credentials
        self._reads = SubjectReads(credentials)
        self._max_age = max_age_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[SubjectRef, tuple[Document, float]] = OrderedDict()
        self._keys_by_id: dict[str, SubjectRef] = {}
        self._generation = 0
        self.watching = asyncio.Event()
        self._lookups = Counter(
            "credential_cache_lookups_total",
            "Token fast-path reads of a credential, by outcome (hit, miss, bypass)",
            ["outcome"],
            registry=registry,
        )
        self._stream_up = Gauge(
            "credential_cache_stream_up",
            "Whether the change stream that invalidates the credential cache is open",
            registry=registry,
        )

    @property
    def enabled(self) -> bool:
        return self._max_age > 0

    async def find(self, app_id: str, integration: str, subject_key: str) -> Document | None:
        """The credential document for the subject: cached when fresh, else read (and kept
        when usable and no change overtook the read)."""
        key = (app_id, integration, subject_key)
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry[1] <= self._max_age:
            self._lookups.labels("hit").inc()
            return entry[0]
        self._lookups.labels("miss" if self.enabled else "bypass").inc()
        generation, read_at = self._generation, self._clock()
        doc = await self._reads.find(key)
        if self.enabled and doc is not None and generation == self._generation and _usable(doc):
            self._keep(key, doc, read_at)
        return doc

    def forget(self, credential_id: str) -> None:
        self._generation += 1
        key = self._keys_by_id.pop(credential_id, None)
        if key is not None:
            self._entries.pop(key, None)

    def forget_all(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._keys_by_id.clear()

    def _keep(self, key: SubjectRef, doc: Document, read_at: float) -> None:
        credential_id = str(doc["_id"])
        previous = self._entries.pop(key, None)
        if previous is not None:
            self._keys_by_id.pop(str(previous[0]["_id"]), None)
        self._entries[key] = (doc, read_at)
        self._keys_by_id[credential_id] = key
        while len(self._entries) > self._max_entries:
            _, (oldest, _) = self._entries.popitem(last=False)
            self._keys_by_id.pop(str(oldest["_id"]), None)

    async def watch(self) -> None:
        """Follow the collection's changes until cancelled, reopening the stream when it
        breaks (the cache still serves within its maximum age meanwhile)."""
        if not self.enabled:
            return
        failures = 0
        while True:
            try:
                async with await self._credentials.watch() as stream:
                    self.forget_all()
                    self.watching.set()
                    self._stream_up.set(1)
                    failures = 0
                    async for change in stream:
                        self._apply(change)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("credential_cache_stream_lost", error=type(exc).__name__)
            finally:
                self.watching.clear()
                self._stream_up.set(0)
            await asyncio.sleep(RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)])
            failures += 1

    def _apply(self, change: dict[str, Any]) -> None:
        document_key = change.get("documentKey") or {}
        if "_id" in document_key:
            self.forget(str(document_key["_id"]))
        else:
            # A drop, a rename or an invalidate: nothing cached can be trusted.
            self.forget_all()


def _usable(doc: Document) -> bool:
    return doc.get("status") == "active" and not doc.get("integration_disabled", False)
