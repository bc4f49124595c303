"""Waiting for an end user to finish connecting, after they accepted to.

A URL-mode elicitation's `accept` says only that the user agreed to open the link (MCP
elicitation, URL mode): the consent itself completes later, in their browser. A tools/call that
got `accept` therefore waits a bounded time for it. It is woken early by auth-service's
`authorization.completed` event for that app and user (`completed`), and in any case looks again
every so often, since the event may reach another replica of tool-service.
"""

from __future__ import annotations

import asyncio
import contextlib


class ConsentWaiters:
    def __init__(self) -> None:
        self._waiting: dict[tuple[str, str], set[asyncio.Event]] = {}

    async def wait(self, app_id: str, user_id: str, timeout: float) -> bool:
        """True when that user's consent completed within `timeout` seconds."""
        key = (app_id, user_id)
        event = asyncio.Event()
        self._waiting.setdefault(key, set()).add(event)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
            return event.is_set()
        finally:
            waiters = self._waiting.get(key)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiting[key]

    def waiting(self, app_id: str, user_id: str) -> int:
        """How many calls wait for that user's consent now."""
        return len(self._waiting.get((app_id, user_id), ()))

    def completed(self, app_id: str, user_id: str) -> None:
        for event in self._waiting.get((app_id, user_id), set()):
            event.set()
