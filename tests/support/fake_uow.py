"""An in-memory unit of work for unit tests of one service layer, over that service's fakes.

It behaves as the real one where the service layer can tell: work that raises leaves every
store as it was (each `FakeStore` is restored from a snapshot), events count as published only
when the work returns, and an event already processed is refused with `AlreadyProcessed`.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import fields, is_dataclass
from typing import Any, Generic, TypeVar

from platform_core.events import EVENT_TYPES, CloudEvent, EventData
from platform_core.unit_of_work import AlreadyProcessed, Transaction

T = TypeVar("T")
R = TypeVar("R")


class FakeStore:
    """A fake repository whose whole state is `self.items`; the unit of work snapshots it."""

    def __init__(self) -> None:
        self.items: dict[Any, Any] = {}


class FakeUnitOfWork(Generic[R]):
    def __init__(self, repos: R, source: str) -> None:
        self.repos = repos
        self.source = source
        self.published: list[EventData] = []
        self.processed: set[str] = set()
        self.committed = 0

    def reads(self) -> R:
        return self.repos

    async def run(
        self,
        work: Callable[[Transaction[R]], Awaitable[T]],
        *,
        processing: CloudEvent | None = None,
    ) -> T:
        if processing is not None and processing.id in self.processed:
            raise AlreadyProcessed
        saved = {id(store): copy.copy(store.items) for store in self._stores()}
        tx = Transaction(self.repos, self.source)
        try:
            result = await work(tx)
        except BaseException:
            for store in self._stores():
                store.items = saved[id(store)]
            raise
        if processing is not None:
            self.processed.add(processing.id)
        self.published.extend(
            EVENT_TYPES[event.type].model_validate(event.data) for _, event in tx.events
        )
        self.committed += 1
        return result

    def of_type(self, kind: type[EventData]) -> list[Any]:
        return [event for event in self.published if isinstance(event, kind)]

    def _stores(self) -> list[FakeStore]:
        assert is_dataclass(self.repos)
        return [
            value
            for value in (getattr(self.repos, f.name) for f in fields(self.repos))
            if isinstance(value, FakeStore)
        ]
