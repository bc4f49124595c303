"""The unit of work tool-service's event consumer runs its handlers in: one without a database.

`platform_core.consumer.EventConsumer` runs each handler inside `TransactionRunner.run(work,
processing=event)`; elsewhere that transaction holds the service's writes and the processed-event
record, so a redelivered event changes nothing. tool-service's handlers write nothing: they drop
an in-memory cache entry, wake in-memory waiters and send level-triggered "your tools changed"
hints to connected clients. So:

- events are never lost: the consumer acknowledges a message only after its handler returned,
  from the replica's own quorum queue, dead-lettering what it cannot handle, as everywhere;
- duplicates are harmless by nature: dropping a cache entry twice or telling a client twice that
  its tools changed costs one extra `tools/list`. A durable processed-event record would protect
  no state (after a restart there is no cache and no client left to protect) and would make
  MongoDB a dependency of a service that keeps no data.

A bounded window of recently handled event ids still answers a plain redelivery to the same
process as `AlreadyProcessed`, so the common duplicate does not even reach clients. A handler
that raises an event (`tx.publish`) is a programming error here: there is no outbox to keep it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TypeVar

from platform_core.events import CloudEvent
from platform_core.unit_of_work import AlreadyProcessed, Transaction

T = TypeVar("T")

RECENT_EVENTS = 10_000


class NoOutbox(RuntimeError):
    """A handler raised an event, which tool-service has nowhere durable to keep."""


class MemoryTransactions:
    """A `TransactionRunner[None]`: no repositories, nothing to commit."""

    def __init__(self, source: str, recent: int = RECENT_EVENTS) -> None:
        self._source = source
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._capacity = recent

    def reads(self) -> None:
        return None

    async def run(
        self,
        work: Callable[[Transaction[None]], Awaitable[T]],
        *,
        processing: CloudEvent | None = None,
    ) -> T:
        if processing is not None and processing.id in self._recent:
            raise AlreadyProcessed
        tx: Transaction[None] = Transaction(None, self._source)
        result = await work(tx)
        if tx.events:
            raise NoOutbox("tool-service handlers may not raise events")
        if processing is not None:
            self._remember(processing.id)
        return result

    def _remember(self, event_id: str) -> None:
        self._recent[event_id] = None
        while len(self._recent) > self._capacity:
            self._recent.popitem(last=False)
