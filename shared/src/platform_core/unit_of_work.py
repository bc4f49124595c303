"""The unit of work: one MongoDB transaction holding a change, the events it raises and, for a
consumer, the record of the event it processes.

A service describes its repositories once, as a factory of `(database, session)`; a handler
receives a `Transaction` whose `repos` are bound to the transaction's session, makes its writes
through them and calls `tx.publish(event_data)` for each event its domain transitions returned.
`UnitOfWork.run` commits all of it together (pymongo retries the whole callback on transient
transaction errors, so a callback must not keep state between attempts), then wakes the outbox
relay. If the callback raises, nothing is written. `reads()` gives the same repositories outside
any transaction, for queries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar

from opentelemetry.trace import SpanKind
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from platform_core import outbox, tracing
from platform_core.contract_types import utc_now
from platform_core.events import CloudEvent, EventData, new_event
from platform_core.mongo import Document

T = TypeVar("T")
R = TypeVar("R")
# Covariant, so a unit of work over a service's MongoDB repositories serves wherever the service
# layer asks for its repositories' protocol.
R_co = TypeVar("R_co", covariant=True)

PROCESSED = "processed_events"

RepositoryFactory = Callable[[AsyncDatabase[Document], AsyncClientSession | None], R]


class AlreadyProcessed(Exception):
    """The event a transaction was to process is already recorded: nothing was written."""


class RelayNotifier(Protocol):
    def notify(self) -> None: ...


class Transaction(Generic[R_co]):
    """What a handler sees of one unit of work: its repositories and the events it raised."""

    def __init__(self, repos: R_co, source: str) -> None:
        self._repos = repos
        self._source = source
        self.events: list[tuple[str, CloudEvent]] = []

    @property
    def repos(self) -> R_co:
        return self._repos

    def publish(self, data: EventData, aggregate: str | None = None) -> CloudEvent:
        """Raise an event; it is stored with this transaction and published after commit.

        When tracing, a producer span marks it, and its context travels with the event."""
        with tracing.span(
            f"publish {data.event_type}",
            SpanKind.PRODUCER,
            attributes={"messaging.destination.name": data.event_type, "source": self._source},
        ):
            event = new_event(self._source, data, traceparent=tracing.traceparent())
        self.events.append((aggregate or data.app_id, event))
        return event

    def publish_all(self, events: tuple[EventData, ...] | list[EventData]) -> None:
        for data in events:
            self.publish(data)


Work = Callable[[Transaction[R]], Awaitable[T]]


class TransactionRunner(Protocol[R_co]):
    """The port a service layer depends on; `UnitOfWork` and the unit tests' fakes meet it."""

    def reads(self) -> R_co: ...

    async def run(
        self,
        work: Callable[[Transaction[R_co]], Awaitable[T]],
        *,
        processing: CloudEvent | None = None,
    ) -> T: ...


class UnitOfWork(Generic[R]):
    def __init__(
        self,
        client: AsyncMongoClient[Document],
        db: AsyncDatabase[Document],
        source: str,
        repositories: RepositoryFactory[R],
        relay: RelayNotifier | None = None,
    ) -> None:
        self.client = client
        self.db = db
        self.source = source
        self._repositories = repositories
        self.relay = relay
        # Bound to no session, so one set serves every query.
        self._reads = repositories(db, None)

    def reads(self) -> R:
        """The repositories outside any transaction: for queries, never for decided writes."""
        return self._reads

    async def run(self, work: Work[R, T], *, processing: CloudEvent | None = None) -> T:
        """Run `work` in one transaction; with `processing`, record that event as processed in
        the same transaction, or raise `AlreadyProcessed` (writing nothing) if it already was."""

        async def attempt(session: AsyncClientSession) -> T:
            if processing is not None:
                await _record_processed(self.db, session, processing)
            tx = Transaction(self._repositories(self.db, session), self.source)
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


async def _record_processed(
    db: AsyncDatabase[Document], session: AsyncClientSession, event: CloudEvent
) -> None:
    try:
        await db[PROCESSED].insert_one(
            {"_id": event.id, "type": event.type, "processed_at": utc_now()}, session=session
        )
    except DuplicateKeyError:
        raise AlreadyProcessed from None
