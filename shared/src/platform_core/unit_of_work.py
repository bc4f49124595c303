"""The unit of work: one MongoDB transaction holding a change and the events it raises.

A service-layer handler receives a `Transaction`, makes its writes with `tx.session`, and calls
`tx.publish(event_data)` for each event. `UnitOfWork.run` commits both together (pymongo retries
the whole callback on transient transaction errors, so a callback must not keep state between
attempts), then wakes the outbox relay. If the callback raises, nothing is written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from platform_core import outbox
from platform_core.events import CloudEvent, EventData, new_event
from platform_core.mongo import Document

T = TypeVar("T")


class RelayNotifier(Protocol):
    def notify(self) -> None: ...


class Transaction:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession, source: str):
        self.db = db
        self.session = session
        self._source = source
        self.events: list[tuple[str, CloudEvent]] = []

    def publish(self, data: EventData, aggregate: str | None = None) -> CloudEvent:
        """Raise an event; it is stored with this transaction and published after commit."""
        event = new_event(self._source, data)
        self.events.append((aggregate or data.app_id, event))
        return event


Work = Callable[[Transaction], Awaitable[T]]


class UnitOfWork:
    def __init__(
        self,
        client: AsyncMongoClient[Document],
        db: AsyncDatabase[Document],
        source: str,
        relay: RelayNotifier | None = None,
    ) -> None:
        self.client = client
        self.db = db
        self.source = source
        self.relay = relay

    async def run(self, work: Work[T]) -> T:
        async def attempt(session: AsyncClientSession) -> T:
            tx = Transaction(self.db, session, self.source)
            result = await work(tx)
            await outbox.store(self.db, session, tx.events)
            return result

        async with self.client.start_session() as session:
            result = await session.with_transaction(
                attempt,
                read_concern=ReadConcern("snapshot"),
                write_concern=WriteConcern("majority"),
            )
        if self.relay is not None:
            self.relay.notify()
        return result
