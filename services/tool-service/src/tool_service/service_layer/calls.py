"""A tools/call (contract §3 "Tools"): find the app's tool, run its dialog task, shape the result.

The run acts for the token's subject: for the end user when the token names one (`user_id`),
else for the app. template-service decides what the subject means for the task's integration:
a `pre_authorize` integration always runs as the app, a `user_authorize` one needs the user
(and answers 422 without one, which becomes a tool error saying the token must name the user).
tool-service need not know which kind an integration is.

Each run attempt gets its own idempotency key. The adapter sends the same key again when a
run's answer was lost on the way (a timeout, a dropped connection), so a page is never created
twice by tool-service's own retry; a new tools/call is a new intent and gets a new key (the
JSON-RPC request id would not do: at protocol 2026-07-28 there is no session to scope it, and
ids repeat across clients).

A run that needs the end user's consent is `ConsentNeeded`: the entrypoint asks the user the way
their client allows, then calls `after_consent` with the answer. After `accept` the call runs
again at once; while the run still waits for the consent, it waits for the user to finish
(`ConsentWaiters`) up to `consent_wait_seconds`, then gives the link back in the result.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from platform_core.contract_types import AppSubject, Subject, UserSubject
from platform_core.logs import get_logger
from tool_service.domain.access import McpCaller
from tool_service.domain.results import (
    ConsentNeeded,
    ToolOutcome,
    declined,
    link_to_connect,
    of_refusal,
    of_run,
    unavailable,
)
from tool_service.domain.runs import RunRefusal
from tool_service.domain.tools import ToolDefinition
from tool_service.service_layer.catalog import Clock, ToolCatalog
from tool_service.service_layer.consent import ConsentWaiters
from tool_service.service_layer.ports import Announcer, TemplateService, TemplateServiceUnavailable

log = get_logger("tool_service.calls")

ElicitationAction = Literal["accept", "decline", "cancel"]


class UnknownTool(Exception):
    """No tool of that name for the caller's app (an MCP protocol error, not a tool result)."""


@dataclass(frozen=True)
class ConsentLimits:
    wait_seconds: float
    poll_seconds: float


def new_idempotency_key() -> str:
    return f"mcp-{uuid.uuid4().hex}"


class ToolCalls:
    def __init__(
        self,
        catalog: ToolCatalog,
        templates: TemplateService,
        announcer: Announcer,
        waiters: ConsentWaiters,
        limits: ConsentLimits,
        *,
        keys: Callable[[], str] = new_idempotency_key,
        clock: Clock = time.monotonic,
    ) -> None:
        self._catalog = catalog
        self._templates = templates
        self._announcer = announcer
        self._waiters = waiters
        self._limits = limits
        self._keys = keys
        self._clock = clock

    async def call(
        self, caller: McpCaller, name: str, arguments: Mapping[str, Any]
    ) -> ToolOutcome | ConsentNeeded:
        try:
            tool = await self.tool(caller, name)
        except TemplateServiceUnavailable:
            return unavailable(name)
        return await self._run(caller, tool, arguments)

    async def after_consent(
        self,
        caller: McpCaller,
        name: str,
        arguments: Mapping[str, Any],
        action: ElicitationAction,
    ) -> ToolOutcome:
        """The call again, once the end user answered the request to connect."""
        try:
            tool = await self.tool(caller, name)
        except TemplateServiceUnavailable:
            return unavailable(name)
        if action != "accept":
            return declined(tool)
        outcome = await self._run(caller, tool, arguments)
        deadline = self._clock() + self._limits.wait_seconds
        while isinstance(outcome, ConsentNeeded) and caller.user_id is not None:
            remaining = deadline - self._clock()
            if remaining <= 0:
                break
            await self._waiters.wait(
                caller.app_id, caller.user_id, min(self._limits.poll_seconds, remaining)
            )
            outcome = await self._run(caller, tool, arguments)
        return link_to_connect(outcome) if isinstance(outcome, ConsentNeeded) else outcome

    async def tool(self, caller: McpCaller, name: str) -> ToolDefinition:
        tool = await self._catalog.find(caller.app_id, name)
        if tool is None:
            raise UnknownTool(name)
        return tool

    async def _run(
        self, caller: McpCaller, tool: ToolDefinition, arguments: Mapping[str, Any]
    ) -> ToolOutcome | ConsentNeeded:
        try:
            answer = await self._templates.start_run(
                caller.app_id,
                tool.dialog_task_id,
                arguments,
                subject_of(caller),
                self._keys(),
            )
        except TemplateServiceUnavailable as exc:
            log.warning("run_not_started", tool=tool.name, reason=str(exc))
            return unavailable(tool.display_name)
        if isinstance(answer, RunRefusal):
            # `problem`, not `code`: log redaction masks any field named `code` (OAuth codes).
            log.info("run_refused", tool=tool.name, status=answer.status, problem=answer.code)
            if answer.code == "dialog_task_not_found":
                # Uninstalled under us and its event not here yet: what the agent lists is stale.
                self._catalog.forget(caller.app_id)
                await self._announcer.tools_changed(caller.app_id)
            return of_refusal(tool, answer, names_user=caller.user_id is not None)
        log.info("run_finished", tool=tool.name, run_id=answer.run_id, status=answer.status)
        return of_run(tool, answer)


def subject_of(caller: McpCaller) -> Subject:
    if caller.user_id is not None:
        return UserSubject(user_id=caller.user_id)
    return AppSubject()
