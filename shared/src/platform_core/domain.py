"""What every service's domain shares: the transition a command or a reaction returns.

A domain object is frozen; each command on it returns a `Transition` holding the object before,
the object after (version + 1) and the events the change raises, or `after is before` when
nothing changes. The service layer stores `after` (compare-and-set on the version) and publishes
`events` in the same unit of work: events are raised by transitions, never built by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from platform_core.events import EventData

T = TypeVar("T")


@dataclass(frozen=True)
class Transition(Generic[T]):
    name: str
    before: T
    after: T
    events: tuple[EventData, ...] = ()

    @property
    def changed(self) -> bool:
        return self.after is not self.before

    @classmethod
    def unchanged(cls, name: str, current: T) -> Transition[T]:
        return cls(name, current, current)


class VersionConflict(Exception):
    """The object changed since it was read: the compare-and-set did not match."""
