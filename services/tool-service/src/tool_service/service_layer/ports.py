"""The outside systems tool-service's service layer talks to, as protocols.

- `TemplateService`: template-service (contract §3): an app's tools and starting a run. The
  adapter mints its own service JWT per call; no caller's token ever goes further than
  tool-service.
- `Announcer`: the connected MCP clients of an app, told that its tools changed, each in the
  way its protocol version provides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from platform_core.contract_types import Subject
from tool_service.domain.runs import RunRefusal, RunReport
from tool_service.domain.tools import ToolDefinition


class TemplateServiceUnavailable(Exception):
    """template-service did not answer, or answered something unusable; safe to log."""


class TemplateService(Protocol):
    async def tools(self, app_id: str) -> list[ToolDefinition]:
        """Every tool of the app (all pages), or TemplateServiceUnavailable."""
        ...

    async def start_run(
        self,
        app_id: str,
        dialog_task_id: str,
        entities: Mapping[str, Any],
        subject: Subject,
        idempotency_key: str,
    ) -> RunReport | RunRefusal:
        """The run, or template-service's refusal; TemplateServiceUnavailable when it could
        not be asked (the same key is used for any retry, so nothing runs twice)."""
        ...

    async def reachable(self) -> bool: ...


class Announcer(Protocol):
    async def tools_changed(self, app_id: str) -> None:
        """Tell the app's connected clients; never raises, never waits long."""
        ...
