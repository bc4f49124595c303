"""The MCP server at `/mcp` (contract §3 "Tools"), on the official Python SDK's low-level `Server`
and its Streamable HTTP session manager.

Both protocol eras the SDK serves are served, as the client chooses:

- 2025-11-25 (initialize handshake): stateful sessions (`Mcp-Session-Id`), each POST answered on
  an SSE stream, so a tools/call can send the client `elicitation/create` mid-call, and a GET
  stream per session for `notifications/tools/list_changed` (advertised as `tools.listChanged`);
- 2026-07-28 (per-request envelope, no session): single POSTs; a change of tools reaches a
  client through `subscriptions/listen`, and a request for the end user's consent travels as an
  `InputRequiredResult` (SEP-2322), the era's replacement for server-to-client requests.

`tools/list` answers the caller's app's tools. `tools/call` runs the tool's dialog task and
answers its result (see `service_layer.calls`, `domain.results`). When the run needs the end
user to connect, they are asked with URL-mode elicitation if the client declared
`elicitation.url` (MCP client features, elicitation "URL mode"): inline at 2025-11-25, as an
input request at 2026-07-28; otherwise the result carries the link. Once the elicitation is
accepted and the run went through, 2025-11-25 clients also get
`notifications/elicitation/complete`.

An unknown tool name is a protocol error (`-32602`), as the MCP tools specification asks;
everything that happens to a known tool is a tool result.
"""

from __future__ import annotations

import uuid
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.models import InitializationOptions
from mcp.shared.exceptions import MCPError
from mcp.shared.message import ServerMessageMetadata
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    ElicitRequest,
    ElicitRequestURLParams,
    ElicitResult,
    InputRequiredResult,
    ListToolsResult,
    PaginatedRequestParams,
    TextContent,
    Tool,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from platform_core.logs import get_logger
from tool_service import __version__
from tool_service.domain.access import McpCaller
from tool_service.domain.results import ConsentNeeded, ToolOutcome, link_to_connect
from tool_service.entrypoints.auth import caller_of
from tool_service.entrypoints.notifications import AppListeners, LegacySessions, capture_sessions
from tool_service.entrypoints.observability import ToolMetrics
from tool_service.service_layer.calls import ElicitationAction, ToolCalls, UnknownTool
from tool_service.service_layer.catalog import ToolCatalog
from tool_service.service_layer.ports import TemplateServiceUnavailable
from tool_service.settings import SERVICE_NAME

log = get_logger("tool_service.mcp")

# The key of tool-service's one input request in an InputRequiredResult (2026-07-28).
CONNECT_KEY = "connect"
INSTRUCTIONS = (
    "The tools of one app of the integrations platform. Each call runs one of the app's "
    "installed dialog tasks against the connected service (Confluence, Jira, ...). When a call "
    "needs the end user to connect their account, they are asked to open a link; call the tool "
    "again once they have."
)

Context = ServerRequestContext[Any, Any]


class ToolServer(Server[Any]):
    """The SDK's `Server`, announcing that its tool list changes (2025-11-25 `listChanged`;
    the SDK derives the 2026-07-28 flag from `subscriptions/listen` being served)."""

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or NotificationOptions(tools_changed=True),
            experimental_capabilities,
            extensions,
        )


class McpHandlers:
    def __init__(
        self,
        catalog: ToolCatalog,
        calls: ToolCalls,
        metrics: ToolMetrics,
        *,
        elicitation_timeout_seconds: float,
    ) -> None:
        self._catalog = catalog
        self._calls = calls
        self._metrics = metrics
        self._elicitation_timeout = elicitation_timeout_seconds

    async def list_tools(
        self, ctx: Context, params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        caller = _caller(ctx)
        try:
            tools = await self._catalog.tools(caller.app_id)
        except TemplateServiceUnavailable as exc:
            log.warning("tools_not_listed", reason=str(exc))
            raise MCPError(INTERNAL_ERROR, "The tools cannot be listed right now") from None
        return ListToolsResult(tools=[Tool.model_validate(tool.wire()) for tool in tools])

    async def call_tool(
        self, ctx: Context, params: CallToolRequestParams
    ) -> CallToolResult | InputRequiredResult:
        caller = _caller(ctx)
        arguments = params.arguments or {}
        try:
            answered = _answer_to_connect(ctx, params)
            if answered is not None:
                outcome: ToolOutcome | InputRequiredResult = await self._calls.after_consent(
                    caller, params.name, arguments, answered
                )
            else:
                first = await self._calls.call(caller, params.name, arguments)
                outcome = await self._consent(ctx, caller, params, first)
        except UnknownTool:
            self._metrics.tool_calls.labels("unknown_tool").inc()
            raise MCPError(INVALID_PARAMS, f"Unknown tool: {params.name}") from None
        if isinstance(outcome, InputRequiredResult):
            self._metrics.tool_calls.labels("consent_requested").inc()
            return outcome
        self._metrics.tool_calls.labels(outcome.kind).inc()
        log.info("tool_called", app_id=caller.app_id, tool=params.name, outcome=outcome.kind)
        return CallToolResult(
            content=[TextContent(text=text) for text in outcome.text],
            structured_content=outcome.structured,
            is_error=outcome.is_error,
        )

    async def _consent(
        self,
        ctx: Context,
        caller: McpCaller,
        params: CallToolRequestParams,
        first: ToolOutcome | ConsentNeeded,
    ) -> ToolOutcome | InputRequiredResult:
        if not isinstance(first, ConsentNeeded):
            return first
        if not _asks_by_url(ctx):
            return link_to_connect(first)
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            request = ElicitRequest(
                params=ElicitRequestURLParams(message=first.message, url=first.link)
            )
            return InputRequiredResult(input_requests={CONNECT_KEY: request})
        return await self._elicit_inline(ctx, caller, params, first)

    async def _elicit_inline(
        self, ctx: Context, caller: McpCaller, params: CallToolRequestParams, needed: ConsentNeeded
    ) -> ToolOutcome:
        """2025-11-25: `elicitation/create` on this call's own stream, then the call again."""
        elicitation_id = uuid.uuid4().hex
        request = ElicitRequest(
            params=ElicitRequestURLParams(
                message=needed.message, url=needed.link, elicitation_id=elicitation_id
            )
        )
        try:
            answer = await ctx.session.send_request(
                request,
                ElicitResult,
                request_read_timeout_seconds=self._elicitation_timeout,
                metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
            )
        except (MCPError, ValidationError) as exc:
            log.info("elicitation_unanswered", reason=type(exc).__name__)
            return link_to_connect(needed)
        outcome = await self._calls.after_consent(
            caller, params.name, params.arguments or {}, answer.action
        )
        if answer.action == "accept" and outcome.kind != "authorization_required":
            try:
                await ctx.session.send_elicit_complete(
                    elicitation_id, related_request_id=ctx.request_id
                )
            except Exception as exc:  # advisory (MCP elicitation); the result is what counts
                log.info("elicitation_complete_not_sent", reason=type(exc).__name__)
        return outcome


def build_server(
    handlers: McpHandlers, listeners: AppListeners, sessions: LegacySessions
) -> ToolServer:
    server = ToolServer(
        SERVICE_NAME,
        version=__version__,
        title="Integrations platform tools",
        instructions=INSTRUCTIONS,
        on_list_tools=handlers.list_tools,
        on_call_tool=handlers.call_tool,
        on_subscriptions_listen=listeners.listen,
    )
    server.middleware.append(capture_sessions(sessions))
    return server


def _caller(ctx: Context) -> McpCaller:
    caller = caller_of(getattr(ctx.request, "scope", None))
    if caller is None:
        # Only reachable if /mcp were mounted without its BearerGate.
        raise MCPError(INTERNAL_ERROR, "This request carries no admitted caller")
    return caller


def _asks_by_url(ctx: Context) -> bool:
    """Whether the client declared URL-mode elicitation and can be asked on this request."""
    capabilities = ctx.session.client_capabilities
    declared = (
        capabilities is not None
        and capabilities.elicitation is not None
        and capabilities.elicitation.url is not None
    )
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return declared
    return declared and ctx.session.can_send_request


def _answer_to_connect(ctx: Context, params: CallToolRequestParams) -> ElicitationAction | None:
    """The end user's answer to tool-service's input request, on a 2026-07-28 retry."""
    if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS or not params.input_responses:
        return None
    response = params.input_responses.get(CONNECT_KEY)
    if isinstance(response, ElicitResult):
        return response.action
    return None
