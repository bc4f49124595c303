"""Each app's tools, from template-service, kept briefly in memory.

An app's list is asked for once per `ttl_seconds` at most (concurrent askers of the same app
share one call), and dropped at once when an event says it changed (`forget`), so the next
`tools/list` sees the change. Nothing here is durable: a restarted process starts empty and
asks again, which is why the event consumer needs no database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from tool_service.domain.tools import ToolDefinition
from tool_service.service_layer.ports import TemplateService

Clock = Callable[[], float]
# Past this many apps kept, lists older than the TTL are dropped as new ones come in.
MAX_KEPT_APPS = 1000


@dataclass(frozen=True)
class _Entry:
    tools: tuple[ToolDefinition, ...]
    fetched_at: float
    generation: int


class ToolCatalog:
    def __init__(
        self, templates: TemplateService, ttl_seconds: float, clock: Clock = time.monotonic
    ) -> None:
        self._templates = templates
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._fetching: dict[str, asyncio.Task[tuple[ToolDefinition, ...]]] = {}
        # Bumped by forget(): a fetch that started before the change may not be cached after it.
        self._generations: dict[str, int] = {}

    async def tools(self, app_id: str) -> tuple[ToolDefinition, ...]:
        entry = self._entries.get(app_id)
        if entry is not None and self._clock() - entry.fetched_at < self._ttl:
            return entry.tools
        return await self._fetch(app_id)

    async def find(self, app_id: str, name: str) -> ToolDefinition | None:
        """The tool called `name`; a miss asks template-service again once, since the tool may
        have been installed a moment ago and its event not yet arrived."""
        tool = _named(await self.tools(app_id), name)
        if tool is None:
            self.forget(app_id)
            tool = _named(await self.tools(app_id), name)
        return tool

    def forget(self, app_id: str) -> None:
        self._entries.pop(app_id, None)
        if app_id in self._fetching:
            self._generations[app_id] = self._generations.get(app_id, 0) + 1

    async def _fetch(self, app_id: str) -> tuple[ToolDefinition, ...]:
        task = self._fetching.get(app_id)
        generation = self._generations.get(app_id, 0)
        if task is None or task.get_name() != str(generation):
            task = asyncio.create_task(self._ask(app_id, generation), name=str(generation))
            self._fetching[app_id] = task
            task.add_done_callback(lambda done: self._done(app_id, done))
        # shield: one asker cancelled (its client went away) must not cancel the others' call
        return await asyncio.shield(task)

    async def _ask(self, app_id: str, generation: int) -> tuple[ToolDefinition, ...]:
        tools = tuple(await self._templates.tools(app_id))
        if self._generations.get(app_id, 0) == generation:
            self._prune()
            self._entries[app_id] = _Entry(tools, self._clock(), generation)
        return tools

    def _prune(self) -> None:
        if len(self._entries) < MAX_KEPT_APPS:
            return
        cutoff = self._clock() - self._ttl
        for app_id, entry in list(self._entries.items()):
            if entry.fetched_at <= cutoff:
                del self._entries[app_id]

    def _done(self, app_id: str, task: asyncio.Task[tuple[ToolDefinition, ...]]) -> None:
        if self._fetching.get(app_id) is task:
            # Nothing of this app is in flight now: its generation has nothing left to guard.
            del self._fetching[app_id]
            self._generations.pop(app_id, None)
        if not task.cancelled():
            task.exception()  # retrieved here, so an unawaited failure is never reported twice


def _named(tools: tuple[ToolDefinition, ...], name: str) -> ToolDefinition | None:
    return next((tool for tool in tools if tool.name == name), None)
